"""The order service against a real receiver, with faults, and again in mock mode."""

import pytest
from order_service import OrderService

from pytest_cloudevents import faults, match


@pytest.fixture
def service(ce_receiver):
    return OrderService(ce_receiver.url_for("/broker"), ce_receiver.url_for("/dead-letter"))


def test_an_order_is_announced(service, ce_receiver):
    order_id = service.create_order("ada", 12.5)
    [event] = ce_receiver.assert_received(type="com.example.order.created", count=1)
    assert event == match(
        id=order_id,
        subject="customer/ada",
        data={"order_id": order_id, "customer": "ada", "total": 12.5},
    )
    assert ce_receiver.deliveries[0].path == "/broker"


def test_the_service_retries_with_backoff(service, ce_receiver):
    ce_receiver.inject(faults.status(503), times=2)
    order_id = service.create_order("bob", 3)
    attempts = ce_receiver.attempts(order_id)
    assert attempts.statuses == [503, 503, 202]
    # urllib3: no wait before the first retry, then backoff_factor * 2 ** (n - 1)
    assert attempts.gaps == [pytest.approx(0.0, abs=0.15), pytest.approx(0.2, abs=0.15)]


def test_the_service_honours_retry_after(service, ce_receiver):
    ce_receiver.inject(faults.throttle(retry_after=1), times=1)
    order_id = service.create_order("cy", 1)
    attempts = ce_receiver.attempts(order_id)
    assert attempts.statuses == [429, 202]
    assert attempts.gaps[0] >= 1.0


def test_after_the_retries_it_goes_to_the_dead_letter_url(service, ce_receiver):
    ce_receiver.inject(faults.status(500), when=lambda delivery: delivery.path == "/broker")
    order_id = service.create_order("dee", 9)
    assert [d.path for d in ce_receiver.attempts(order_id).deliveries] == ["/broker"] * 4 + [
        "/dead-letter"
    ]
    [dead] = ce_receiver.assert_received(
        id=order_id, count=1
    )  # only the dead-letter copy was accepted
    assert dead == match(subject="customer/dee")


def test_a_dropped_connection_also_ends_in_the_dead_letter_url(service, ce_receiver):
    ce_receiver.inject(faults.disconnect(), when=lambda delivery: delivery.path == "/broker")
    order_id = service.create_order("eve", 2)
    assert ce_receiver.attempts(order_id).statuses[-1] == 202
    assert ce_receiver.deliveries[-1].path == "/dead-letter"


def test_in_mock_mode_without_a_socket(ce_mock):
    sink = ce_mock.sink("https://broker.example.com/")
    service = OrderService("https://broker.example.com/orders", "https://broker.example.com/dlq")
    sink.inject(faults.status(503), times=2)
    order_id = service.create_order("fay", 4)
    assert sink.attempts(order_id).statuses == [
        503,
        503,
        202,
    ]  # responses replays retries, no backoff
    sink.assert_received(id=order_id, count=1)
