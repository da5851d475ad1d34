"""Call-log exports of contact-centre systems (CSV and JSON) into inquiries, mapped by a configured source.

Vendors differ in column names, separators, encodings, time formats and units; `CallLogSource` (configs/sources)
describes one export. Rows with missing columns, undecodable bytes or bad values, records that are not objects and
a file cut off mid-way become quarantine items with their line or record number; the other rows still go in.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from pipeline.cleaning import normalise_whitespace
from pipeline.domain import Channel
from pipeline.ingest import IngestError, SourceItem, StoredMessage, build_message
from pipeline.redact import redact
from pipeline.sources import CallFields, CallLogSource

# Vendor A's layout (also configs/sources/vendor_a.yaml), for `read_call_log` and the demo's CSV.
VENDOR_A = CallLogSource(
    kind="call_csv", name="vendor_a", encoding="auto", delimiter=";", duration_unit="minutes",
    timestamp_formats=["iso", "%Y-%m-%d %H.%M", "%d/%m/%Y %H:%M"],
    fields=CallFields(call_id="call_id", started_at="started_at", caller="caller_number", agent="agent",
                      reason="reason", notes="notes", duration="duration_min"),
)
_UNDECODABLE = re.compile("[\udc80-\udcff]")  # bytes that the encoding could not decode (surrogateescape)
_NUMBER_SPACES = re.compile(r"[\s\u00a0\u202f']")


def parse_decimal(text: str) -> float:
    """A number as Swedish exports write it: decimal comma, spaces as thousands separators ('1 234,5')."""
    value = _NUMBER_SPACES.sub("", text)
    if "," in value and "." in value:  # '1.234,5': the dot groups thousands
        value = value.replace(".", "")
    try:
        return float(value.replace(",", "."))
    except ValueError:
        raise IngestError(f"'{text}' is not a number") from None


def parse_local_time(text: str, config: CallLogSource) -> datetime:
    """A timestamp in the source's formats; without an offset it is local time in the source's time zone.

    Local times in the autumn's repeated hour are read as the first (summer-time) one."""
    text = text.strip()
    for fmt in config.timestamp_formats:
        try:
            value = datetime.fromisoformat(text) if fmt == "iso" else datetime.strptime(text, fmt)
        except ValueError:
            continue
        if value.tzinfo is None:
            value = value.replace(tzinfo=config.zone)
        return value.astimezone(UTC)
    raise IngestError(f"start time '{text}' matches none of the formats {config.timestamp_formats}")


def _text(record: dict[str, object], key: str | None) -> str:
    if key is None:
        return ""
    value = record.get(key)
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        raise IngestError(f"'{key}' holds a {type(value).__name__}, not text")
    return str(value)


def call_message(record: dict[str, object], config: CallLogSource, ref: str) -> StoredMessage:
    """One call record (keys as the vendor names them) as a stored message; IngestError says what is wrong."""
    fields = config.fields
    for key in (fields.call_id, fields.started_at):
        if key not in record:
            raise IngestError(f"the record lacks '{key}'")
    call_id = _text(record, fields.call_id).strip()
    if not call_id:
        raise IngestError(f"'{fields.call_id}' (the call id) is empty")
    notes = normalise_whitespace(_text(record, fields.notes))
    transcript = normalise_whitespace(_text(record, fields.transcript))
    if not notes and not transcript:
        raise IngestError(f"the call has neither notes ('{fields.notes}') nor a transcript")
    details: dict[str, object] = {}
    for name in ("agent", "reason"):
        value = _text(record, getattr(fields, name)).strip()
        if value:
            details[name] = value
    duration = _text(record, fields.duration).strip()
    if duration:
        try:
            seconds = parse_decimal(duration) * (60 if config.duration_unit == "minutes" else 1)
            details["duration_s"] = round(seconds, 1)
        except IngestError:
            details["duration_unreadable"] = duration  # kept as written; a bad duration does not lose the call
    raw_body = notes
    if transcript:
        # The transcript is kept (redacted where models could see it); the notes are what is classified.
        details["transcript"] = redact(transcript)
        raw_body = f"{notes}\n\n[transkribering]\n{transcript}" if notes else transcript
    caller = _text(record, fields.caller).strip()
    return build_message(
        source=config.name,
        external_id=call_id,
        channel=Channel.CALL,
        received_at=parse_local_time(_text(record, fields.started_at), config),
        sender=caller or None,
        subject=None,
        body=notes or transcript,
        raw_ref=ref,
        details=details or None,
        raw_body=raw_body,
    )


def _decode(data: bytes, encoding: str) -> tuple[str, str]:
    """The text and the encoding used; undecodable bytes stay as surrogates so only their rows are quarantined."""
    if encoding == "auto":
        try:
            return data.decode("utf-8-sig"), "utf-8-sig"
        except UnicodeDecodeError:
            encoding = "windows-1252"
    return data.decode(encoding, errors="surrogateescape"), encoding


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise IngestError(f"call log not found: {path}")
    return path.read_bytes()


def read_call_source(path: Path, config: CallLogSource) -> Iterator[SourceItem]:
    """A call log of either kind, as its source says."""
    return read_call_csv(path, config) if config.kind == "call_csv" else read_call_json(path, config)


def read_call_csv(path: Path, config: CallLogSource, data: bytes | None = None) -> Iterator[SourceItem]:
    """Each row of a delimited call log as a SourceItem (reference: file and the row's first line)."""
    text, encoding = _decode(_read_bytes(path) if data is None else data, config.encoding)
    location = str(path)

    def fail(line: int | str, reason: str, raw: str | None) -> SourceItem:
        payload = (header_line + raw).encode(encoding, errors="surrogateescape") if raw is not None else None
        return SourceItem(config.name, "call_csv", location, str(line), IngestError(reason), payload)

    consumed: list[str] = []

    def lines() -> Iterator[str]:
        for line in io.StringIO(text, newline=""):
            consumed.append(line)
            yield line

    reader = csv.reader(lines(), delimiter=config.delimiter)
    header_line = ""
    try:
        header = next(reader)
    except StopIteration:
        yield SourceItem(config.name, "call_csv", location, "", IngestError("the call log is empty"))
        return
    except csv.Error as exc:
        yield SourceItem(config.name, "call_csv", location, "", IngestError(f"unreadable header: {exc}"))
        return
    header_line = "".join(consumed)
    consumed.clear()
    header = [name.strip() for name in header]
    required = [config.fields.call_id, config.fields.started_at, config.fields.notes]
    missing = [name for name in required if name not in header]
    if missing:
        yield SourceItem(config.name, "call_csv", location, "",
                         IngestError(f"{path.name} lacks the columns {missing} (header: {header})"),
                         (header_line.encode(encoding, errors="surrogateescape")))
        return
    end = reader.line_num
    while True:
        start = end + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # A quote that never closes: the file is cut off or broken from here on.
            yield fail(start, f"unreadable from here on ({exc}); the file may be truncated", "".join(consumed))
            return
        end = reader.line_num
        raw = "".join(consumed)
        consumed.clear()
        if not row or all(not cell.strip() for cell in row):
            continue
        if _UNDECODABLE.search(raw):
            yield fail(start, f"undecodable bytes for {encoding} in this row", raw)
            continue
        if not raw.endswith(("\n", "\r")) and (len(row) != len(header) or raw.count('"') % 2):
            # The last line has no line end and is incomplete: the export was cut off here.
            yield fail(start, "the file ends in the middle of this row: it is truncated", raw)
            continue
        if len(row) != len(header):
            yield fail(start, f"the row has {len(row)} columns, the header {len(header)} "
                              f"({'missing columns, or a cut-off line' if len(row) < len(header) else 'an unquoted separator?'})",
                       raw)
            continue
        ref = f"{location}:{start}"
        try:
            message = call_message(dict(zip(header, row, strict=True)), config, ref)
        except IngestError as exc:
            yield fail(start, str(exc), raw)
            continue
        yield SourceItem(config.name, "call_csv", location, str(start), message)


def read_call_json(path: Path, config: CallLogSource, data: bytes | None = None) -> Iterator[SourceItem]:
    """Each object of a JSON array (or of JSON Lines) as a SourceItem (reference: file and record number, from 1).

    A file cut off mid-way still yields the records before the cut; the rest is one quarantine item."""
    text, encoding = _decode(_read_bytes(path) if data is None else data, config.encoding)
    location = str(path)
    decoder = json.JSONDecoder()
    position = _skip_space(text, 0)
    array = text.startswith("[", position)
    if array:
        position = _skip_space(text, position + 1)
    number = 0
    while position < len(text):
        if array and text.startswith("]", position):
            return
        number += 1
        try:
            record, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            yield SourceItem(config.name, "call_json", location, str(number),
                             IngestError(f"invalid JSON from record {number} on (line {exc.lineno}, column {exc.colno}: "
                                         f"{exc.msg}); the file may be truncated"),
                             text[position:].encode(encoding, errors="surrogateescape"))
            return
        raw = text[position:end]
        yield _json_item(record, raw, number, location, config, encoding)
        position = _skip_space(text, end)
        if array and text.startswith(",", position):
            position = _skip_space(text, position + 1)
    if array:
        yield SourceItem(config.name, "call_json", location, "", IngestError(
            f"the JSON array never closes: the file is truncated after record {number}"))


def _json_item(record: object, raw: str, number: int, location: str, config: CallLogSource, encoding: str) -> SourceItem:
    payload = raw.encode(encoding, errors="surrogateescape")
    try:
        if not isinstance(record, dict):
            raise IngestError(f"record {number} is a {type(record).__name__}, not an object")
        if _UNDECODABLE.search(raw):
            raise IngestError(f"undecodable bytes for {encoding} in record {number}")
        result: StoredMessage | Exception = call_message(record, config, f"{location}:{number}")
    except IngestError as exc:
        result = exc
    return SourceItem(config.name, "call_json", location, str(number), result,
                      payload if isinstance(result, Exception) else None)


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n\ufeff":
        position += 1
    return position


def call_item_from_payload(location: str, item: str, payload: bytes, config: CallLogSource) -> SourceItem:
    """Re-read one quarantined row or record from the raw bytes kept with its entry (its source file is gone)."""
    if config.kind == "call_json":
        try:
            text, encoding = _decode(payload, config.encoding)
            record, _ = json.JSONDecoder().raw_decode(text, _skip_space(text, 0))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return SourceItem(config.name, "call_json", location, item, IngestError(f"still invalid JSON: {exc}"), payload)
        return _json_item(record, text, int(item or 0), location, config, encoding)
    # A CSV entry keeps the header line and the row: read as a file of one row, then renumbered as the original.
    items = list(read_call_csv(Path(location), config, data=payload))
    if not items:
        return SourceItem(config.name, "call_csv", location, item, IngestError("the kept row is empty"), payload)
    found = items[0]
    return SourceItem(found.source, found.kind, location, item, found.result, found.payload)
