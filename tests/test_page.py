"""The live page in a real headless browser (Debian's chromium, driven by Playwright):
deliveries appear as they are answered, filters work, the detail view shows violations,
and the timeline draws one mark per attempt. `make test-browser` installs chromium where
it can; elsewhere this module skips, saying so."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from helpers import binary

from pytest_cloudevents import Client, EventFactory, faults, retry
from pytest_cloudevents.control import Standalone

#: SDK-independent (the page is JavaScript over the control API's JSON): not in every SDK session
pytestmark = pytest.mark.once

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip(
        "the live page test needs Debian's chromium: run `make test-browser` (as root it"
        " installs it with apt)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the live page test needs playwright: run `make test-browser`"
)

DOCS = Path(__file__).resolve().parent.parent / "docs"
TOKEN = "page-token"
#: Flags for a machine with no network beyond loopback (see the README's browser notes).
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def standalone() -> Iterator[Standalone]:
    with Standalone(token=TOKEN) as receiver:
        yield receiver


@pytest.fixture
def page(browser: Any, standalone: Standalone) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 800})
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    opened.goto(f"{standalone.control_url}?token={TOKEN}")
    opened.wait_for_selector("#status[data-state='live']")
    yield opened
    context.close()


def rows(page: Any) -> list[str]:
    return [str(text) for text in page.locator("#rows tr td.id").all_inner_texts()]


def test_deliveries_appear_without_reload_newest_first(page: Any, standalone: Standalone) -> None:
    for event_id in ("first", "second"):
        requests.post(standalone.url, headers=binary(ce_id=event_id), data=b"{}")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 2")
    assert rows(page) == ["second", "first"]
    assert page.locator("#rows tr").first.get_attribute("data-outcome") == "accepted"


def test_filters_narrow_the_list(page: Any, standalone: Standalone) -> None:
    requests.post(standalone.url, headers=binary(ce_id="a", ce_type="com.example.a"), data=b"{}")
    requests.post(standalone.url, headers=binary(ce_id="b", ce_type="com.example.b"), data=b"{}")
    requests.post(standalone.url, headers=binary(ce_id=None), data=b"{}")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 3")
    page.fill("#f-type", "com.example.b")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 1")
    assert rows(page) == ["b"]
    page.fill("#f-type", "")
    page.select_option("#f-outcome", "rejected")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 1")
    assert page.locator("#rows tr").first.get_attribute("data-outcome") == "rejected"
    page.select_option("#f-outcome", "")
    page.fill("#f-text", "com.example.a")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 1")
    assert rows(page) == ["a"]
    standalone.reset()


def test_the_cesql_box_filters_by_a_cloudevents_sql_expression(
    page: Any, standalone: Standalone
) -> None:
    """The receiver evaluates the expression; the page shows what it lets through, and a
    syntax error with its position under the box."""
    for event_id, kind in (("o1", "com.example.order.placed"), ("p1", "com.example.pay.done")):
        requests.post(standalone.url, headers=binary(ce_id=event_id, ce_type=kind), data=b"{}")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 2")
    page.fill("#f-sql", "type LIKE 'com.example.order.%' AND EXISTS id")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 1")
    assert rows(page) == ["o1"]
    requests.post(
        standalone.url, headers=binary(ce_id="o2", ce_type="com.example.order.x"), data=b"{}"
    )
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 2")  # live too
    assert rows(page) == ["o2", "o1"]
    page.fill("#f-sql", "type LIKE")
    page.wait_for_function("document.getElementById('f-sql-error').textContent.includes('column')")
    assert "CESQL syntax error" in page.locator("#f-sql-error").inner_text()
    page.fill("#f-sql", "")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 3")


def test_the_detail_view_shows_violations_with_their_rule_text(
    page: Any, standalone: Standalone
) -> None:
    requests.post(standalone.url, headers=binary(ce_id=None), data=b'{"n": 1}')
    page.click("#rows tr[data-outcome='rejected']")
    page.wait_for_selector("#detail:not([hidden])")
    violation = page.locator("#violations li[data-code='missing-id']")
    assert "the required attribute 'id' is missing" in violation.inner_text()
    assert '{"n": 1}' in page.inner_text("#body")
    assert "ce-source: /tests" in page.inner_text("#headers")
    standalone.reset()


def test_the_timeline_draws_one_mark_per_attempt(
    page: Any, standalone: Standalone, tmp_path: Path
) -> None:
    standalone.inject(faults.status(503), times=2)
    event = EventFactory(1).make("com.example.order.created", data={"total": 3})
    with Client(standalone.url, retry=retry.knative(3, delay=0.05)) as client:
        assert client.send(event).attempts == 3
    requests.post(standalone.url, headers=binary(ce_id=None), data=b"{}")  # a rejection too
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 4")
    page.locator("#rows tr[data-outcome='accepted']").click()
    page.wait_for_function("document.querySelectorAll('#timeline circle.mark').length === 3")
    marks = page.locator("#timeline circle.mark")
    assert [marks.nth(i).get_attribute("class") for i in range(3)] == [
        "mark mark-bad",
        "mark mark-bad",
        "mark mark-ok",
    ]
    gaps = page.locator("#timeline text.gap").all_text_contents()
    assert len(gaps) == 2 and all(g.startswith("+") and g.endswith(" s") for g in gaps)
    standalone.reset()


def test_the_page_follows_a_reset(page: Any, standalone: Standalone) -> None:
    requests.post(standalone.url, headers=binary(), data=b"{}")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 1")
    standalone.reset()
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 0")


def test_the_rate_graph_draws_the_last_minute_by_outcome(page: Any, standalone: Standalone) -> None:
    for n in range(5):
        requests.post(standalone.url, headers=binary(ce_id=f"r{n}"), data=b"{}")
    requests.post(standalone.url, headers=binary(ce_id=None), data=b"{}")
    page.wait_for_function(
        "[...document.querySelectorAll('#rate rect.bar')]"
        ".reduce((n, r) => n + Number(r.dataset.count), 0) === 6"
    )
    outcomes = {
        str(r.get_attribute("data-outcome")): int(r.get_attribute("data-count") or 0)
        for r in page.locator("#rate rect.bar").all()
        if r.get_attribute("data-outcome") == "rejected"
    }
    assert outcomes == {"rejected": 1}
    assert "/s now" in page.inner_text("#rate-now")
    standalone.reset()


def test_grouping_counts_by_attribute_and_a_group_filters_the_list(
    page: Any, standalone: Standalone
) -> None:
    for n, kind in enumerate(["com.example.a", "com.example.a", "com.example.b"]):
        requests.post(standalone.url, headers=binary(ce_id=f"g{n}", ce_type=kind), data=b"{}")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 3")
    page.select_option("#group", "type")
    page.wait_for_selector("#groups:not([hidden])")
    groups = page.locator("#group-rows tr")
    assert groups.count() == 2
    assert groups.first.get_attribute("data-group") == "com.example.a"
    assert groups.first.locator("td").nth(1).inner_text() == "2"
    page.click("#group-rows tr[data-group='com.example.b']")
    page.wait_for_selector("#deliveries:not([hidden])")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 1")
    assert rows(page) == ["g2"]
    standalone.reset()


def test_resend_records_the_delivery_again_and_compose_sends_a_new_event(
    page: Any, standalone: Standalone
) -> None:
    requests.post(
        standalone.url + "orders?x=1",
        headers=binary(ce_id="once", authorization="Bearer secret"),
        data=b'{"total": 3}',
    )
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 1")
    page.click("#rows tr")
    page.click("#resend")
    page.wait_for_function("document.getElementById('resent').dataset.status === '202'")
    _, again = standalone.deliveries
    assert (again.path, again.query, again.body) == ("/orders", "x=1", b'{"total": 3}')
    assert again.events[0].get_attributes()["id"] == "once"
    assert "authorization" not in again.headers  # shown redacted: never resent
    page.click("#compose-open")
    page.fill("#c-type", "com.example.composed")
    page.fill("#c-data", '{"from": "the page"}')
    page.click("#c-send")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 3")
    composed = standalone.deliveries[-1]
    assert composed.outcome == "accepted" and composed.mode == "binary"
    assert composed.events[0].get_attributes()["type"] == "com.example.composed"
    standalone.reset()


def test_the_cosmetic_faults_a_newcomer_found_are_fixed(page: Any, standalone: Standalone) -> None:
    # a batch row shows how many events it carries
    batch = [{"specversion": "1.0", "id": f"b{n}", "source": "/s", "type": "t"} for n in range(3)]
    requests.post(
        standalone.url,
        headers={"content-type": "application/cloudevents-batch+json"},
        data=json.dumps(batch),
    )
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 1")
    assert rows(page) == ["b0 (+2)"]
    # a message without an id has no "attempts of this event"
    requests.post(standalone.url, headers=binary(ce_id=None), data=b"{}")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 2")
    page.click("#rows tr[data-outcome='rejected']")
    page.wait_for_selector("#detail:not([hidden])")
    assert page.locator("#timeline-box").is_hidden()
    # the type filter's placeholder is shown whole
    fits = page.evaluate(
        "(() => { const i = document.getElementById('f-type');"
        " const c = document.createElement('canvas').getContext('2d');"
        " c.font = getComputedStyle(i).font;"
        " return c.measureText(i.placeholder).width <= i.clientWidth; })()"
    )
    assert fits
    standalone.reset()


def test_the_eviction_count_is_shown_and_follows_the_stream(browser: Any) -> None:
    with Standalone(retain=5) as receiver:
        for n in range(8):
            requests.post(receiver.url, headers=binary(ce_id=f"v{n}"), data=b"{}")
        context = browser.new_context(viewport={"width": 1400, "height": 800})
        opened = context.new_page()
        opened.set_default_timeout(10_000)
        try:
            opened.goto(receiver.control_url)
            opened.wait_for_selector("#status[data-state='live']")
            shown = int(opened.locator("#evicted").get_attribute("data-count") or 0)
            assert shown == receiver.evicted > 0
            for n in range(8, 20):
                requests.post(receiver.url, headers=binary(ce_id=f"v{n}"), data=b"{}")
            opened.wait_for_function(
                f"document.getElementById('evicted').dataset.count === '{receiver.evicted}'"
            )
            assert "evicted by the receiver's retention" in opened.inner_text("#evicted")
        finally:
            context.close()


def test_a_screenshot_of_the_page_for_the_docs(
    page: Any, standalone: Standalone, tmp_path: Path
) -> None:
    """The README's picture: a retry backoff, a rejection, a batch, and the rate graph."""
    standalone.inject(faults.status(503), times=2)
    factory = EventFactory(7)
    with Client(standalone.url, retry=retry.knative(3, delay=0.05)) as client:
        client.send(factory.make("com.example.order.created", data={"total": 3}))
        for n in range(6):
            client.send(factory.make("com.example.order.shipped", subject=f"order/{n}"))
        client.send_batch([factory.make("com.example.stock.changed") for _ in range(3)])
    requests.post(standalone.url, headers=binary(ce_id=None), data=b"{}")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 11")
    page.wait_for_function("document.querySelectorAll('#rate rect.bar').length > 0")
    page.locator("#rows tr[data-outcome='accepted']").last.click()
    page.wait_for_function("document.querySelectorAll('#timeline circle.mark').length === 3")
    shot = tmp_path / "page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("CE_UPDATE_SCREENSHOT"):  # `make screenshot` refreshes the README's
        shutil.copyfile(shot, DOCS / "page.png")
    standalone.reset()
