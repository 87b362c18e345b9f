"""Recordings on disk: reading files and folders of either form, writing them.

A folder is read as the conformance tool reads one: every file in it, in name order, and
its folders too; here only the files a recording can be (`.yaml`, `.yml`, `.jsonl`,
`.ndjson`), so a README beside them is no error. Conformance YAML is written one file per
event, numbered in arrival order (`000001-<id>.yaml`), so that a folder reads back in the
order it was recorded; JSON lines as one file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Final, Literal

from pytest_cloudevents.archive import conformance, jsonlines
from pytest_cloudevents.archive.records import Record, RecordError, of_delivery
from pytest_cloudevents.events import CloudEvent
from pytest_cloudevents.recording.delivery import Delivery

__all__ = [
    "FORMATS",
    "Format",
    "check_format",
    "export_deliveries",
    "load",
    "read_records",
    "records_of",
    "render",
    "write_records",
]

Format = Literal["conformance", "jsonl"]
FORMATS: Final[tuple[str, ...]] = ("conformance", "jsonl")
_YAML: Final[tuple[str, ...]] = (".yaml", ".yml")
_JSONL: Final[tuple[str, ...]] = (".jsonl", ".ndjson")
_UNSAFE: Final[re.Pattern[str]] = re.compile(r"[^A-Za-z0-9._-]+")
#: The largest recording file read (a JSON-lines file of a million small events is some
#: 500 MiB; split a larger one).
MAX_FILE: Final[int] = 1 << 30

PathArg = str | os.PathLike[str]


def check_format(format: object) -> Format:
    """`format` when it names a recording form; ValueError saying which do otherwise."""
    if format not in FORMATS:
        raise ValueError(
            f"format is 'conformance' (YAML, one file per event, as cloudevents/conformance"
            f" and Knative's eventshub read it) or 'jsonl' (one JSON event per line), not"
            f" {format!r}"
        )
    return format  # type: ignore[return-value]


def read_records(paths: PathArg | Sequence[PathArg]) -> list[Record]:
    """The records of files and folders (a folder: its recordings, in name order, its
    folders too), in the order given. RecordError names a file that cannot be read."""
    given = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not given:
        raise RecordError("no recording given: pass a file or folder of recordings")
    records: list[Record] = []
    for path in given:
        records += _read(Path(path), top=True)
    return records


def _read(path: Path, *, top: bool) -> list[Record]:
    if path.is_dir():
        records: list[Record] = []
        found = False
        for child in sorted(path.iterdir()):
            if child.is_dir() or child.suffix.lower() in _YAML + _JSONL:
                found = True
                records += _read(child, top=False)
        if top and not found:
            raise RecordError(f"{path}: holds no recordings (.yaml, .yml, .jsonl, .ndjson files)")
        return records
    try:
        size = path.stat().st_size
        if size > MAX_FILE:
            raise RecordError(
                f"{path}: {size:,} bytes is more than a recording file may hold"
                f" ({MAX_FILE:,}); split it into several files in a folder"
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecordError(f"{path}: no such file or folder") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError(f"{path}: cannot be read ({exc})") from None
    if path.suffix.lower() in _JSONL or (
        path.suffix.lower() not in _YAML and text.lstrip().startswith("{")
    ):
        return jsonlines.read(text, str(path))
    return conformance.read(text, str(path))


def load(paths: PathArg | Sequence[PathArg]) -> list[CloudEvent]:
    """The events of recorded files (conformance YAML or JSON lines, a file or a folder),
    each decoded as a receiver decodes what its replay sends; RecordError (a ValueError)
    names the file and the rule a recording breaks."""
    events: list[CloudEvent] = []
    for record in read_records(paths):
        events += record.events()
    return events


def render(records: Sequence[Record], format: Format, comments: Sequence[str] = ()) -> str:
    """The text of `records` in `format` (conformance: one YAML stream)."""
    if format == "jsonl":
        return jsonlines.dump(records)
    return conformance.dump(records, list(comments) or None)


def write_records(
    records: Sequence[Record],
    path: PathArg,
    format: Format = "conformance",
    comments: Sequence[str] = (),
) -> list[Path]:
    """Write `records`: conformance YAML as one file per record in the folder `path`
    (made if missing); JSON lines as the file `path` (`events.jsonl` in it when it is a
    folder). Returns the files written."""
    target = Path(path)
    if format == "jsonl":
        if target.is_dir():
            target = target / "events.jsonl"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(jsonlines.dump(records), encoding="utf-8")
        return [target]
    if target.exists() and not target.is_dir():
        raise RecordError(
            f"{target}: conformance YAML is written into a folder, one file per event"
        )
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for number, record in enumerate(records, 1):
        name = _UNSAFE.sub("_", record.get("id"))[:64] or "event"
        file = target / f"{number:06d}-{name}.yaml"
        note = [comments[number - 1]] if comments else None
        file.write_text(conformance.dump([record], note), encoding="utf-8")
        written.append(file)
    return written


def records_of(
    deliveries: Iterable[Delivery],
    *,
    credentials: bool = False,
    keep: Callable[[CloudEvent], bool] | None = None,
) -> tuple[list[Record], list[str]]:
    """The records of accepted deliveries' events (those `keep` keeps), and a comment line
    for each (the delivery it came in)."""
    records: list[Record] = []
    comments: list[str] = []
    for delivery in deliveries:
        if delivery.outcome != "accepted":
            continue
        for record in of_delivery(delivery, credentials=credentials, keep=keep):
            records.append(record)
            comments.append(
                f"delivery {delivery.seq}, {delivery.method} {delivery.path},"
                f" received {delivery.timestamp.isoformat()}"
            )
    return records, comments


def export_deliveries(
    deliveries: Iterable[Delivery],
    path: PathArg,
    format: object = "conformance",
    *,
    credentials: bool = False,
    keep: Callable[[CloudEvent], bool] | None = None,
) -> list[Path]:
    """Write the accepted events of `deliveries` (those `keep` keeps; see
    `write_records`), credentials in their headers redacted unless `credentials`."""
    chosen = check_format(format)
    records, comments = records_of(deliveries, credentials=credentials, keep=keep)
    return write_records(records, path, chosen, comments)
