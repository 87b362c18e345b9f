"""`diff`: two recordings compared event by event, as the conformance tool's `diff` does.

Each event of the first recording (`a`, what was wanted) is looked for in the second (`b`,
what was got) by the attributes named in `match` (`id` by default): one not found is
`missing`, one found is compared on its context attributes, extensions and data (the mode
and the transport headers are not compared). Order does not matter. With
`ignore_additions`, what `b` has and `a` does not (an attribute added on the way, such as
Knative's or Event Grid's own) is no difference; a changed value still is. Data that is JSON
is compared as JSON (its spacing is no difference; the tool compares it as text).

The report reads as the tool's: `missing: id[X]`, or `id[X] diffs (-a, +b):` and the lines
of the event's YAML that differ, between `---` lines.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import final

from pytest_cloudevents.archive import conformance
from pytest_cloudevents.archive.records import Record
from pytest_cloudevents.wire import is_json_media_type
from pytest_cloudevents.wire.jsontext import JSONTextError, parse

__all__ = ["Difference", "Report", "diff"]


@final
@dataclass(frozen=True)
class Difference:
    """One event of `a` that `b` lacks (`lines` empty) or holds otherwise (`lines`: the
    differing lines, `-` from a, `+` from b)."""

    label: str
    missing: bool
    lines: tuple[str, ...] = ()

    def render(self) -> str:
        """The tool's form of it."""
        if self.missing:
            return f"missing: {self.label}\n"
        return f"{self.label} diffs (-a, +b):\n" + "".join(f"{line}\n" for line in self.lines)


@final
@dataclass(frozen=True)
class Report:
    """The differences of `a` from `b`, and how many events each held."""

    differences: tuple[Difference, ...] = field(default_factory=tuple)
    compared: int = 0
    got: int = 0

    @property
    def equal(self) -> bool:
        """Whether every event of `a` is in `b` as it is in `a`."""
        return not self.differences

    def render(self) -> str:
        """The report as the tool prints it (nothing when equal)."""
        return "---\n".join(d.render() for d in self.differences)


def diff(
    a: Sequence[Record],
    b: Sequence[Record],
    *,
    match: Sequence[str] = ("id",),
    ignore_additions: bool = False,
) -> Report:
    """Compare the recordings `a` (wanted) and `b` (got); see the module doc."""
    keys = [k.strip() for given in match for k in given.split(",") if k.strip()]
    if not keys:
        raise ValueError("match names the attributes that pair events, such as ['id'] or ['type']")
    differences = []
    for wanted in a:
        label = " ".join(f"{key}[{wanted.get(key)}]" for key in keys)
        got = next((r for r in b if all(r.get(k) == wanted.get(k) for k in keys)), None)
        if got is None:
            differences.append(Difference(label, True))
            continue
        lines = _changes(_lines(wanted), _lines(got), ignore_additions)
        if lines:
            differences.append(Difference(label, False, tuple(lines)))
    return Report(tuple(differences), len(a), len(b))


def _lines(record: Record) -> list[str]:
    """The compared YAML of a record: no mode, no transport, JSON data re-written in one
    form (keys sorted, one member per line)."""
    compared = replace(record, mode=None, transport={}, origin="", data=_canonical(record))
    return conformance.dump([compared]).splitlines()


def _canonical(record: Record) -> str | None:
    data = record.data
    content_type = record.attributes.get("datacontenttype")
    if data is None or not (content_type is None or is_json_media_type(content_type)):
        return data
    try:
        value = parse(data)
    except JSONTextError:
        return data
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _changes(a: list[str], b: list[str], ignore_additions: bool) -> list[str]:
    """The differing lines, each chunk's removals then its additions; with
    `ignore_additions`, an added line counts only where its key was also removed."""
    out: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        removed, added = a[i1:i2], b[j1:j2]
        changed = {line.split(":")[0] for line in removed}
        out += [f"- {line}" for line in removed]
        out += [
            f"+ {line}" for line in added if not ignore_additions or line.split(":")[0] in changed
        ]
    return out
