"""The Eventarc recipe: a function that a Pub/Sub trigger delivers to is tested with the
delivery Eventarc makes (binary mode to `/`, the message in the event's data) and Pub/Sub
push's reading of its answers: a crash (500, `X-Google-Status: crash`) is retried on the
exponential schedule, and dead-lettered after the subscription's attempts. functions-
framework pins cloudevents 1.x: `make demo` runs this in a venv of its own."""

import sys
from pathlib import Path

import pytest

functions_framework = pytest.importorskip(
    "functions_framework", reason="functions-framework pins cloudevents 1.x: make demo runs it"
)

from pytest_cloudevents import platforms  # noqa: E402

SOURCE = Path(__file__).with_name("ingest.py")


@pytest.fixture
def function():
    """The function's WSGI app, as `functions-framework --target on_reading
    --signature-type cloudevent` serves it, and its module."""
    app = functions_framework.create_app("on_reading", str(SOURCE), "cloudevent")
    app.logger.disabled = True  # the crash is what one test provokes
    module = next(
        m for m in list(sys.modules.values()) if getattr(m, "__file__", None) == str(SOURCE)
    )
    module.READINGS.clear()
    module.STORE["up"] = True
    return app, module


def test_a_published_message_reaches_the_function(ce_client, ce_events, function):
    app, module = function
    reading = ce_events.make("com.example.sensor.reading", data={"celsius": 21.5})
    result = ce_client.deliver(reading, to=app, platform=platforms.eventarc(topic="readings"))
    assert result.verdict == "delivered"
    assert module.READINGS == [{"celsius": 21.5}]


def test_a_crash_is_retried_as_pubsub_push_retries_it(ce_client, ce_events, function):
    app, module = function
    module.STORE["up"] = False
    eventarc = platforms.eventarc(topic="readings", dead_letter=True, max_delivery_attempts=5)
    result = ce_client.deliver(
        ce_events.make("com.example.sensor.reading", data={}), to=app, platform=eventarc
    )
    assert [a.status for a in result.attempts] == [500] * 5
    assert "X-Google-Status: crash" in result.attempts[0].reason
    assert result.gaps == [10.0, 20.0, 40.0, 80.0]  # 10 s doubling; virtual time
    assert result.verdict == "dead-lettered"
