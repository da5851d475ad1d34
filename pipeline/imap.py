"""Polling an IMAP folder (stdlib imaplib): new messages into the store, then marked as processed.

Order per batch: fetch, store (one committed transaction, failures into quarantine), and only then mark the batch
processed with a keyword or by moving it. A crash before the mark leaves the batch unmarked, so the next poll
fetches it again and the store, keyed by Message-ID, skips what it already has: nothing is lost or duplicated.
"""

from __future__ import annotations

import base64
import imaplib
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from pipeline.ingest import EMPTY_REPORT, MAX_MESSAGE_BYTES, IngestError, IngestReport, SourceItem, mail_item, store_messages
from pipeline.store import CaseStore

_FETCH_UID = re.compile(rb"\bUID (\d+)")
_FETCH_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")


class ImapError(IngestError):
    """The server refused or failed a command; the message names it."""


@dataclass(frozen=True)
class ImapEndpoint:
    host: str
    port: int
    user: str
    password: str
    folder: str = "INBOX"
    ssl: bool = True
    processed: str = "keyword"  # or "move"
    processed_keyword: str = "$TriageDone"
    processed_folder: str = "Behandlat"
    timeout_s: float = 60.0

    @property
    def location(self) -> str:
        return f"imap://{self.user}@{self.host}:{self.port}/{self.folder}"


def _check(response: tuple[str, list], what: str) -> list:
    status, data = response
    if status != "OK":
        detail = b" ".join(part for part in data if isinstance(part, bytes)).decode("utf-8", "replace")
        raise ImapError(f"IMAP {what} failed: {status} {detail}")
    return data


def imap_utf7(name: str) -> str:
    """A folder name in IMAP's modified UTF-7 (RFC 3501 5.1.3), e.g. 'Behandlade ärenden' -> 'Behandlade &AOQ-renden'."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            encoded = base64.b64encode("".join(pending).encode("utf-16-be")).decode("ascii").rstrip("=")
            out.append("&" + encoded.replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def _quote(mailbox: str) -> str:
    name = imap_utf7(mailbox)
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


@contextmanager
def connect(endpoint: ImapEndpoint) -> Iterator[imaplib.IMAP4]:
    try:
        client = (imaplib.IMAP4_SSL if endpoint.ssl else imaplib.IMAP4)(endpoint.host, endpoint.port,
                                                                           timeout=endpoint.timeout_s)
    except OSError as exc:
        raise ImapError(f"cannot reach IMAP server {endpoint.host}:{endpoint.port}: {exc}") from exc
    try:
        try:
            client.login(endpoint.user, endpoint.password)
        except imaplib.IMAP4.error as exc:
            raise ImapError(f"IMAP login as {endpoint.user} refused: {exc}") from exc
        yield client
    finally:
        with suppress(imaplib.IMAP4.error, OSError):
            client.logout()


def _unprocessed_uids(client: imaplib.IMAP4, endpoint: ImapEndpoint) -> list[str]:
    criteria = ["UNDELETED"]
    if endpoint.processed == "keyword":
        criteria += ["UNKEYWORD", endpoint.processed_keyword]
    (found,) = _check(client.uid("SEARCH", *criteria), "SEARCH")
    return sorted((found or b"").decode().split(), key=int)


def _fetch(client: imaplib.IMAP4, uids: list[str], what: str) -> dict[str, tuple[bytes, bytes | None]]:
    """UID -> (the response line, the literal if any) for one FETCH."""
    data = _check(client.uid("FETCH", ",".join(uids), what), "FETCH")
    found: dict[str, tuple[bytes, bytes | None]] = {}
    for part in data:
        line, literal = (part[0], part[1]) if isinstance(part, tuple) else (part, None)
        if not isinstance(line, bytes):
            continue
        uid = _FETCH_UID.search(line)
        if uid:
            found[uid.group(1).decode()] = (line, literal)
    return found


def _mark_processed(client: imaplib.IMAP4, endpoint: ImapEndpoint, uids: list[str], can_move: bool) -> None:
    if not uids:
        return
    uid_set = ",".join(uids)
    if endpoint.processed == "keyword":
        _check(client.uid("STORE", uid_set, "+FLAGS.SILENT", f"({endpoint.processed_keyword})"), "STORE")
    elif can_move:
        _check(client.uid("MOVE", uid_set, _quote(endpoint.processed_folder)), "MOVE")
    else:
        _check(client.uid("COPY", uid_set, _quote(endpoint.processed_folder)), "COPY")
        _check(client.uid("STORE", uid_set, "+FLAGS.SILENT", r"(\Deleted)"), "STORE")
        _check(client.expunge(), "EXPUNGE")


def poll_imap(endpoint: ImapEndpoint, store: CaseStore, *, source: str = "imap", batch_size: int = 50,
              max_bytes: int = MAX_MESSAGE_BYTES) -> IngestReport:
    """Ingest every message of the folder that is not yet marked processed, batch by batch (see module doc)."""
    report = EMPTY_REPORT
    with connect(endpoint) as client:
        capabilities = {c.upper() for c in _check(client.capability(), "CAPABILITY")[0].decode().split()}
        if endpoint.processed == "move":
            client.create(_quote(endpoint.processed_folder))  # NO when it exists already, which is fine
        selected = client.select(_quote(endpoint.folder))
        _check(selected, f"SELECT {endpoint.folder}")
        # The UIDVALIDITY response code of SELECT: part of each reference, since UIDs are only unique under it.
        validity = (client.response("UIDVALIDITY")[1] or [None])[0]
        uidvalidity = validity.decode() if isinstance(validity, bytes) else "0"
        uids = _unprocessed_uids(client, endpoint)
        for start in range(0, len(uids), batch_size):
            chunk = uids[start:start + batch_size]
            report += store_messages(_read_batch(client, endpoint, chunk, source, uidvalidity, max_bytes), store)
            # Only now, with the batch committed, is it marked: see the module docstring.
            _mark_processed(client, endpoint, chunk, "MOVE" in capabilities)
    return report


def _read_batch(client: imaplib.IMAP4, endpoint: ImapEndpoint, uids: list[str], source: str, uidvalidity: str,
                max_bytes: int) -> list[SourceItem]:
    sizes = {uid: int(m.group(1)) if (m := _FETCH_SIZE.search(line)) else 0
             for uid, (line, _) in _fetch(client, uids, "(UID RFC822.SIZE)").items()}
    small = [uid for uid in uids if sizes.get(uid, 0) <= max_bytes]
    bodies = _fetch(client, small, "(UID BODY.PEEK[])") if small else {}
    items: list[SourceItem] = []
    for uid in uids:
        item = f"{uidvalidity}/{uid}"
        if uid not in sizes:
            continue  # expunged by someone else since the search
        if sizes[uid] > max_bytes:  # never fetched: too large to hold
            items.append(SourceItem(source, "imap", endpoint.location, item, IngestError(
                f"message is {sizes[uid] / 2**20:.1f} MB, over the {max_bytes / 2**20:.0f} MB limit")))
            continue
        literal = bodies.get(uid, (b"", None))[1]
        if literal is None:
            items.append(SourceItem(source, "imap", endpoint.location, item, IngestError("the server sent no body")))
            continue
        items.append(mail_item(literal, source=source, kind="imap", location=endpoint.location, item=item,
                               max_bytes=max_bytes))
    return items
