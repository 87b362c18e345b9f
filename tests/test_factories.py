"""Event factories and the invalid-message catalogue."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest
import requests
from helpers import attr, when

from pytest_cloudevents import EventFactory, InvalidCase, Receiver, invalid_messages
from pytest_cloudevents.events import attributes_of as event_attributes
from pytest_cloudevents.spec.codes import MUST_CODES
from pytest_cloudevents.wire import decode, encode_binary, encode_structured

ORDER = "com.example.order.created"


def _fingerprint(factory: EventFactory) -> list[tuple[str, object]]:
    factory.define(ORDER, data=lambda fake: {"name": fake.name(), "total": fake.pyint()})
    return [(attr(e, "id"), e.get_data()) for e in factory.make_many(5, ORDER)]


def test_the_same_seed_gives_the_same_events() -> None:
    assert _fingerprint(EventFactory(7)) == _fingerprint(EventFactory(7))
    assert _fingerprint(EventFactory(7)) != _fingerprint(EventFactory(8))


def test_make_fills_the_required_attributes() -> None:
    event = EventFactory(1).make(ORDER, data={"id": 1}, subject="o-1")
    attrs = event.get_attributes()
    assert attrs["specversion"] == "1.0"
    assert attrs["source"] == "/pytest-cloudevents"
    assert attrs["datacontenttype"] == "application/json"
    assert attrs["subject"] == "o-1"
    assert when(event).tzinfo is not None  # type: ignore[union-attr]
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", attrs["id"]
    )


def test_templates_and_overrides_compose() -> None:
    factory = EventFactory(3)
    factory.define(
        ORDER,
        source="/orders",
        subject=lambda fake: f"order-{fake.pyint()}",
        data=lambda fake: {"order_id": fake.uuid4()},
    )
    templated = factory.make(ORDER)
    assert attr(templated, "source") == "/orders"
    assert str(attr(templated, "subject")).startswith("order-")
    assert set(templated.get_data() or ()) == {"order_id"}
    overridden = factory.make(ORDER, source="/other", data={"x": 1}, tenant="acme")
    assert attr(overridden, "source") == "/other"
    assert overridden.get_data() == {"x": 1}
    assert attr(overridden, "tenant") == "acme"
    assert str(attr(overridden, "subject")).startswith("order-")  # the template still applies
    assert factory.make("com.example.other").get_attributes()["source"] == "/pytest-cloudevents"


@pytest.mark.parametrize("seed", range(5))
def test_every_event_made_passes_the_strict_checks_in_each_mode(seed: int) -> None:
    factory = EventFactory(seed)
    factory.define(
        ORDER,
        data=lambda fake: {"name": fake.name(), "address": fake.address(), "n": fake.pyint()},
        subject=lambda fake: fake.sentence(),
    )
    events = [
        *factory.make_many(10, ORDER),
        factory.make("com.example.text", data="plain", datacontenttype="text/plain"),
        factory.make("com.example.bytes", data=b"\x00\x01"),
        factory.make(
            ORDER,
            traceparent=factory.traceparent(),
            sequence=factory.sequence(),
            partitionkey=factory.partitionkey(),
        ),
    ]
    for event in events:
        for encoder in (encode_binary, encode_structured):
            decoded = decode(*encoder(event))
            assert decoded.violations == [] and decoded.warnings == []
            assert attr(decoded.events[0], "id") == attr(event, "id")
            assert event_attributes(decoded.events[0])["type"] == attr(event, "type")


@pytest.mark.parametrize(
    ("kwargs", "rule"),
    [
        ({"Bad": "x"}, "extension-name-invalid"),
        ({"ratio": 0.5}, "attribute-type"),
        ({"source": "/a b"}, "source-not-uri-reference"),
        ({"dataschema": "schema.json"}, "dataschema-not-absolute-uri"),
        ({"averyveryverylongextensionname": "x"}, "extension-name-too-long"),
        ({"subject": ""}, "empty-attribute"),
    ],
)
def test_invalid_attributes_raise_naming_the_rule(kwargs: dict[str, object], rule: str) -> None:
    with pytest.raises(ValueError, match=rule):
        EventFactory(0).make(ORDER, **kwargs)


def test_a_type_without_reverse_dns_is_refused() -> None:
    with pytest.raises(ValueError, match="type-not-reverse-dns"):
        EventFactory(0).make("OrderCreated")
    with pytest.raises(TypeError, match="event type first"):
        EventFactory(0).make({"type": "x"})  # type: ignore[arg-type]


def test_extension_helpers() -> None:
    factory = EventFactory(5)
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", factory.traceparent())
    first, second = factory.sequence(), factory.sequence()
    assert first < second and len(first) == len(second)
    assert EventFactory(5).partitionkey() == EventFactory(5).partitionkey()


def test_the_catalogue_has_a_case_for_every_must_rule() -> None:
    codes = {case.code for case in invalid_messages()}
    assert codes - set(MUST_CODES) == {"unsupported-encoding", "invalid-encoding"}  # policy
    assert set(MUST_CODES) <= codes, f"MUST rules without a case: {set(MUST_CODES) - codes}"
    ids = [case.id for case in invalid_messages()]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case", invalid_messages(), ids=lambda c: c.id)
def test_every_invalid_message_is_rejected_with_exactly_its_code(
    ce_receiver: Receiver, case: InvalidCase
) -> None:
    response = requests.post(ce_receiver.url, headers=case.headers, data=case.body, timeout=10)
    assert response.status_code in (400, 413, 415)
    assert case.code in response.text
    [delivery] = ce_receiver.assert_rejected(count=1)
    assert set(delivery.codes) == {case.code}, case.description


SEEDED = """
def test_first(ce_events):
    event = ce_events.make("com.example.order.created", data=lambda fake: {"n": fake.name()})
    print("EVENT", event.get_attributes()["id"], event.get_data()["n"])
    assert False, "fail to show the seed"

def test_second(ce_events):
    print("EVENT", ce_events.make("com.example.order.created").get_attributes()["id"])
    assert False
"""


def _printed(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if line.startswith("EVENT ")]


def test_a_failing_test_prints_its_seed_and_the_seed_reproduces_it(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_seeded=SEEDED)
    first = pytester.runpytest("-p", "no:randomly", "-k", "first")
    first.assert_outcomes(failed=1)
    [seed_line] = [line for line in first.outlines if line.startswith("seed: --ce-seed=")]
    seed = seed_line.split("=", 1)[1].split()[0]  # the base seed, as the report gives it
    again = pytester.runpytest("-p", "no:randomly", "-k", "first", f"--ce-seed={seed}")
    assert _printed(again) == _printed(first) and _printed(first)
    other = pytester.runpytest("-p", "no:randomly", "-k", "first", "--ce-seed=99")
    assert _printed(other) != _printed(first)


def test_different_tests_get_different_events(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_seeded=SEEDED)
    result = pytester.runpytest("-p", "no:randomly")
    first, second = _printed(result)
    assert first.split()[1] != second.split()[1]
    repeat = pytester.runpytest("-p", "no:randomly")
    assert _printed(repeat) == [first, second]


def test_the_marker_seed_wins(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_marked="""
        import pytest
        from pytest_cloudevents import EventFactory

        @pytest.mark.cloudevents(seed=5)
        def test_x(ce_events):
            expected = EventFactory(5).make("com.example.x").get_attributes()["id"]
            assert ce_events.make("com.example.x").get_attributes()["id"] == expected
        """
    )
    pytester.runpytest("--ce-seed=1").assert_outcomes(passed=1)


DUMPING = """
import json, os
from pathlib import Path
from pytest_cloudevents import event_dict

def dump(name, events):
    out = Path(os.environ["EVENTS_OUT"]) / name
    out.write_text("\\n".join(json.dumps(event_dict(e), sort_keys=True) for e in events))

def test_a(ce_events):
    dump("a", ce_events.make_many(3, "com.example.a", data=lambda fake: {"n": fake.name()}))

def test_b(ce_events):
    dump("b", ce_events.make_many(3, "com.example.a", data=lambda fake: {"n": fake.name()}))
"""


def _dumped(pytester: pytest.Pytester, *args: str) -> dict[str, str]:
    out = pytester.mkdir(f"out-{len(list(pytester.path.glob('out-*')))}")
    pytester.makepyfile(test_dumping=DUMPING)
    import os

    os.environ["EVENTS_OUT"] = str(out)
    try:
        result = pytester.runpytest_subprocess(*args)
    finally:
        del os.environ["EVENTS_OUT"]
    result.assert_outcomes(passed=2)
    return {p.name: p.read_text() for p in out.iterdir()}


@pytest.mark.once
def test_the_same_base_seed_makes_byte_identical_events_everywhere(
    pytester: pytest.Pytester,
) -> None:
    """Ids, times and data, across runs, processes and xdist workers, with or without
    pytest-randomly; and two tests never share ids."""
    plain = _dumped(pytester, "-p", "no:randomly", "--ce-seed=7")
    assert plain == _dumped(pytester, "-n", "2", "--ce-seed=7", "-p", "randomly")
    assert plain != _dumped(pytester, "-p", "no:randomly", "--ce-seed=8")
    ids = {tuple(json.loads(line)["id"] for line in text.splitlines()) for text in plain.values()}
    assert len(ids) == 2  # test_a and test_b made different events
    times = [json.loads(line)["time"] for line in plain["a"].splitlines()]
    assert len(set(times)) == 3 and times == sorted(times)  # a seeded clock, one second apart
    randomly = _dumped(pytester, "-p", "randomly")
    assert randomly["a"] != randomly["b"]  # before: pytest-randomly gave both one seed


def test_the_clock_is_seeded_and_now_is_on_request() -> None:
    first, second = EventFactory(3), EventFactory(3)
    a, b = first.make("com.example.t"), second.make("com.example.t")
    assert a.get_attributes()["time"] == b.get_attributes()["time"]
    later = first.make("com.example.t")
    assert when(later) - when(a) == timedelta(seconds=1)  # type: ignore[operator]
    now = first.make("com.example.t", time="now")
    assert abs((when(now) - datetime.now(timezone.utc)).total_seconds()) < 60  # type: ignore[operator]
    fixed = datetime(2030, 5, 6, tzinfo=timezone.utc)
    assert when(EventFactory(clock=lambda: fixed).make("com.example.t")) == fixed
    with pytest.raises(TypeError, match="clock takes a function"):
        EventFactory(clock=fixed)  # type: ignore[arg-type]
