"""CloudEvents SQL 1.0: the official TCK (vendored in tests/data/cesql_tck, with its source
and licence), syntax errors with their position, and the criterion `sql(...)` wherever
`match(...)` goes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_cloudevents.criteria.cesql import CESQLSyntaxError, parse

TCK = Path(__file__).parent / "data" / "cesql_tck"
#: A valid event the TCK's `eventOverrides` apply to.
BASE_EVENT: dict[str, Any] = {
    "specversion": "1.0",
    "id": "tck-id",
    "source": "/tck",
    "type": "com.example.tck",
}


def _cases() -> list[Any]:
    out = []
    for path in sorted(TCK.glob("*.yaml")):
        suite = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in suite["tests"]:
            out.append(pytest.param(case, id=f"{path.stem}: {case['name']}"))
    return out


def test_the_tck_is_all_there() -> None:
    assert len(list(TCK.glob("*.yaml"))) == 14
    assert len(_cases()) == 240


@pytest.mark.parametrize("case", _cases())
def test_tck(case: dict[str, Any]) -> None:
    """Each TCK case: the value, and the kind of the first error (or none)."""
    expected_error = case.get("error")
    if expected_error == "parse":
        with pytest.raises(CESQLSyntaxError):
            parse(case["expression"])
        return
    expression = parse(str(case["expression"]))
    event = dict(case.get("event") or BASE_EVENT)
    event.update(case.get("eventOverrides") or {})
    if "time" in event and not isinstance(event["time"], str):
        event["time"] = event["time"].isoformat()  # YAML read it as a datetime
    result = expression.evaluate(event)
    kinds = [e.kind for e in result.errors]
    if expected_error is None:
        assert kinds == [], result.errors
    else:
        assert kinds and kinds[0] == expected_error, result.errors
    if "result" in case:
        expected = case["result"]
        if not isinstance(expected, (str, int)):  # YAML read a timestamp as a datetime
            expected = expected.isoformat()
        assert result.value == expected and type(result.value) is type(expected), result


# -- syntax errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "column", "problem"),
    [
        ("type = ", 7, "ends too early"),
        ("a LIKE 5", 8, "expected one of STRING"),
        ("x = 99999999999", 5, "outside the 32-bit integers"),
        ("x = 2147483648", 5, "outside the 32-bit integers"),
        ("1 +* 2", 4, "unexpected '*'"),
        ("type = 'x' AND", 15, "ends too early"),  # just past the end
        ("'unterminated", 1, "unexpected character"),
    ],
)
def test_a_syntax_error_names_its_position(text: str, column: int, problem: str) -> None:
    with pytest.raises(CESQLSyntaxError) as caught:
        parse(text)
    assert caught.value.column == column and problem in str(caught.value)
    assert str(caught.value).splitlines()[-1].index("^") == column + 1  # the caret under it


def test_the_most_negative_integer_is_a_literal() -> None:
    assert parse("-2147483648").evaluate({}).value == -2147483648


def test_and_or_xor_group_to_the_right_as_the_spec_grammar_does() -> None:
    """One level for AND, OR and XOR, grouping to the right (the ANTLR grammar's
    `<assoc=right>`, which Knative's Go filters use): `false AND false OR true` is
    `false AND (false OR true)`."""
    assert parse("false AND false OR true").evaluate({}).value is False
    assert parse("(false AND false) OR true").evaluate({}).value is True
    assert parse("true OR false AND false").evaluate({}).value is True


def test_keywords_and_functions_are_case_insensitive_identifiers_are_not() -> None:
    event = {"type": "t", "order": "x"}
    assert parse("EXISTS order and type = 't'").matches(event)  # 'order' is not OR
    assert parse("lower(TYPE) = 't'").evaluate(event).errors[0].kind == "missingAttribute"


# -- properties ---------------------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def _keyword(word: str) -> st.SearchStrategy[str]:
    return st.sampled_from([word, word.lower(), word.title()])


_SPACE = st.sampled_from([" ", "  ", "\t", "\n"])
_NAMES = ["id", "source", "type", "subject", "a", "b", "n", "flag", "missing", "x1"]
_FUNCTIONS = ["LENGTH", "CONCAT", "CONCAT_WS", "LOWER", "upper", "TRIM", "LEFT", "RIGHT",
              "SUBSTRING", "ABS", "INT", "bool", "STRING", "IS_INT", "IS_BOOL", "NOPE"]  # fmt: skip
_STRING_TEXT = st.text(alphabet="ab%_\\'\" .", max_size=6)


def _string_literal(text: str, quote: str) -> str:
    return quote + text.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote


_ATOMS = st.one_of(
    st.integers(0, 2**31 + 5).map(str),  # the overflow is a syntax error, at its position
    st.builds(_string_literal, _STRING_TEXT, st.sampled_from(["'", '"'])),
    _keyword("TRUE"),
    _keyword("FALSE"),
    st.sampled_from(_NAMES),
    st.builds(lambda k, n: f"{k} {n}", _keyword("EXISTS"), st.sampled_from(_NAMES)),
)


def _compound(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """One rule of the grammar over smaller expressions."""
    binary = st.sampled_from(["+", "-", "*", "/", "%", "=", "!=", "<>", "<", "<=", ">", ">=",
                              "AND", "or", "XOR"])  # fmt: skip
    return st.one_of(
        st.builds(lambda a, op, b, s: f"{a}{s}{op}{s}{b}", inner, binary, inner, _SPACE),
        st.builds(lambda op, a: f"{op} {a}", st.sampled_from(["NOT", "not", "-"]), inner),
        st.builds(lambda a: f"({a})", inner),
        st.builds(
            lambda a, n, p: f"{a} {n}LIKE {_string_literal(p, chr(39))}",
            inner,
            st.sampled_from(["", "NOT "]),
            _STRING_TEXT,
        ),
        st.builds(
            lambda a, n, xs: f"{a} {n}IN ({', '.join(xs)})",
            inner,
            st.sampled_from(["", "NOT "]),
            st.lists(inner, min_size=1, max_size=3),
        ),
        st.builds(
            lambda f, xs: f"{f}({', '.join(xs)})",
            st.sampled_from(_FUNCTIONS),
            st.lists(inner, max_size=3),
        ),
    )


def _grammar_strings() -> st.SearchStrategy[str]:
    """Expressions built by the grammar's own rules (`grammar.py`: atoms, then each
    operator, LIKE, IN, EXISTS, calls and parentheses over smaller expressions), with the
    keywords in any case. (Hypothesis' `from_lark` draws from the same grammar but takes
    about a second an example here.)"""
    return st.recursive(_ATOMS, _compound, max_leaves=12)


_ATTRIBUTES = st.dictionaries(
    st.sampled_from(["id", "source", "type", "subject", "a", "b", "n", "flag"]),
    st.one_of(st.text(max_size=8), st.integers(-(2**31), 2**31 - 1), st.booleans()),
)


def _parses_or_names_a_position(text: str) -> Any:
    try:
        return parse(text)
    except CESQLSyntaxError as exc:
        assert 0 <= exc.position <= len(text) and exc.line >= 1 and exc.column >= 1
        return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_grammar_strings(), attributes=_ATTRIBUTES)
def test_every_expression_the_grammar_generates_parses_or_fails_with_a_position(
    text: str, attributes: dict[str, Any]
) -> None:
    """Generated from the grammar itself: a parse, or a CESQLSyntaxError with a position
    in the text, never anything else; and what parses evaluates, never raises, to one of
    CESQL's types."""
    expression = _parses_or_names_a_position(text)
    if expression is not None:
        result = expression.evaluate(attributes)
        assert type(result.value) in (bool, int, str)
        assert all(e.kind in ("math", "cast", "missingAttribute", "missingFunction",
                              "functionEvaluation") for e in result.errors)  # fmt: skip
        if type(result.value) is int:
            assert -(2**31) <= result.value <= 2**31 - 1


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=60))
def test_any_text_parses_or_fails_with_a_position(text: str) -> None:
    _parses_or_names_a_position(text)


def test_deep_nesting_is_a_syntax_error_not_a_crash() -> None:
    text = "(" * 5000 + "1" + ")" * 5000
    try:
        assert parse(text).evaluate({}).value == 1
    except CESQLSyntaxError as exc:
        assert "nested too deeply" in str(exc)


# -- sql(...) wherever match(...) goes ------------------------------------------------------

import requests  # noqa: E402

from pytest_cloudevents import Client, EventFactory, Receiver, faults, match, sql  # noqa: E402


def test_sql_in_waits_assertions_attempts_and_rules(
    ce_receiver: Receiver, ce_client: Client
) -> None:
    factory = EventFactory(seed=5)
    ce_receiver.inject(faults.status(503), times=1, when=sql("type LIKE '%.retry'"))
    retried = factory.make("com.example.retry", subject="s1")
    plain = factory.make("com.example.plain")
    assert ce_client.send(retried, to=ce_receiver.url).status == 503
    assert ce_client.send(retried, to=ce_receiver.url).status == 202
    assert ce_client.send(plain, to=ce_receiver.url).status == 202
    [got] = ce_receiver.wait_for(sql("type = 'com.example.retry' AND EXISTS subject"))
    assert got.get_attributes()["subject"] == "s1"
    ce_receiver.assert_received(sql("type LIKE 'com.example.%'"), count=2)
    assert ce_receiver.attempts(sql("EXISTS subject")).statuses == [503, 202]
    assert ce_receiver.matching(sql("type = 'x'") | match(type="com.example.plain"))
    with pytest.raises(AssertionError, match="missingAttribute"):
        ce_receiver.assert_received(sql("nope = 'x'"), timeout=0.1)


def test_sql_raises_at_the_call_with_the_position() -> None:
    with pytest.raises(CESQLSyntaxError, match="column 18"):
        sql("type LIKE 'x' AND")
    with pytest.raises(TypeError, match="a string"):
        sql(3)  # type: ignore[arg-type]


def test_sql_through_the_control_api_and_a_remote_receiver(pytester: pytest.Pytester) -> None:
    """`--ce-remote`: waits evaluate sql(...) on the mirrored log; inject(when=sql(...))
    travels as {"$sql": ...} and the standalone receiver evaluates it; a bad expression
    in the API's `sql=` query is a 400 naming the position."""
    from standalone import serve

    served = serve()
    try:
        bad = requests.get(served.url + "_ce/deliveries", params={"sql": "type ="}, timeout=5)
        assert bad.status_code == 400 and "column" in bad.json()["error"]
        pytester.makepyfile(
            """
            import requests
            from pytest_cloudevents import RemoteReceiver, faults, sql

            def headers(kind, extra=None):
                out = {"ce-specversion": "1.0", "ce-id": kind, "ce-source": "/s",
                       "ce-type": kind}
                out.update(extra or {})
                return out

            def test_remote_sql(ce_receiver):
                assert isinstance(ce_receiver, RemoteReceiver)
                ce_receiver.inject(faults.status(503), times=1,
                                   when=sql("type LIKE 'com.example.flaky%'"))
                url = ce_receiver.url
                assert requests.post(url, headers=headers("com.example.flaky")).status_code == 503
                assert requests.post(url, headers=headers("com.example.flaky")).status_code == 202
                requests.post(url, headers=headers("com.example.other", {"ce-n": "7"}))
                ce_receiver.wait_for(sql("n > 5 AND type = 'com.example.other'"))
                ce_receiver.assert_received(sql("EXISTS id"), count=2)
            """
        )
        result = pytester.runpytest("-p", "no:randomly", f"--ce-remote={served.url}")
        result.assert_outcomes(passed=1)
        page = requests.get(
            served.url + "_ce/deliveries", params={"sql": "int(n) = 7"}, timeout=5
        ).json()
        assert [d["events"][0]["type"] for d in page["deliveries"]] == ["com.example.other"]
    finally:
        assert served.stop() == 0
