"""CloudEvents SQL (CESQL 1.0): `sql("type LIKE 'com.example.%' AND EXISTS subject")`.

`parse(text)` gives an `Expression` or raises `CESQLSyntaxError` with the position;
`Expression.evaluate(attributes)` gives the value and the errors (the spec's error list);
`Expression.matches(event)` is the filter reading (section 1.2): true only for the boolean
`true` with no error. `sql(text)` is the `match(...)`-like criterion over an event that
waits, assertions, `inject(when=)`, `attempts` and the control API take. The grammar is
`grammar.py`, the semantics `compiler.py`; lark is imported when an expression is first
parsed.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, final

from pytest_cloudevents.criteria.cesql import compiler
from pytest_cloudevents.criteria.cesql.compiler import INT_MAX, EvalError, Node, Value
from pytest_cloudevents.criteria.cesql.grammar import GRAMMAR
from pytest_cloudevents.criteria.match import Matcher
from pytest_cloudevents.events import EventLike, attributes_view, format_time

__all__ = [
    "CESQLSyntaxError",
    "EvalError",
    "Evaluation",
    "Expression",
    "Sql",
    "parse",
    "sql",
]

#: The longest expression parsed (a filter is a line or two; this bounds the work).
MAX_LENGTH: Final[int] = 16 * 1024
_PRIMITIVE: Final[tuple[type, ...]] = (str, int, bool)


class CESQLSyntaxError(ValueError):
    """An expression that does not parse: `position` is the 0-based offset of the fault in
    `text` (`line` and `column` are 1-based); the message shows it with a caret."""

    def __init__(self, text: str, position: int, problem: str) -> None:
        self.text, self.position, self.problem = text, position, problem
        before = text[:position]
        self.line = before.count("\n") + 1
        self.column = position - (before.rfind("\n") + 1) + 1
        line_text = text.splitlines()[self.line - 1] if text.strip() else text
        caret = " " * (self.column - 1) + "^"
        super().__init__(
            f"CESQL syntax error at line {self.line}, column {self.column}: {problem}\n"
            f"  {line_text}\n  {caret}"
        )


@dataclass(frozen=True)
class Evaluation:
    """The value of an expression for one event, and the errors met (empty: none)."""

    value: Value
    errors: list[EvalError] = field(default_factory=list)

    @property
    def passes(self) -> bool:
        """The filter reading: the boolean `true` and no error."""
        return self.value is True and not self.errors


@final
class Expression:
    """A parsed CESQL expression."""

    __slots__ = ("_node", "text")

    def __init__(self, text: str, node: Node) -> None:
        self.text = text
        self._node = node

    def evaluate(self, attributes: Mapping[str, Any] | EventLike) -> Evaluation:
        """The value for an event (or a mapping of its attributes) and the errors."""
        errors: list[EvalError] = []
        value = self._node(_attributes(attributes), errors)
        return Evaluation(value, errors)

    def matches(self, event: Mapping[str, Any] | EventLike) -> bool:
        """Whether the event passes the expression as a filter (true, no error)."""
        errors: list[EvalError] = []
        return self._node(_attributes(event), errors) is True and not errors

    def __repr__(self) -> str:
        return f"sql({self.text!r})"


def _attributes(source: Mapping[str, Any] | EventLike) -> dict[str, Value]:
    """An event's attributes as CESQL types: strings, integers and booleans as they are,
    anything else (a `time`, a URI object) as its string form."""
    items = source if isinstance(source, Mapping) else attributes_view(source)
    out: dict[str, Value] = {}
    for name, value in items.items():
        if value is None:
            continue
        if type(value) in _PRIMITIVE:
            out[name] = value
        elif isinstance(value, datetime):
            out[name] = format_time(value)
        else:
            out[name] = str(value)
    return out


# -- parsing ------------------------------------------------------------------------------

_PARSER: Any = None
_LOCK = threading.Lock()


def _parser() -> Any:
    global _PARSER
    with _LOCK:
        if _PARSER is None:
            import lark

            _PARSER = lark.Lark(
                GRAMMAR, parser="lalr", lexer="contextual", propagate_positions=False
            )
        return _PARSER


def _unquote(token: str) -> str:
    quote, body = token[0], token[1:-1]
    out = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body) and body[index + 1] == quote:
            out.append(quote)
            index += 2
        elif char == quote and index + 1 < len(body) and body[index + 1] == quote:
            out.append(quote)  # a doubled quote is one
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)


class _Overflow(Exception):
    def __init__(self, position: int, problem: str) -> None:
        self.position, self.problem = position, problem


def _build(tree: Any) -> Node:
    """The closures of a parse tree (iteratively deep enough for any nesting lark gives)."""
    import lark

    pending: dict[int, int] = {}  # id of a 2147483648 literal node -> its position

    class Build(lark.Transformer[Any, Node]):
        def integer(self, items: list[Any]) -> Node:
            token = items[0]
            number = int(token)
            node = compiler.literal(number if number <= INT_MAX else 0)
            if number > INT_MAX + 1:
                raise _Overflow(token.start_pos, f"{token} is outside the 32-bit integers")
            if number == INT_MAX + 1:  # only as -2147483648
                pending[id(node)] = token.start_pos
            node.literal = number  # type: ignore[attr-defined]
            return node

        def string(self, items: list[Any]) -> Node:
            return compiler.literal(_unquote(str(items[0])))

        def true(self, items: list[Any]) -> Node:
            return compiler.literal(True)

        def false(self, items: list[Any]) -> Node:
            return compiler.literal(False)

        def attribute(self, items: list[Any]) -> Node:
            return compiler.attribute(str(items[0]))

        def exists(self, items: list[Any]) -> Node:
            return compiler.exists(str(items[1]))

        def negation(self, items: list[Any]) -> Node:
            return compiler.unary("NOT", items[1])

        def minus(self, items: list[Any]) -> Node:
            operand = items[1]
            number = getattr(operand, "literal", None)
            if type(number) is int:  # a negative literal, folded
                pending.pop(id(operand), None)
                folded = compiler.literal(-number)
                folded.literal = -number  # type: ignore[attr-defined]
                return folded
            return compiler.unary("-", operand)

        def arithmetic(self, items: list[Any]) -> Node:
            return compiler.binary(str(items[1]), items[0], items[2])

        def compare(self, items: list[Any]) -> Node:
            return compiler.binary(str(items[1]), items[0], items[2])

        def logic(self, items: list[Any]) -> Node:
            return compiler.binary(str(items[1]).upper(), items[0], items[2])

        def like(self, items: list[Any]) -> Node:
            return compiler.like(items[0], _unquote(str(items[2])), negated=False)

        def not_like(self, items: list[Any]) -> Node:
            return compiler.like(items[0], _unquote(str(items[3])), negated=True)

        def in_set(self, items: list[Any]) -> Node:
            return compiler.in_set(items[0], items[2:], negated=False)

        def not_in_set(self, items: list[Any]) -> Node:
            return compiler.in_set(items[0], items[3:], negated=True)

        def call(self, items: list[Any]) -> Node:
            arguments = [i for i in items[1:] if i is not None]
            return compiler.call(str(items[0]), arguments)

    node: Node = Build().transform(tree)
    if pending:
        position = min(pending.values())
        raise _Overflow(position, "2147483648 is outside the 32-bit integers")
    return node


_CACHE: dict[str, Expression] = {}
_MOST_CACHED: Final[int] = 1024


def parse(text: str) -> Expression:
    """The expression `text` parsed; CESQLSyntaxError (a ValueError) with the position
    when it does not parse, TypeError when it is not a string."""
    if not isinstance(text, str):
        raise TypeError(f"a CESQL expression is a string such as \"type = 'x'\", not {text!r}")
    cached = _CACHE.get(text)
    if cached is not None:
        return cached
    if len(text) > MAX_LENGTH:
        raise CESQLSyntaxError(
            text[:80], 0, f"the expression is longer than {MAX_LENGTH} characters"
        )
    import lark

    try:
        tree = _parser().parse(text)
        node = _build(tree)
    except lark.exceptions.UnexpectedInput as exc:
        problem = _explain(exc, text)
        position = getattr(exc, "pos_in_stream", None)
        if position is None or position < 0 or problem.endswith("too early"):
            position = len(text.rstrip())
        raise CESQLSyntaxError(text, min(position, len(text)), problem) from None
    except _Overflow as exc:
        raise CESQLSyntaxError(text, exc.position, exc.problem) from None
    except lark.exceptions.VisitError as exc:
        inner = exc.orig_exc
        if isinstance(inner, _Overflow):
            raise CESQLSyntaxError(text, inner.position, inner.problem) from None
        if isinstance(inner, RecursionError):
            raise CESQLSyntaxError(text, 0, "the expression is nested too deeply") from None
        raise
    except RecursionError:
        raise CESQLSyntaxError(text, 0, "the expression is nested too deeply") from None
    except lark.exceptions.LarkError as exc:
        raise CESQLSyntaxError(text, 0, str(exc).splitlines()[0]) from None
    expression = Expression(text, node)
    if len(_CACHE) >= _MOST_CACHED:
        _CACHE.clear()
    _CACHE[text] = expression
    return expression


def _explain(exc: Any, text: str) -> str:
    """What the parser expected, in words."""
    import lark

    if isinstance(exc, lark.exceptions.UnexpectedEOF):
        return "the expression ends too early"
    if isinstance(exc, lark.exceptions.UnexpectedCharacters):
        at = exc.pos_in_stream or 0
        char = text[at] if at < len(text) else ""
        return f"unexpected character {char!r}"
    token = getattr(exc, "token", None)
    if token is not None and getattr(token, "type", "") == "$END":
        return "the expression ends too early"
    expected = sorted(getattr(exc, "expected", ()) or ())
    shown = ", ".join(e for e in expected if e.isupper() and not e.startswith("__"))[:120]
    got = repr(str(token)) if token is not None else "this"
    return f"unexpected {got}" + (f" (expected one of {shown})" if shown else "")


# -- the criterion ------------------------------------------------------------------------


@final
class Sql(Matcher):
    """A CESQL expression as a criterion: an event matches when the expression is `true`
    with no error (section 1.2). Combine it with `match(...)` by `&`, `|`, `~`."""

    def __init__(self, expression: Expression) -> None:
        self.expression = expression

    @property
    def text(self) -> str:
        """The expression as written."""
        return self.expression.text

    def matches(self, event: EventLike) -> bool:
        return self.expression.matches(event)

    def explain(self, event: EventLike) -> list[str]:
        result = self.expression.evaluate(event)
        if result.passes:
            return []
        if result.errors:
            errors = "; ".join(repr(e) for e in result.errors)
            return [f"sql({self.text!r}) fails with errors: {errors}"]
        return [f"sql({self.text!r}) is {_shown(result.value)}, not true"]

    def _key(self) -> tuple[Any, ...]:
        return ("sql", self.text)

    def __repr__(self) -> str:
        return f"sql({self.text!r})"


def _shown(value: Value) -> str:
    if type(value) is bool:
        return "true" if value else "false"
    return repr(value)


def sql(expression: str) -> Sql:
    """A CESQL 1.0 criterion: `ce_receiver.wait_for(sql("type LIKE 'com.example.%'"))`.
    A syntax error raises here (`CESQLSyntaxError`, with its position); an error while
    evaluating makes the criterion false for that event, and `explain` names it."""
    return Sql(parse(expression))
