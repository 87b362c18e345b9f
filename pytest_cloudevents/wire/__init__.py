"""HTTP messages <-> CloudEvents, split as the SDK splits it: the HTTP binding
(`binding`), the JSON event format (`jsonformat`), and `decode`/`encode` on top (`codec`).

Nothing here knows WSGI, a server, HTTP status policy or pytest.
"""

from __future__ import annotations

from pytest_cloudevents.wire.binding import (
    encode_binary,
    is_json_media_type,
    media_type,
    mode_of,
    unescape_header_value,
)
from pytest_cloudevents.wire.codec import Decoded, decode, encode
from pytest_cloudevents.wire.headers import Headers
from pytest_cloudevents.wire.jsonformat import encode_batch, encode_structured, event_to_json
from pytest_cloudevents.wire.raw import RawEvent, WireMode

__all__ = [
    "Decoded",
    "Headers",
    "RawEvent",
    "WireMode",
    "decode",
    "encode",
    "encode_batch",
    "encode_binary",
    "encode_structured",
    "event_to_json",
    "is_json_media_type",
    "media_type",
    "mode_of",
    "unescape_header_value",
]
