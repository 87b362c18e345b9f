"""The conformance tool's YAML form of events, both ways.

A file holds one or more YAML documents (`---` between them), each one event:

    Mode: binary                      # or structured; none: binary, as the tool sends
    ContextAttributes:
      specversion: 1.0
      type: com.example.someevent
      id: 4321-4321-4321
      source: /mycontext/subcontext
      Extensions:
        comexampleextension1: value
    TransportExtensions:
      user-agent: foo
    Data: |
      {"world":"hello"}

Scalars are read as the text written (`specversion: 1.0` is "1.0", a time stays as
written), as the tool's own reader (Go structs of strings) reads them; an extension
written as a bare whole number or `true`/`false` keeps that type (so a structured replay
sends it as JSON sends it). The documents are composed, never constructed: an alias does
not multiply what is read, and a value of the wrong shape is a `RecordError` naming the
document and the key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

import yaml

from pytest_cloudevents.archive.records import CORE, Record, RecordError, RecordMode

__all__ = ["dump", "read"]

_INT: Final[str] = "tag:yaml.org,2002:int"
_BOOL: Final[str] = "tag:yaml.org,2002:bool"
_NULL: Final[str] = "tag:yaml.org,2002:null"
_MODES: Final[frozenset[str]] = frozenset({"binary", "structured"})

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read(text: str, origin: str) -> list[Record]:
    """The records of a YAML text (`origin` names it in errors)."""
    try:
        documents = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        raise RecordError(f"{origin}: not YAML ({exc})") from None
    except RecursionError:  # the composer recurses per level of nesting
        raise RecordError(f"{origin}: nested too deep to be a recording") from None
    records = []
    for number, node in enumerate(documents, 1):
        if node is None:  # an empty document (a trailing `---`)
            continue
        where = f"{origin}#{number}" if len(documents) > 1 else origin
        records.append(_record(node, where))
    return records


def _record(node: yaml.Node, where: str) -> Record:
    """One document: the keys `Mode`, `ContextAttributes` (with `Extensions`),
    `TransportExtensions`, `Data` and `DataBase64`; others are ignored, as the tool's own
    reader ignores them."""
    top = _mapping(node, where, "the document")
    mode_text = _text(top.get("Mode"), where, "Mode")
    if mode_text is not None and mode_text not in _MODES:
        raise RecordError(f"{where}: Mode is binary or structured, not {mode_text!r}")
    # no Mode: binary, as the tool sends such a document
    mode: RecordMode = mode_text or "binary"  # type: ignore[assignment]
    attributes: dict[str, str] = {}
    extensions: dict[str, str | int | bool] = {}
    context = top.get("ContextAttributes")
    if context is not None:
        for name, value in _mapping(context, where, "ContextAttributes").items():
            if name == "Extensions":
                for ext, ext_value in _mapping(value, where, "Extensions").items():
                    typed = _typed(ext_value, where, f"Extensions.{ext}")
                    if typed is not None:
                        extensions[ext] = typed
                continue
            text = _text(value, where, f"ContextAttributes.{name}")
            if text is None:
                continue
            if name == "dataecontentncoding":  # the tool's own spelling of the 0.3 attribute
                name = "datacontentencoding"
            if name in CORE:
                attributes[name] = text
            else:  # an extension written among the attributes
                extensions[name] = text
    transport: dict[str, str] = {}
    given = top.get("TransportExtensions")
    if given is not None:
        for name, value in _mapping(given, where, "TransportExtensions").items():
            text = _text(value, where, f"TransportExtensions.{name}")
            if text is not None:
                transport[name] = text
    data = _text(top.get("Data"), where, "Data", data=True)
    data_base64 = _text(top.get("DataBase64"), where, "DataBase64")
    return Record(mode, attributes, extensions, transport, data, data_base64, where)


def _mapping(node: yaml.Node, where: str, what: str) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        raise RecordError(f"{where}: {what} must be a mapping of names to values")
    out: dict[str, yaml.Node] = {}
    for key, value in node.value:
        name = _text(key, where, what)
        if name is None:
            raise RecordError(f"{where}: {what} has an empty key")
        out[name] = value
    return out


def _plain(node: yaml.ScalarNode) -> bool:
    return not node.style  # the C parser says "" where the Python one says None


def _text(node: yaml.Node | None, where: str, what: str, *, data: bool = False) -> str | None:
    """A scalar as written (None for an absent or null one). A value written as a block
    (`|`, `>`) loses the line break the notation ends it with, and surrounding blanks (as
    the tool trims what it sends as a header), except the data, which is kept whole."""
    if node is None:
        return None
    if not isinstance(node, yaml.ScalarNode):
        raise RecordError(f"{where}: {what} must be a single value (text), not a list or mapping")
    if node.tag == _NULL and _plain(node):
        return None
    text = str(node.value)
    if not data and node.style in ("|", ">"):
        return text.strip()
    return text


def _typed(node: yaml.Node, where: str, what: str) -> str | int | bool | None:
    """An extension's value: a bare whole number or boolean as such, else its text."""
    text = _text(node, where, what)
    if text is None or not isinstance(node, yaml.ScalarNode) or not _plain(node):
        return text
    if node.tag == _BOOL:
        return text.lower() in ("true", "yes", "on")
    if node.tag == _INT:
        try:
            return int(text, 0)
        except ValueError:
            return text
    return text


# --------------------------------------------------------------------------- writing


class _Dumper(yaml.SafeDumper):
    """Multi-line text as a literal block (`|`), as the tool's own files write data."""


def _text_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # the emitter falls back to a quoted style where a literal block cannot hold the text
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text_representer)


def dump(records: Iterable[Record], comments: Iterable[str] | None = None) -> str:
    """The YAML text of `records` (one document each), each after its comment line."""
    notes = list(comments) if comments is not None else None
    parts = []
    for index, record in enumerate(records):
        note = f"# {notes[index]}\n" if notes is not None and notes[index] else ""
        parts.append(note + _document(record))
    return "---\n".join(parts)


def _document(record: Record) -> str:
    document: dict[str, Any] = {}
    if record.mode is not None:
        document["Mode"] = record.mode
    context: dict[str, Any] = dict(_ordered(record.attributes))
    if record.extensions:
        context["Extensions"] = dict(sorted(record.extensions.items()))
    document["ContextAttributes"] = context
    if record.transport:
        document["TransportExtensions"] = dict(record.transport)
    if record.data_base64 is not None:
        document["DataBase64"] = record.data_base64
    elif record.data is not None:
        document["Data"] = record.data
    text: str = yaml.dump(
        document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1 << 16
    )
    return text


def _ordered(attributes: Mapping[str, str]) -> list[tuple[str, str]]:
    """The attributes in the tool's order (specversion, type, time, id, source, ...)."""
    return sorted(attributes.items(), key=lambda kv: CORE.index(kv[0]) if kv[0] in CORE else 99)
