"""JSON lines: one JSON-format event per line, both ways.

The form `jq`, log shippers and most event stores read. A line carries no mode and no
transport headers: it replays in structured mode (the line is the event) unless a mode is
asked for.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from pytest_cloudevents.archive.records import Record, RecordError, of_json
from pytest_cloudevents.wire.jsontext import JSONTextError, parse

__all__ = ["dump", "read"]


def read(text: str, origin: str) -> list[Record]:
    """The records of a JSON-lines text (blank lines skipped; `origin` names it)."""
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{origin}:{number}"
        try:
            document = parse(line)
        except JSONTextError as exc:
            raise RecordError(f"{where}: not JSON ({exc})") from None
        if not isinstance(document, dict):
            raise RecordError(
                f"{where}: each line is one event, a JSON object in the CloudEvents JSON"
                f" format, not {type(document).__name__}"
            )
        records.append(of_json(document, None, {}, where))
    return records


def dump(records: Iterable[Record]) -> str:
    """The JSON-lines text of `records`: each one's JSON-format event on a line."""
    lines = []
    for record in records:
        _, body = record.message("structured")
        lines.append(json.dumps(json.loads(body), ensure_ascii=False, separators=(",", ":")))
    return "".join(f"{line}\n" for line in lines)
