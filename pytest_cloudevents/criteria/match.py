"""`match(**criteria)`: criteria over CloudEvents, their combinations (`&`, `|`, `~`), and
the explanation of a mismatch."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from pytest_cloudevents.events import EventLike, attribute_of, data_of, format_time, is_event

__all__ = [
    "AllOf",
    "AnyOf",
    "Criteria",
    "Criterion",
    "Matcher",
    "Not",
    "closest",
    "combine",
    "is_regex",
    "match",
]

_MISSING: Final = object()
Predicate = Callable[[Any], bool]


def _value(event: EventLike, name: str) -> Any:
    if name == "data":
        return data_of(event)
    return attribute_of(event, name, _MISSING)


def _string_form(value: Any) -> str:
    """The canonical string form of an attribute value (CloudEvents type system)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


class Criterion:
    """A criterion value that checks a value and says why it does not hold
    (`matches_schema`, a pydantic model)."""

    def check(self, value: Any) -> str | None:
        """None when `value` meets the criterion, else why not."""
        raise NotImplementedError  # pragma: no cover - every subclass defines it


def _model_reason(model: type, value: Any) -> str | None:
    """A pydantic model class as a criterion: None when `value` validates, else the errors."""
    try:
        model.model_validate(value)  # type: ignore[attr-defined]
    except Exception as exc:  # pydantic.ValidationError, without importing pydantic
        errors = getattr(exc, "errors", None)
        if not callable(errors):
            raise
        parts = [
            f"{'.'.join(str(p) for p in e.get('loc', ())) or '(root)'}: {e.get('msg')}"
            for e in errors()
        ]
        return f"does not validate as {model.__name__}: " + "; ".join(parts)
    return None


def _is_model(criterion: Any) -> bool:
    return isinstance(criterion, type) and callable(getattr(criterion, "model_validate", None))


def _reason(criterion: Any, value: Any) -> str | None:
    """Why a Criterion or a pydantic model does not hold (None when it holds)."""
    if isinstance(criterion, Criterion):
        return criterion.check(value)
    return _model_reason(criterion, value)


def is_regex(criterion: Any) -> bool:
    """Whether a criterion is a compiled regex: Python's, or RE2's (what the control API
    compiles regexes that arrive over HTTP with)."""
    if isinstance(criterion, re.Pattern):
        return True
    return (
        not callable(criterion)
        and hasattr(criterion, "fullmatch")
        and isinstance(getattr(criterion, "pattern", None), str)
    )


def _compare(criterion: Any, value: Any) -> bool:
    if value is _MISSING:
        return False
    if isinstance(criterion, Criterion) or _is_model(criterion):
        return _reason(criterion, value) is None
    if is_regex(criterion):
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


def _lambda_text(source: str) -> str | None:
    """The `lambda ...` expression in a line of source, up to where it ends."""
    start = source.find("lambda")
    if start < 0:
        return None
    depth = 0
    for index in range(start, len(source)):
        char = source[index]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:
                return source[start:index].strip()
            depth -= 1
        elif char == "," and depth == 0:
            return source[start:index].strip()
    return source[start:].strip()


def describe_callable(fn: Callable[..., Any]) -> str:
    """A predicate as a person wrote it: a lambda's source text, else its name."""
    name = getattr(fn, "__name__", None)
    if name == "<lambda>":
        try:
            lines, _ = inspect.getsourcelines(fn)
        except (OSError, TypeError):
            return "<lambda>"
        text = _lambda_text(" ".join(line.strip() for line in lines))
        return text or "<lambda>"
    return name or repr(fn)


def _describe(criterion: Any) -> str:
    if is_regex(criterion):
        return f"matching /{criterion.pattern}/"
    if isinstance(criterion, type):
        return f"an instance of {criterion.__name__}"
    if callable(criterion):
        return f"satisfying {describe_callable(criterion)}"
    return repr(criterion)


class Matcher:
    """Criteria over a CloudEvent's attributes and data, built by `match(...)`.

    A criterion is compared by its kind: a compiled regex must `fullmatch` the value's
    string form; a class is an isinstance check; a callable is a predicate; anything else
    is compared with `==` (criterion on the left), so dirty-equals objects and
    `pytest.approx` work. A `bool` or `int` criterion matches a binary-mode string
    extension through its canonical form (`true`, `42`), and a `str` criterion on `time`
    compares with the RFC 3339 form.

    `m1 & m2` matches what both match, `m1 | m2` what either matches, `~m` the rest.
    A matcher compares equal to an event it matches (`assert event == match(type="x")`)
    and to an equal matcher; equal matchers hash equal.
    """

    def matches(self, event: EventLike) -> bool:
        """True when `event` meets the criteria."""
        raise NotImplementedError  # pragma: no cover - every subclass defines it

    def explain(self, event: EventLike) -> list[str]:
        """One line per unmet criterion; empty when `event` matches."""
        raise NotImplementedError  # pragma: no cover

    def _key(self) -> tuple[Any, ...]:
        raise NotImplementedError  # pragma: no cover

    def required(self, name: str) -> str | None:
        """The exact string every matching event has as attribute `name`, when the
        criteria fix one (`match(id="x")`, or a conjunction containing it); else None.
        Lets the log look an event up by id instead of scanning."""
        return None

    def __call__(self, event: EventLike) -> bool:
        return self.matches(event)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Matcher):
            return self._key() == other._key()
        if is_event(other):
            return self.matches(other)  # type: ignore[arg-type]
        return NotImplemented

    def __hash__(self) -> int:
        try:
            return hash(self._key())
        except TypeError:  # an unhashable criterion value (a dict, a list)
            return hash(repr(self))

    def __and__(self, other: Matcher) -> Matcher:
        return AllOf((self, _check(other, "&")))

    def __or__(self, other: Matcher) -> Matcher:
        return AnyOf((self, _check(other, "|")))

    def __invert__(self) -> Matcher:
        return Not(self)


def _check(other: object, op: str) -> Matcher:
    if not isinstance(other, Matcher):
        raise TypeError(f"{op} combines two match(...) objects, not {other!r}")
    return other


class Criteria(Matcher):
    """Keyword criteria (and predicates on the whole event), all of which must hold."""

    def __init__(self, criteria: Mapping[str, Any], predicates: Iterable[Predicate] = ()) -> None:
        self.criteria: dict[str, Any] = dict(criteria)
        self.predicates: tuple[Predicate, ...] = tuple(predicates)

    def matches(self, event: EventLike) -> bool:
        return all(_compare(c, _value(event, n)) for n, c in self.criteria.items()) and all(
            p(event) for p in self.predicates
        )

    def explain(self, event: EventLike) -> list[str]:
        lines = []
        for name, criterion in self.criteria.items():
            value = _value(event, name)
            if _compare(criterion, value):
                continue
            got = "it is missing" if value is _MISSING else f"got {value!r}"
            if value is not _MISSING and (isinstance(criterion, Criterion) or _is_model(criterion)):
                lines.append(f"{name}: {_reason(criterion, value)}")
                continue
            lines.append(f"{name}: expected {_describe(criterion)}, {got}")
        for predicate in self.predicates:
            if not predicate(event):
                lines.append(f"the predicate {describe_callable(predicate)} is false")
        return lines

    def _key(self) -> tuple[Any, ...]:
        return ("criteria", tuple(self.criteria.items()), self.predicates)

    def required(self, name: str) -> str | None:
        value = self.criteria.get(name)
        return value if type(value) is str else None

    def __repr__(self) -> str:
        parts = [
            f"{k}={describe_callable(v) if callable(v) and not isinstance(v, type) else repr(v)}"
            for k, v in self.criteria.items()
        ]
        parts += [describe_callable(p) for p in self.predicates]
        return f"match({', '.join(parts)})"


class AllOf(Matcher):
    def __init__(self, parts: tuple[Matcher, ...]) -> None:
        self.parts = parts

    def matches(self, event: EventLike) -> bool:
        return all(p.matches(event) for p in self.parts)

    def explain(self, event: EventLike) -> list[str]:
        return [line for p in self.parts for line in p.explain(event)]

    def _key(self) -> tuple[Any, ...]:
        return ("all", self.parts)

    def required(self, name: str) -> str | None:
        return next((v for p in self.parts if (v := p.required(name)) is not None), None)

    def __repr__(self) -> str:
        return " & ".join(_paren(p) for p in self.parts)


class AnyOf(Matcher):
    def __init__(self, parts: tuple[Matcher, ...]) -> None:
        self.parts = parts

    def matches(self, event: EventLike) -> bool:
        return any(p.matches(event) for p in self.parts)

    def explain(self, event: EventLike) -> list[str]:
        if self.matches(event):
            return []
        return [f"none of {self!r} holds:"] + [
            f"  {line}" for p in self.parts for line in p.explain(event)
        ]

    def _key(self) -> tuple[Any, ...]:
        return ("any", self.parts)

    def __repr__(self) -> str:
        return " | ".join(_paren(p) for p in self.parts)


class Not(Matcher):
    def __init__(self, inner: Matcher) -> None:
        self.inner = inner

    def matches(self, event: EventLike) -> bool:
        return not self.inner.matches(event)

    def explain(self, event: EventLike) -> list[str]:
        return [] if self.matches(event) else [f"expected {self!r}, but the event matches it"]

    def _key(self) -> tuple[Any, ...]:
        return ("not", self.inner)

    def __repr__(self) -> str:
        return f"~{_paren(self.inner)}"


def _paren(m: Matcher) -> str:
    return f"({m!r})" if isinstance(m, (AllOf, AnyOf)) else repr(m)


def match(**criteria: Any) -> Matcher:
    """Build a `Matcher`: `match(type="com.example.x", data=IsPartialDict(id=1))`."""
    return Criteria(criteria)


def combine(matcher: Matcher | Predicate | None, criteria: Mapping[str, Any]) -> Matcher:
    """One matcher from an optional `match=` argument and keyword criteria."""
    if matcher is None:
        return Criteria(criteria)
    if isinstance(matcher, Matcher):
        return matcher & Criteria(criteria) if criteria else matcher
    if callable(matcher):
        return Criteria(criteria, [matcher])
    raise TypeError(
        f"match must be a match(...) object or a predicate on the event, not {matcher!r};"
        " pass criteria as keywords, e.g. wait_for(type='com.example.x')"
    )


def closest(matcher: Matcher, events: Iterable[EventLike]) -> tuple[EventLike, list[str]] | None:
    """The event with the fewest unmet criteria, with its differences; None when none."""
    best: tuple[EventLike, list[str]] | None = None
    for event in events:
        diff = matcher.explain(event)
        if best is None or len(diff) < len(best[1]):
            best = (event, diff)
    return best
