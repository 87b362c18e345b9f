"""The strict codec at work: a valid binary-mode message, and one the SDK would accept."""

from pytest_cloudevents.wire import decode


def test_a_binary_message_decodes() -> None:
    headers = {
        "ce-specversion": "1.0",
        "ce-id": "order-1",
        "ce-source": "/orders",
        "ce-type": "com.example.order.created",
        "content-type": "application/json",
    }
    [event] = decode(headers, b'{"total": 12.5}').events
    assert event.get_data() == {"total": 12.5}


def test_a_message_without_an_id_is_rejected() -> None:
    headers = {"ce-specversion": "1.0", "ce-source": "/orders", "ce-type": "com.example.x"}
    decoded = decode(headers, b"")
    assert [v.code for v in decoded.violations] == ["missing-id"]
