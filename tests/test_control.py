"""The control API of a standalone receiver: long-polling, rules, the stream, the token,
and errors that are always 4xx with a message, never a 500."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator

import pytest
import requests
from helpers import binary

from pytest_cloudevents.control import Standalone

TOKEN = "s3cret"


@pytest.fixture
def standalone() -> Iterator[Standalone]:
    with Standalone() as receiver:
        yield receiver


def api(receiver: Standalone, name: str = "") -> str:
    return receiver.control_url + name


def post_event(receiver: Standalone, event_id: str, **headers: str) -> int:
    return requests.post(
        receiver.url, headers=binary(ce_id=event_id, **headers), data=b"{}"
    ).status_code


def test_deliveries_are_listed_with_events_violations_and_a_cursor(standalone: Standalone) -> None:
    post_event(standalone, "a-1")
    requests.post(standalone.url_for("/x"), headers=binary(ce_id=None), data=b"{}")
    doc = requests.get(api(standalone, "deliveries")).json()
    assert doc["next"] == 2 and doc["generation"] == 0
    first, second = doc["deliveries"]
    assert first["events"][0]["id"] == "a-1" and first["outcome"] == "accepted"
    assert second["outcome"] == "rejected" and second["path"] == "/x"
    assert [v["code"] for v in second["violations"]] == ["missing-id"]
    assert (
        requests.get(api(standalone, "deliveries"), params={"after": 2}).json()["deliveries"] == []
    )
    # the control API's own requests are never recorded
    assert len(standalone.deliveries) == 2


def test_filters_by_outcome_and_attribute(standalone: Standalone) -> None:
    post_event(standalone, "a-1")
    post_event(standalone, "a-2", ce_type="com.example.other")
    requests.post(standalone.url, headers=binary(ce_id=None), data=b"{}")
    got = requests.get(api(standalone, "deliveries"), params={"type": "com.example.other"}).json()
    assert [d["events"][0]["id"] for d in got["deliveries"]] == ["a-2"]
    rejected = requests.get(api(standalone, "deliveries"), params={"outcome": "rejected"}).json()
    assert len(rejected["deliveries"]) == 1 and rejected["next"] == 3


def test_a_long_poll_returns_when_a_delivery_is_answered(standalone: Standalone) -> None:
    ready = threading.Event()

    def later() -> None:
        ready.wait(5)
        post_event(standalone, "late")

    sender = threading.Thread(target=later)
    sender.start()
    ready.set()
    doc = requests.get(api(standalone, "deliveries"), params={"after": 0, "wait": 30}).json()
    sender.join()
    assert [d["events"][0]["id"] for d in doc["deliveries"]] == ["late"]


def test_a_long_poll_with_nothing_new_ends_at_its_wait(standalone: Standalone) -> None:
    doc = requests.get(api(standalone, "deliveries"), params={"wait": 0.2}).json()
    assert doc == {
        "generation": 0,
        "next": 0,
        "more": False,
        "evicted": 0,
        "missed": 0,
        "deliveries": [],
    }


def test_rules_are_added_listed_used_and_cleared(standalone: Standalone) -> None:
    rule = {"fault": "status", "code": 503, "body": "busy", "times": 1, "when": {"id": "r-1"}}
    made = requests.post(api(standalone, "rules"), json=rule)
    assert made.status_code == 201
    assert made.json()["fault"] == {"fault": "status", "code": 503, "body": "busy"}
    assert post_event(standalone, "other") == 202
    assert post_event(standalone, "r-1") == 503
    [listed] = requests.get(api(standalone, "rules")).json()
    assert (listed["hits"], listed["when"]) == (1, {"id": "r-1"})
    delay = {"fault": "delay", "seconds": 0.01, "then": {"fault": "throttle", "retry_after": 3}}
    assert requests.post(api(standalone, "rules"), json=delay).status_code == 201
    answered = requests.post(standalone.url, headers=binary(ce_id="t"), data=b"{}")
    assert (answered.status_code, answered.headers["Retry-After"]) == (429, "3")
    assert requests.delete(api(standalone, "rules")).json() == []
    assert post_event(standalone, "after") == 202


def test_reset_forgets_deliveries_and_rules(standalone: Standalone) -> None:
    post_event(standalone, "a-1")
    requests.post(api(standalone, "rules"), json={"fault": "disconnect"})
    assert requests.post(api(standalone, "reset")).json() == {"generation": 1}
    assert requests.get(api(standalone, "rules")).json() == []
    assert post_event(standalone, "a-2") == 202
    doc = requests.get(api(standalone, "deliveries")).json()
    assert doc["generation"] == 1 and len(doc["deliveries"]) == 1


BAD_RULES = [
    (b"{nope", "not JSON"),
    (b"[]", "a rule is a JSON object"),
    (b'"status"', "a rule is a JSON object"),
    (b"null", "a rule is a JSON object"),
    (b'{"fault": "explode"}', "one of"),
    (b'{"code": 503}', "one of"),
    (b'{"fault": "status", "code": 99}', "200 to 599"),
    (b'{"fault": "status", "code": "503"}', "whole number"),
    (b'{"fault": "status", "code": 204, "body": "x"}', "204"),
    (b'{"fault": "status", "code": 503, "colour": "red"}', "unknown: colour"),
    (b'{"fault": "throttle", "retry_after": -1}', "retry_after"),
    (b'{"fault": "throttle", "retry_after": "soon"}', "HTTP date"),
    (b'{"fault": "delay", "seconds": "a while"}', "seconds"),
    (b'{"fault": "delay", "seconds": 1e999}', "delay"),
    (b'{"fault": "delay", "seconds": 1, "then": {"fault": "flaky"}}', "flaky"),
    (b'{"fault": "flaky", "probability": 2, "of": {"fault": "disconnect"}}', "probability"),
    (b'{"fault": "reply", "event": {"id": "1"}}', "breaks the CloudEvents spec"),
    (b'{"fault": "reply", "event": "x"}', "JSON object"),
    (b'{"fault": "disconnect", "times": 0}', "times"),
    (b'{"fault": "disconnect", "when": "type=x"}', "when is a JSON object"),
    (b'{"fault": "disconnect", "when": {"$any": []}}', "non-empty list"),
    (b'{"fault": "disconnect", "when": {"$oops": 1}}', "unknown criterion"),
    (b'{"fault": "disconnect", "when": {"id": {"$regex": "("}}}', "does not compile"),
    (b'{"fault": "status", "code": 503, "body_base64": "%%%"}', "status fault"),
    (b"\xff\xfe", "not JSON"),
]


@pytest.mark.parametrize(("body", "says"), BAD_RULES, ids=[s for _, s in BAD_RULES])
def test_bad_json_gets_400_with_a_message_never_500(
    standalone: Standalone, body: bytes, says: str
) -> None:
    answer = requests.post(api(standalone, "rules"), data=body)
    assert answer.status_code == 400, answer.text
    assert says in answer.json()["error"]
    assert requests.get(api(standalone, "rules")).json() == []


@pytest.mark.parametrize(
    ("params", "says"),
    [({"after": "x"}, "whole number"), ({"wait": "-1"}, "negative"), ({"wait": "nan"}, "finite")],
)
def test_bad_query_values_get_400(
    standalone: Standalone, params: dict[str, str], says: str
) -> None:
    answer = requests.get(api(standalone, "deliveries"), params=params)
    assert answer.status_code == 400 and says in answer.json()["error"]


def test_unknown_paths_and_methods(standalone: Standalone) -> None:
    assert requests.get(api(standalone, "nothing")).status_code == 404
    wrong = requests.put(api(standalone, "rules"))
    assert wrong.status_code == 405 and "GET, POST, DELETE" in wrong.json()["error"]
    assert requests.post(api(standalone, "page.js")).status_code == 405
    assert len(standalone.deliveries) == 0


def test_the_token_guards_everything_but_health_and_the_pages_files() -> None:
    with Standalone(token=TOKEN) as receiver:
        assert requests.get(api(receiver, "health")).status_code == 200
        for method, name in [
            ("GET", "deliveries"),
            ("POST", "reset"),
            ("GET", "rules"),
            ("POST", "rules"),
            ("DELETE", "rules"),
            ("GET", "stream"),
        ]:
            refused = requests.request(method, api(receiver, name), timeout=5)
            assert refused.status_code == 401, (method, name)
            assert refused.headers["WWW-Authenticate"] == "Bearer"
        wrong = {"Authorization": "Bearer nope"}
        assert requests.get(api(receiver, "rules"), headers=wrong).status_code == 401
        right = {"Authorization": f"Bearer {TOKEN}"}
        assert requests.get(api(receiver, "rules"), headers=right).json() == []
        assert requests.get(api(receiver, "rules"), params={"token": TOKEN}).status_code == 200
        assert requests.get(api(receiver)).status_code == 200  # the page: no data in it
        assert requests.get(api(receiver, "page.js")).status_code == 200
        assert receiver.deliveries == []


def test_the_stream_sends_deliveries_as_they_are_answered_and_resets(
    standalone: Standalone,
) -> None:
    post_event(standalone, "before")
    with requests.get(api(standalone, "stream"), params={"after": 0}, stream=True, timeout=10) as r:
        assert r.headers["Content-Type"] == "text/event-stream"
        lines = r.iter_lines(decode_unicode=True)
        seen: list[tuple[str, str]] = []
        kind = ""
        for line in lines:
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
                seen.append((kind, data["events"][0]["id"] if kind == "delivery" else ""))
                if len(seen) == 1:
                    post_event(standalone, "during")
                elif len(seen) == 2:
                    requests.post(api(standalone, "reset"))
                else:
                    break
    assert seen == [("delivery", "before"), ("delivery", "during"), ("reset", "")]


def test_the_page_is_served_from_the_package(standalone: Standalone) -> None:
    page = requests.get(api(standalone))
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert 'src="page.js"' in page.text and 'href="page.css"' in page.text
    script = requests.get(api(standalone, "page.js")).text
    style = requests.get(api(standalone, "page.css")).text
    assert "EventSource" in script
    # no CDN, no build step: nothing is fetched from anywhere but this receiver
    for text in (page.text, script, style):
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", text)
