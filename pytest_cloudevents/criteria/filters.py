"""Knative Trigger filters as criteria: the `filters` dialects (`exact`, `prefix`, `suffix`,
`all`, `any`, `not_`, `cesql`) and `from_trigger(manifest)` for a Trigger's `spec.filter`
and `spec.filters`, with Knative's semantics (`../shared/platforms.md` 1.7: knative/eventing's
`pkg/eventfilter`, the Trigger's validation):

- `filter.attributes`: every key must exist; a value matches exactly (case-sensitive); an
  empty value matches any value the attribute has; keys are `^[a-z][a-z0-9]*$`;
- `filters`, when not empty, overrides `filter`; a list is an implicit `all`; none passes
  everything;
- `exact`/`prefix`/`suffix`: the attribute must exist, and its string form equal, start
  or end with the value; an empty key or value is refused (Knative refuses the Trigger);
- `all`/`any`/`not`: and, or, negation; `cesql`: CloudEvents SQL, parsed when the filter
  is made, an evaluation error being no match;
- one dialect per filter object.

Every filter is a `Matcher`: `ce_receiver.assert_received(filters.from_trigger("t.yaml"))`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Final, final

from pytest_cloudevents.criteria.cesql import CESQLSyntaxError, Sql, sql
from pytest_cloudevents.criteria.match import Matcher
from pytest_cloudevents.events import EventLike, attributes_view, format_time

__all__ = [
    "Filter",
    "all_",
    "any_",
    "attributes",
    "cesql",
    "exact",
    "from_trigger",
    "not_",
    "prefix",
    "suffix",
]

_KEY: Final[re.Pattern[str]] = re.compile(r"[a-z][a-z0-9]*")
_DIALECTS: Final[tuple[str, ...]] = ("exact", "prefix", "suffix", "all", "any", "not", "cesql")


def _string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_time(value)
    return str(value)


class Filter(Matcher):
    """A Knative Trigger filter (a `Matcher`)."""

    def explain(self, event: EventLike) -> list[str]:
        return [] if self.matches(event) else [f"the Trigger filter {self!r} does not pass it"]


@final
class _Compare(Filter):
    """`exact`, `prefix`, `suffix`, and `filter.attributes` (`attributes`)."""

    def __init__(self, dialect: str, values: Mapping[str, str]) -> None:
        if not isinstance(values, Mapping) or not values:
            raise ValueError(f"{dialect} takes attribute names and values, such as type='x'")
        for key, value in values.items():
            if not isinstance(key, str) or not _KEY.fullmatch(key):
                raise ValueError(
                    f"{dialect}: {key!r} is not an attribute name (lowercase letters and digits,"
                    " starting with a letter)"
                )
            if not isinstance(value, str):
                raise TypeError(f"{dialect}: the value of {key} must be a string, not {value!r}")
            if dialect != "attributes" and not value:
                raise ValueError(f"{dialect}: the value of {key} is empty; Knative refuses it")
        if dialect != "attributes" and len(values) != 1:
            raise ValueError(f"{dialect} takes exactly one attribute, not {sorted(values)}")
        self.dialect = dialect
        self.values = dict(values)

    def matches(self, event: EventLike) -> bool:
        attrs = attributes_view(event)
        for key, expected in self.values.items():
            value = attrs.get(key)
            if value is None:
                return False
            text = _string(value)
            if self.dialect == "exact":
                ok = text == expected
            elif self.dialect == "prefix":
                ok = text.startswith(expected)
            elif self.dialect == "suffix":
                ok = text.endswith(expected)
            else:  # filter.attributes: "" is any value
                ok = expected == "" or text == expected
            if not ok:
                return False
        return True

    def explain(self, event: EventLike) -> list[str]:
        lines = []
        attrs = attributes_view(event)
        for key, expected in self.values.items():
            value = attrs.get(key)
            if value is None:
                lines.append(f"{self.dialect}: {key} is missing")
            elif not _Compare(self.dialect, {key: expected}).matches(event):
                lines.append(f"{self.dialect}: {key} is {_string(value)!r}, not {expected!r}")
        return lines

    def _key(self) -> tuple[Any, ...]:
        return (self.dialect, tuple(sorted(self.values.items())))

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.values.items())
        return f"filters.{self.dialect}({inner})"


@final
class _Group(Filter):
    """`all` and `any`."""

    def __init__(self, dialect: str, parts: Sequence[Filter]) -> None:
        for part in parts:
            if not isinstance(part, Filter):
                raise TypeError(
                    f"{dialect} takes filters such as filters.exact(type='x'), not {part!r}"
                )
        self.dialect = dialect
        self.parts = tuple(parts)

    def matches(self, event: EventLike) -> bool:
        if self.dialect == "all":
            return all(p.matches(event) for p in self.parts)
        return any(p.matches(event) for p in self.parts)

    def explain(self, event: EventLike) -> list[str]:
        if self.matches(event):
            return []
        lines = [line for p in self.parts for line in p.explain(event)]
        return lines if self.dialect == "all" else [f"none of {self!r} passes:", *lines]

    def _key(self) -> tuple[Any, ...]:
        return (self.dialect, self.parts)

    def __repr__(self) -> str:
        return f"filters.{self.dialect}_({', '.join(repr(p) for p in self.parts)})"


@final
class _Not(Filter):
    def __init__(self, inner: Filter) -> None:
        if not isinstance(inner, Filter):
            raise TypeError(f"not_ takes a filter such as filters.exact(type='x'), not {inner!r}")
        self.inner = inner

    def matches(self, event: EventLike) -> bool:
        return not self.inner.matches(event)

    def _key(self) -> tuple[Any, ...]:
        return ("not", self.inner)

    def __repr__(self) -> str:
        return f"filters.not_({self.inner!r})"


@final
class _Cesql(Filter):
    def __init__(self, expression: str) -> None:
        self.criterion: Sql = sql(expression)  # a syntax error: Knative refuses the Trigger

    def matches(self, event: EventLike) -> bool:
        return self.criterion.matches(event)

    def explain(self, event: EventLike) -> list[str]:
        return self.criterion.explain(event)

    def _key(self) -> tuple[Any, ...]:
        return ("cesql", self.criterion.text)

    def __repr__(self) -> str:
        return f"filters.cesql({self.criterion.text!r})"


def exact(**attribute: str) -> Filter:
    """The attribute exists and its string form is exactly the value: `exact(type="x")`."""
    return _Compare("exact", attribute)


def prefix(**attribute: str) -> Filter:
    """The attribute exists and its string form starts with the value."""
    return _Compare("prefix", attribute)


def suffix(**attribute: str) -> Filter:
    """The attribute exists and its string form ends with the value."""
    return _Compare("suffix", attribute)


def attributes(**values: str) -> Filter:
    """A Trigger's `spec.filter.attributes`: every key exists; a value matches exactly, an
    empty one any value."""
    return _Compare("attributes", values)


def all_(*parts: Filter) -> Filter:
    """Every part passes."""
    return _Group("all", parts)


def any_(*parts: Filter) -> Filter:
    """Some part passes."""
    return _Group("any", parts)


def not_(inner: Filter) -> Filter:
    """The filter does not pass."""
    return _Not(inner)


def cesql(expression: str) -> Filter:
    """A CloudEvents SQL filter: it passes when the expression is true with no error."""
    return _Cesql(expression)


# -- manifests ----------------------------------------------------------------------------


def _dialect(doc: object, where: str) -> Filter:
    """One element of `spec.filters`."""
    if not isinstance(doc, Mapping) or len(doc) != 1:
        raise ValueError(
            f"{where}: a filter is one dialect ({', '.join(_DIALECTS)}), not {doc!r:.100}"
        )
    ((dialect, value),) = doc.items()
    if dialect in ("exact", "prefix", "suffix"):
        if not isinstance(value, Mapping):
            raise ValueError(f"{where}: {dialect} takes an attribute and a value, not {value!r}")
        return _Compare(dialect, {str(k): _string(v) for k, v in value.items()})
    if dialect in ("all", "any"):
        if not isinstance(value, list):
            raise ValueError(f"{where}: {dialect} takes a list of filters, not {value!r}")
        return _Group(
            dialect, [_dialect(p, f"{where}.{dialect}[{i}]") for i, p in enumerate(value)]
        )
    if dialect == "not":
        return _Not(_dialect(value, f"{where}.not"))
    if dialect == "cesql":
        if not isinstance(value, str):
            raise ValueError(f"{where}: cesql takes an expression as a string, not {value!r}")
        try:
            return _Cesql(value)
        except CESQLSyntaxError as exc:
            raise ValueError(f"{where}: {exc}") from None
    raise ValueError(
        f"{where}: unknown filter dialect {dialect!r}; Knative has {', '.join(_DIALECTS)}"
    )


def _load(manifest: object) -> Mapping[str, Any]:
    if isinstance(manifest, Mapping):
        return manifest
    if isinstance(manifest, Path) or (
        isinstance(manifest, str) and "\n" not in manifest and manifest.endswith((".yaml", ".yml"))
    ):
        text = Path(manifest).read_text(encoding="utf-8")
    elif isinstance(manifest, str):
        text = manifest
    else:
        raise TypeError(
            "from_trigger takes a Trigger manifest: a dict, YAML text or a .yaml path, not"
            f" {manifest!r}"
        )
    import yaml

    try:
        documents = [d for d in yaml.safe_load_all(text) if d]
    except yaml.YAMLError as exc:
        raise ValueError(f"the Trigger manifest is not YAML: {exc}") from None
    triggers = [d for d in documents if isinstance(d, Mapping) and d.get("kind") == "Trigger"]
    if not triggers:
        kinds = [d.get("kind") for d in documents if isinstance(d, Mapping)]
        raise ValueError(f"the manifest holds no kind: Trigger (it holds {kinds})")
    if len(triggers) > 1:
        names = [t.get("metadata", {}).get("name") for t in triggers]
        raise ValueError(f"the manifest holds {len(triggers)} Triggers {names}; pass one")
    return triggers[0]


def from_trigger(manifest: object) -> Filter:
    """The filter of a Knative Trigger (a dict, YAML text, or the path of a .yaml file;
    the manifest may hold other resources beside one Trigger): `spec.filters` when not
    empty, else `spec.filter.attributes`, else a filter that passes everything."""
    doc = _load(manifest)
    spec = doc.get("spec") or {}
    if not isinstance(spec, Mapping):
        raise ValueError(f"the Trigger's spec is not a mapping: {spec!r:.100}")
    many = spec.get("filters")
    if many:
        if not isinstance(many, list):
            raise ValueError(f"spec.filters is a list of filters, not {many!r:.100}")
        return _Group("all", [_dialect(f, f"spec.filters[{i}]") for i, f in enumerate(many)])
    legacy = (
        (spec.get("filter") or {}).get("attributes")
        if isinstance(spec.get("filter"), Mapping)
        else None
    )
    if legacy:
        return _Compare("attributes", {str(k): _string(v) for k, v in legacy.items()})
    return _Group("all", [])
