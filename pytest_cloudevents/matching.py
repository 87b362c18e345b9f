"""`match(**criteria)`: criteria over CloudEvents, and the explanation of a mismatch."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from .wire import AnyCloudEvent, format_time

__all__ = ["Matcher", "closest", "combine", "match"]

_MISSING: Final = object()


def _value(event: AnyCloudEvent, name: str) -> Any:
    if name == "data":
        return event.get_data()
    return event.get_attributes().get(name, _MISSING)


def _string_form(value: Any) -> str:
    """The canonical string form of an attribute value (CloudEvents type system)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _compare(criterion: Any, value: Any) -> bool:
    if value is _MISSING:
        return False
    if isinstance(criterion, re.Pattern):
        return criterion.fullmatch(_string_form(value)) is not None
    if isinstance(criterion, type):
        return isinstance(value, criterion)
    if callable(criterion):
        return bool(criterion(value))
    if isinstance(value, str) and isinstance(criterion, (bool, int)):
        return _string_form(criterion) == value  # binary-mode extensions are strings
    if isinstance(value, datetime) and isinstance(criterion, str):
        return criterion == format_time(value)
    return bool(criterion == value)


def _describe(criterion: Any) -> str:
    if isinstance(criterion, re.Pattern):
        return f"matching /{criterion.pattern}/"
    if isinstance(criterion, type):
        return f"an instance of {criterion.__name__}"
    if callable(criterion):
        name = getattr(criterion, "__name__", repr(criterion))
        return f"satisfying {name}"
    return repr(criterion)


class Matcher:
    """Criteria over a CloudEvent's attributes and data, built by `match(...)`.

    A criterion is compared by its kind: a compiled regex must `fullmatch` the value's
    string form; a class is an isinstance check; a callable is a predicate; anything else
    is compared with `==` (criterion on the left), so dirty-equals objects and
    `pytest.approx` work. A `bool` or `int` criterion matches a binary-mode string
    extension through its canonical form (`true`, `42`), and a `str` criterion on `time`
    compares with the RFC 3339 form.
    """

    def __init__(
        self,
        criteria: Mapping[str, Any],
        predicates: Iterable[Callable[[AnyCloudEvent], bool]] = (),
    ) -> None:
        self.criteria: dict[str, Any] = dict(criteria)
        self.predicates: tuple[Callable[[AnyCloudEvent], bool], ...] = tuple(predicates)

    def matches(self, event: AnyCloudEvent) -> bool:
        """True when every criterion holds for `event`."""
        return all(_compare(c, _value(event, n)) for n, c in self.criteria.items()) and all(
            p(event) for p in self.predicates
        )

    __call__ = matches

    def explain(self, event: AnyCloudEvent) -> list[str]:
        """One line per criterion that `event` does not meet; empty when it matches."""
        lines = []
        for name, criterion in self.criteria.items():
            value = _value(event, name)
            if _compare(criterion, value):
                continue
            got = "it is missing" if value is _MISSING else f"got {value!r}"
            lines.append(f"{name}: expected {_describe(criterion)}, {got}")
        for predicate in self.predicates:
            if not predicate(event):
                lines.append(f"the predicate {getattr(predicate, '__name__', predicate)} is false")
        return lines

    def __eq__(self, other: object) -> bool:
        if hasattr(other, "get_attributes") and hasattr(other, "get_data"):
            return self.matches(other)  # type: ignore[arg-type]
        if isinstance(other, Matcher):
            return self.criteria == other.criteria
        return NotImplemented

    def __hash__(self) -> int:
        return id(self)

    def __and__(self, other: Matcher) -> Matcher:
        return Matcher({**self.criteria, **other.criteria}, self.predicates + other.predicates)

    def __repr__(self) -> str:
        parts = [f"{k}={v!r}" for k, v in self.criteria.items()]
        parts += [getattr(p, "__name__", repr(p)) for p in self.predicates]
        return f"match({', '.join(parts)})"


def match(**criteria: Any) -> Matcher:
    """Build a `Matcher`: `match(type="com.example.x", data=IsPartialDict(id=1))`."""
    return Matcher(criteria)


def combine(
    matcher: Matcher | Callable[[AnyCloudEvent], bool] | None, criteria: Mapping[str, Any]
) -> Matcher:
    """One matcher from an optional `match=` argument and keyword criteria."""
    if matcher is None:
        return Matcher(criteria)
    if isinstance(matcher, Matcher):
        return matcher & Matcher(criteria)
    if callable(matcher):
        return Matcher(criteria, [matcher])
    raise TypeError(
        f"match must be a match(...) object or a predicate on the event, not {matcher!r};"
        " pass criteria as keywords, e.g. wait_for(type='com.example.x')"
    )


def closest(
    matcher: Matcher, events: Iterable[AnyCloudEvent]
) -> tuple[AnyCloudEvent, list[str]] | None:
    """The event with the fewest unmet criteria, with its differences; None when none."""
    best: tuple[AnyCloudEvent, list[str]] | None = None
    for event in events:
        diff = matcher.explain(event)
        if best is None or len(diff) < len(best[1]):
            best = (event, diff)
    return best
