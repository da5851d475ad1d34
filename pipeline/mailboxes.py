"""mbox files and Maildir folders as e-mail sources, read only (stdlib `mailbox`); each message is a SourceItem.

References are `<mbox path>:<position>` (from 0, in file order) and `<maildir path>:<key>` (the Maildir's unique
name, which survives a move from new/ to cur/).
"""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from pathlib import Path

from pipeline.ingest import MAX_MESSAGE_BYTES, IngestError, SourceItem, mail_item


def read_mbox(path: Path, *, source: str = "mbox", max_bytes: int = MAX_MESSAGE_BYTES) -> Iterator[SourceItem]:
    if not path.is_file():
        raise IngestError(f"mbox file not found: {path}")
    box = mailbox.mbox(path, create=False)
    try:
        for key in box.iterkeys():
            yield _item(box, key, source, "mbox", str(path), max_bytes)
    finally:
        box.close()


def read_maildir(path: Path, *, source: str = "maildir", max_bytes: int = MAX_MESSAGE_BYTES) -> Iterator[SourceItem]:
    if not (path / "cur").is_dir() or not (path / "new").is_dir():
        raise IngestError(f"not a Maildir (needs cur/ and new/): {path}")
    box = mailbox.Maildir(path, factory=None, create=False)
    try:
        for key in sorted(box.iterkeys()):
            yield _item(box, key, source, "maildir", str(path), max_bytes)
    finally:
        box.close()


def _item(box: mailbox.Mailbox, key: str | int, source: str, kind: str, location: str, max_bytes: int) -> SourceItem:
    try:
        data = box.get_bytes(key)
    except (OSError, KeyError) as exc:  # removed or unreadable since the listing
        return SourceItem(source, kind, location, str(key), IngestError(f"cannot read message {key}: {exc}"))
    return mail_item(data, source=source, kind=kind, location=location, item=str(key), max_bytes=max_bytes)
