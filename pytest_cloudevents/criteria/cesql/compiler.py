"""CloudEvents SQL 1.0 semantics: the parse tree compiled into Python closures.

Each node becomes a function of the event's attributes and the error list that returns the
node's value (a `bool`, an `int` in signed 32 bits, or a `str`). Errors follow the spec's
section 3.3 and the TCK: a node that meets an error returns the zero value of its type
(`false`, `0`, `""`) and records the error; an operator whose operand erred returns its own
zero value at once ("fail fast", which section 1.2 asks of filters); a function returns the
value its definition gives with its error (`LEFT('abc', -2)` is `'abc'`). `AND` and `OR`
short-circuit. A missing attribute is the zero value of the subexpression with a
`missingAttribute` error; where the type cannot be known, a `false`.

Implicit casts (section 3.7): unary and non-ambiguous operators cast their operands to
their parameter types; the ambiguous `=`, `!=`, `<>` cast the left operand to the right
operand's type; `IN` casts the set's elements to the left operand's type; `LIKE` casts its
left operand to a string.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Final

__all__ = [
    "ERROR_KINDS",
    "FUNCTIONS",
    "INT_MAX",
    "INT_MIN",
    "EvalError",
    "Node",
    "Value",
    "attribute",
    "binary",
    "call",
    "cast",
    "exists",
    "in_set",
    "like",
    "like_regex",
    "literal",
    "type_name",
    "unary",
]

Value = bool | int | str
#: A compiled node: (attributes, errors) -> value.
Node = Callable[[Mapping[str, Value], list["EvalError"]], Value]

INT_MIN: Final[int] = -(2**31)
INT_MAX: Final[int] = 2**31 - 1
#: The error kinds, as the TCK names them.
ERROR_KINDS: Final[tuple[str, ...]] = (
    "parse",
    "math",
    "cast",
    "missingAttribute",
    "missingFunction",
    "functionEvaluation",
    "generic",
)
_INTEGER: Final[re.Pattern[str]] = re.compile(r"[+-]?[0-9]+")


class EvalError:
    """One error of an evaluation: its kind (`ERROR_KINDS`) and what happened."""

    __slots__ = ("kind", "message")

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        self.message = message

    def __repr__(self) -> str:
        return f"{self.kind}: {self.message}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EvalError) and (self.kind, self.message) == (
            other.kind,
            other.message,
        )

    def __hash__(self) -> int:
        return hash((self.kind, self.message))


def type_name(value: Value) -> str:
    """The CESQL type of a value."""
    if type(value) is bool:
        return "Boolean"
    return "Integer" if type(value) is int else "String"


def _zero(kind: str) -> Value:
    return False if kind == "Boolean" else 0 if kind == "Integer" else ""


def cast(value: Value, target: str, errors: list[EvalError]) -> Value:
    """`value` as type `target` ("Boolean", "Integer", "String"), by the spec's cast table;
    a cast that fails records a `cast` error and gives the zero value."""
    kind = type(value)
    if target == "String":
        if kind is bool:
            return "true" if value else "false"
        return str(value)
    if target == "Integer":
        if kind is int:
            return value
        if kind is bool:
            return 1 if value else 0
        text = str(value)
        if _INTEGER.fullmatch(text):
            number = int(text)
            if INT_MIN <= number <= INT_MAX:
                return number
        errors.append(EvalError("cast", f"cannot cast the string {text!r} to an integer"))
        return 0
    if kind is bool:
        return value
    if kind is int:
        return value != 0
    lowered = str(value).lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    errors.append(EvalError("cast", f"cannot cast the string {value!r} to a boolean"))
    return False


def like_regex(pattern: str) -> re.Pattern[str]:
    """A LIKE pattern as a regex: `%` any run, `_` one character, `\\%` and `\\_` those
    characters, anything else itself (a backslash before another character is a backslash)."""
    out = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern) and pattern[index + 1] in "%_":
            out.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        out.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        index += 1
    return re.compile("".join(out), re.DOTALL)


# -- nodes --------------------------------------------------------------------------------


def literal(value: Value) -> Node:
    def node(attributes: Mapping[str, Value], errors: list[EvalError]) -> Value:
        return value

    node.kind = type_name(value)  # type: ignore[attr-defined]
    return node


def attribute(name: str) -> Node:
    def node(attributes: Mapping[str, Value], errors: list[EvalError]) -> Value:
        value = attributes.get(name)
        if value is None:
            errors.append(EvalError("missingAttribute", f"the event has no attribute {name!r}"))
            return False
        return value

    return node


def exists(name: str) -> Node:
    def node(attributes: Mapping[str, Value], errors: list[EvalError]) -> Value:
        return name in attributes

    return node


def unary(operator: str, operand: Node) -> Node:
    """`NOT x` (Boolean) or `-x` (Integer)."""
    if operator == "NOT":

        def negation(attributes: Mapping[str, Value], errors: list[EvalError]) -> Value:
            count = len(errors)
            value = operand(attributes, errors)
            if len(errors) > count:
                return False
            value = cast(value, "Boolean", errors)
            return False if len(errors) > count else not value

        return negation

    def minus(attributes: Mapping[str, Value], errors: list[EvalError]) -> Value:
        count = len(errors)
        value = operand(attributes, errors)
        if len(errors) > count:
            return 0
        number = cast(value, "Integer", errors)
        if len(errors) > count:
            return 0
        return _int32(-int(number), errors)

    return minus


def _int32(number: int, errors: list[EvalError]) -> int:
    if INT_MIN <= number <= INT_MAX:
        return number
    errors.append(EvalError("math", f"{number} is outside the 32-bit integers"))
    return 0


def _arithmetic(operator: str, left: int, right: int, errors: list[EvalError]) -> int:
    if operator == "+":
        return _int32(left + right, errors)
    if operator == "-":
        return _int32(left - right, errors)
    if operator == "*":
        return _int32(left * right, errors)
    if right == 0:
        errors.append(EvalError("math", f"{left} {operator} 0: division by zero"))
        return 0
    quotient = abs(left) // abs(right)  # truncated: towards zero
    if (left < 0) != (right < 0):
        quotient = -quotient
    if operator == "/":
        return _int32(quotient, errors)
    return left - right * quotient  # the sign of the dividend


def _operands(
    left: Node, right: Node, attributes: Mapping[str, Value], errors: list[EvalError]
) -> tuple[Value, Value] | None:
    """Both operands, left first; None as soon as one errs (fail fast)."""
    count = len(errors)
    a = left(attributes, errors)
    if len(errors) > count:
        return None
    b = right(attributes, errors)
    if len(errors) > count:
        return None
    return a, b


def binary(operator: str, left: Node, right: Node) -> Node:
    """An arithmetic, comparison or logic operator."""
    if operator in ("AND", "OR"):
        stop = operator == "OR"

        def logic(attributes: Mapping[str, Value], errors: list[EvalError]) -> Value:
            count = len(errors)
            first = cast(left(attributes, errors), "Boolean", errors)
            if len(errors) > count:
                return False
            if first is stop:  # short circuit: AND on false, OR on true
                return stop
            second = cast(right(attributes, errors), "Boolean", errors)
            return False if len(errors) > count else bool(second)

        return logic
    if operator == "XOR":

        def xor(attributes: Mapping[str, Value], errors: list[EvalError]) -> Value:
            count = len(errors)
            first = cast(left(attributes, errors), "Boolean", errors)
            if len(errors) > count:
                return False
            second = cast(right(attributes, errors), "Boolean", errors)
            return False if len(errors) > count else first is not second

        return xor
    if operator in ("+", "-", "*", "/", "%"):

        def arithmetic(attributes: Mapping[str, Value], errors: list[EvalError]) -> Value:
            count = len(errors)
            both = _operands(left, right, attributes, errors)
            if both is None:
                return 0
            x, y = cast(both[0], "Integer", errors), cast(both[1], "Integer", errors)
            if len(errors) > count:
                return 0
            return _arithmetic(operator, int(x), int(y), errors)

        return arithmetic
    if operator in ("<", "<=", ">", ">="):
        order: Callable[[int, int], bool] = {
            "<": int.__lt__,
            "<=": int.__le__,
            ">": int.__gt__,
            ">=": int.__ge__,
        }[operator]

        def ordering(attributes: Mapping[str, Value], errors: list[EvalError]) -> Value:
            count = len(errors)
            both = _operands(left, right, attributes, errors)
            if both is None:
                return False
            x, y = cast(both[0], "Integer", errors), cast(both[1], "Integer", errors)
            return False if len(errors) > count else order(int(x), int(y))

        return ordering
    negate = operator != "="

    def equality(attributes: Mapping[str, Value], errors: list[EvalError]) -> Value:
        count = len(errors)
        both = _operands(left, right, attributes, errors)
        if both is None:
            return False
        a, b = both
        x = cast(a, type_name(b), errors)  # ambiguous: the right operand's type decides
        if len(errors) > count:
            return False
        return (x != b) if negate else (x == b)

    return equality


def like(operand: Node, pattern: str, negated: bool) -> Node:
    regex = like_regex(pattern)

    def node(attributes: Mapping[str, Value], errors: list[EvalError]) -> Value:
        count = len(errors)
        value = operand(attributes, errors)
        if len(errors) > count:
            return False
        matched = regex.fullmatch(str(cast(value, "String", errors))) is not None
        return matched is not negated

    return node


def in_set(operand: Node, elements: Sequence[Node], negated: bool) -> Node:
    def node(attributes: Mapping[str, Value], errors: list[EvalError]) -> Value:
        count = len(errors)
        value = operand(attributes, errors)
        if len(errors) > count:
            return False
        kind = type_name(value)
        found = False
        for element in elements:
            item = cast(element(attributes, errors), kind, errors)
            if len(errors) > count:
                return False
            if item == value:  # both of the left operand's type
                found = True
                break
        return found is not negated

    return node


# -- functions ----------------------------------------------------------------------------

#: A function's implementation: its arguments, already cast, and the error list.
Impl = Callable[[list[Value], list[EvalError]], Value]


def _substring(args: list[Value], errors: list[EvalError]) -> Value:
    text, position = str(args[0]), int(args[1])
    length = int(args[2]) if len(args) == 3 else None
    size = len(text)
    if position > size or position < -size or (length is not None and length < 0):
        errors.append(
            EvalError(
                "functionEvaluation",
                f"SUBSTRING({text!r}, {position}{'' if length is None else f', {length}'})"
                " is out of range",
            )
        )
        return ""
    if position == 0:
        return ""
    start = position - 1 if position > 0 else size + position
    return text[start:] if length is None else text[start : start + length]


def _left_right(which: str) -> Impl:
    def impl(args: list[Value], errors: list[EvalError]) -> Value:
        text, count = str(args[0]), int(args[1])
        if count < 0:
            errors.append(EvalError("functionEvaluation", f"{which}({text!r}, {count}): negative"))
            return text
        if which == "LEFT":
            return text[:count]
        return text[len(text) - count :] if count else ""

    return impl


def _abs(args: list[Value], errors: list[EvalError]) -> Value:
    number = int(args[0])
    if number == INT_MIN:
        errors.append(EvalError("math", "ABS(-2147483648) is outside the 32-bit integers"))
        return INT_MAX
    return abs(number)


def _castable(target: str) -> Impl:
    def impl(args: list[Value], errors: list[EvalError]) -> Value:
        probe: list[EvalError] = []
        cast(args[0], target, probe)
        return not probe

    return impl


def _cast_to(target: str) -> Impl:
    def impl(args: list[Value], errors: list[EvalError]) -> Value:
        return cast(args[0], target, errors)

    return impl


#: name -> {arity: (parameter types, return type, implementation)}; a variadic function
#: has the arity -1 with its fixed parameters and the type of the rest last.
FUNCTIONS: Final[dict[str, dict[int, tuple[tuple[str, ...], str, Impl]]]] = {
    "LENGTH": {1: (("String",), "Integer", lambda a, e: len(str(a[0])))},
    "CONCAT": {-1: (("String",), "String", lambda a, e: "".join(str(x) for x in a))},
    "CONCAT_WS": {
        -1: (
            ("String", "String"),
            "String",
            lambda a, e: str(a[0]).join(str(x) for x in a[1:]),
        )
    },
    "LOWER": {1: (("String",), "String", lambda a, e: str(a[0]).lower())},
    "UPPER": {1: (("String",), "String", lambda a, e: str(a[0]).upper())},
    "TRIM": {1: (("String",), "String", lambda a, e: str(a[0]).strip())},
    "LEFT": {2: (("String", "Integer"), "String", _left_right("LEFT"))},
    "RIGHT": {2: (("String", "Integer"), "String", _left_right("RIGHT"))},
    "SUBSTRING": {
        2: (("String", "Integer"), "String", _substring),
        3: (("String", "Integer", "Integer"), "String", _substring),
    },
    "ABS": {1: (("Integer",), "Integer", _abs)},
    "INT": {1: (("Any",), "Integer", _cast_to("Integer"))},
    "BOOL": {1: (("Any",), "Boolean", _cast_to("Boolean"))},
    "STRING": {1: (("Any",), "String", _cast_to("String"))},
    "IS_INT": {1: (("Any",), "Boolean", _castable("Integer"))},
    "IS_BOOL": {1: (("Any",), "Boolean", _castable("Boolean"))},
}
#: Fixed parameters of the variadic definitions (CONCAT: none; CONCAT_WS: the delimiter).
_FIXED: Final[dict[str, int]] = {"CONCAT": 0, "CONCAT_WS": 1}


def call(name: str, arguments: Sequence[Node]) -> Node:
    """A function invocation, dispatched by name and arity."""
    upper = name.upper()
    overloads = FUNCTIONS.get(upper, {})
    definition = overloads.get(len(arguments))
    if definition is None and -1 in overloads and len(arguments) >= _FIXED[upper]:
        _, returns, impl = overloads[-1]
        definition = (("String",) * len(arguments), returns, impl)  # every variadic is text
    if definition is None:
        message = f"no function {upper} taking {len(arguments)} argument(s)"

        def missing(attributes: Mapping[str, Value], errors: list[EvalError]) -> Value:
            errors.append(EvalError("missingFunction", message))
            return False

        return missing
    parameters, returns, impl = definition

    def invoke(attributes: Mapping[str, Value], errors: list[EvalError]) -> Value:
        count = len(errors)
        values: list[Value] = []
        for argument, parameter in zip(arguments, parameters, strict=True):
            value = argument(attributes, errors)
            if len(errors) > count:
                return _zero(returns)
            values.append(value if parameter == "Any" else cast(value, parameter, errors))
            if len(errors) > count:
                return _zero(returns)
        return impl(values, errors)

    return invoke
