"""match(...): regexes, predicates, ==, dirty-equals, approx, and explanations."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from dirty_equals import IsPartialDict, IsStr
from helpers import attr

from pytest_cloudevents import match
from pytest_cloudevents.criteria.match import closest, combine
from pytest_cloudevents.events import CloudEvent, new_event


def event(**attrs: object) -> CloudEvent:
    data = attrs.pop("data", None)
    base = {"id": "1", "source": "/s", "type": "com.example.order.created", "specversion": "1.0"}
    return new_event({**base, **attrs}, data)


def test_equality_regex_and_predicate() -> None:
    e = event(subject="order-42", data={"total": 9.99, "items": 3})
    assert match(type="com.example.order.created").matches(e)
    assert match(subject=re.compile(r"order-\d+")).matches(e)
    assert not match(subject=re.compile(r"order-\d")).matches(e)  # fullmatch, not search
    assert match(data=lambda d: d["items"] > 2).matches(e)
    assert match(data=dict).matches(e)
    assert not match(data=list).matches(e)


def test_dirty_equals_and_approx_work_unchanged() -> None:
    e = event(data={"total": 9.990000001, "id": "x"})
    assert match(data=IsPartialDict(id="x")).matches(e)
    assert match(id=IsStr(regex=r"\d")).matches(e)
    assert match(data={"total": pytest.approx(9.99), "id": "x"}).matches(e)


def test_missing_attribute_never_matches() -> None:
    assert not match(subject=None).matches(event())
    assert match(subject="x").explain(event()) == ["subject: expected 'x', it is missing"]


def test_binary_string_extensions_compare_through_canonical_form() -> None:
    e = event(flag="true", count="42")
    assert match(flag=True, count=42).matches(e)
    assert not match(flag=False).matches(e)


def test_time_compares_with_rfc3339_string() -> None:
    e = event(time=datetime(2018, 4, 5, 17, 31, tzinfo=timezone.utc))
    assert match(time="2018-04-05T17:31:00Z").matches(e)
    assert match(time=re.compile(r"2018-04-05T.*")).matches(e)


def test_match_compares_equal_to_a_matching_event() -> None:
    e = event()
    assert e == match(type="com.example.order.created")
    assert match(type="com.example.order.created") == e
    assert e != match(type="other")


def test_explain_lists_every_difference() -> None:
    e = event(subject="a", data={"x": 1})
    lines = match(type="t", subject=re.compile("b"), data={"x": 1}).explain(e)
    assert lines == [
        "type: expected 't', got 'com.example.order.created'",
        "subject: expected matching /b/, got 'a'",
    ]


def test_combine_and_closest() -> None:
    m = combine(match(type="com.example.order.created"), {"subject": "b"})
    assert repr(m) == "match(type='com.example.order.created') & match(subject='b')"
    events = [event(subject="a", type="x"), event(subject="a")]
    best = closest(m, events)
    assert best is not None and best[0] is events[1]
    assert best[1] == ["subject: expected 'b', got 'a'"]
    assert combine(lambda e: attr(e, "id") == "1", {}).matches(event())
    with pytest.raises(TypeError, match="pass criteria as keywords"):
        combine("com.example", {})  # type: ignore[arg-type]


def test_and_is_a_real_conjunction_even_on_one_attribute() -> None:
    """Before: `match(type="b") & match(type="a")` merged the dicts and matched "a"."""
    both = match(type="b") & match(type="a")
    assert not both.matches(event(type="a")) and not both.matches(event(type="b"))
    assert (match(type="a") & match(subject="s")).matches(event(type="a", subject="s"))
    assert both.explain(event(type="a")) == ["type: expected 'b', got 'a'"]


def test_or_and_not() -> None:
    either = match(type="a") | match(type="b")
    assert either.matches(event(type="a")) and either.matches(event(type="b"))
    assert not either.matches(event(type="c"))
    assert either.explain(event(type="c"))[0].startswith("none of ")
    other = ~match(type="a")
    assert other.matches(event(type="b")) and not other.matches(event(type="a"))
    assert repr(other) == "~match(type='a')"
    assert event(type="b") == ~match(type="a")


def test_equal_matchers_hash_equal() -> None:
    assert match(type="a") == match(type="a")
    assert hash(match(type="a")) == hash(match(type="a"))
    assert len({match(type="a"), match(type="a"), match(type="b")}) == 2
    assert hash(match(data={"a": 1})) == hash(match(data={"a": 1}))  # unhashable values
    assert match(type="a") & match(subject="b") == match(type="a") & match(subject="b")
    assert match(type="a") != match(type="b")


def test_a_predicate_is_shown_by_its_source() -> None:
    m = match(data=lambda d: d["total"] > 0)
    assert repr(m) == 'match(data=lambda d: d["total"] > 0)'
    assert m.explain(event(data={"total": 0})) == [
        "data: expected satisfying lambda d: d[\"total\"] > 0, got {'total': 0}"
    ]


def test_events_compared_with_events_show_a_json_diff(pytester: pytest.Pytester) -> None:
    """Before: a failed comparison printed `<CloudEvent object at 0x...>` on both sides."""
    pytester.makepyfile(
        """
        from pytest_cloudevents import EventFactory

        def test_diff():
            a = EventFactory(1).make("com.example.t", data={"n": 1})
            b = EventFactory(1).make("com.example.t", data={"n": 2})
            assert [a] == [b]
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*CloudEvents differ*", '*-*"n": 1*', '*+*"n": 2*'])
