"""`Record`: one recorded event as the CloudEvents tools keep it, and the message it replays as.

The form is the conformance tool's (`cloudevents/conformance`, also read by Knative's
eventshub as `InputYAML`): the content mode, the context attributes with the extensions
apart, the transport headers (`TransportExtensions`) and the data as text. Where data is not
text, `data_base64` holds it (the conformance form has no field for it; its reader ignores
one it does not know).

A record comes from a recorded delivery (`of_delivery`) or from a file (`files.py`), and
goes back onto the wire as it was recorded (`message`): in binary mode the attributes as
percent-encoded `ce-` headers and the data as the body; in structured mode the JSON format.
Nothing is checked on the way out (a recorded malformed message replays malformed); `events`
decodes the message as a receiver does, so a loaded event is the event a receiver records.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, final

from pytest_cloudevents.events import CloudEvent
from pytest_cloudevents.recording.delivery import Delivery
from pytest_cloudevents.wire import decode, event_to_json, is_json_media_type
from pytest_cloudevents.wire.binding import CE_PREFIX, STRUCTURED_JSON, header_value
from pytest_cloudevents.wire.headers import HOP_BY_HOP, REDACTED, shown_headers
from pytest_cloudevents.wire.jsontext import JSONTextError, parse

__all__ = ["CORE", "Record", "RecordError", "RecordMode", "of_delivery", "transport_of"]

RecordMode = Literal["binary", "structured"]

#: The context attributes the conformance form names (the rest are `Extensions`),
#: 0.3's `schemaurl` and `datacontentencoding` included.
CORE: Final[tuple[str, ...]] = (
    "specversion",
    "type",
    "time",
    "id",
    "source",
    "subject",
    "dataschema",
    "schemaurl",
    "datacontentencoding",
    "datacontenttype",
)
#: Request headers that are no transport extension of an event: the connection's own and
#: the framing (`HOP_BY_HOP`), the content type (the attribute's, or the mode's), and the
#: content coding (a recorded body is kept inflated).
_NOT_TRANSPORT: Final[frozenset[str]] = HOP_BY_HOP | {"content-type", "content-encoding"}


class RecordError(ValueError):
    """A recording that cannot be read or replayed; the message names the file and what
    to change."""


@final
@dataclass(frozen=True)
class Record:
    """One recorded event: its mode (None: not recorded, as in a JSON-lines file), context
    attributes (`CORE`), extensions, transport headers, and data as text or base64;
    `origin` says where it was read (`file.yaml#2`)."""

    mode: RecordMode | None
    attributes: Mapping[str, str]
    extensions: Mapping[str, str | int | bool] = field(default_factory=dict)
    transport: Mapping[str, str] = field(default_factory=dict)
    data: str | None = None
    data_base64: str | None = None
    origin: str = ""

    def get(self, name: str) -> str:
        """An attribute or extension value as text ("" when unset), as the conformance
        tool's `diff --match` reads it."""
        value = self.attributes.get(name, self.extensions.get(name))
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def message(self, mode: RecordMode | None = None) -> tuple[dict[str, str], bytes]:
        """The headers and body this record goes onto the wire as: in `mode`, else the
        recorded one (structured for a JSON line, which records none).
        Transport headers whose value was redacted are left out (a replay's own headers
        supply credentials)."""
        chosen = mode or self.mode or "structured"
        headers = {
            name: value
            for name, value in self.transport.items()
            if value != REDACTED and name.lower() not in _NOT_TRANSPORT
        }
        if chosen == "binary":
            for name, value in self.attributes.items():
                if name == "datacontenttype":
                    headers["Content-Type"] = value
                else:
                    headers[f"{CE_PREFIX}{name}"] = header_value(value)
            for name, extension in self.extensions.items():
                headers[f"{CE_PREFIX}{name}"] = header_value(extension)
            return headers, self._body()
        document: dict[str, Any] = {**self.attributes, **self.extensions}
        if self.data_base64 is not None:
            if self.attributes.get("specversion") == "0.3":
                document["datacontentencoding"] = "base64"
                document["data"] = self.data_base64
            else:
                document["data_base64"] = self.data_base64
        elif self.data is not None:
            document["data"] = self._json_data()
        headers["Content-Type"] = f"{STRUCTURED_JSON}; charset=utf-8"
        return headers, json.dumps(document, ensure_ascii=False).encode("utf-8")

    def events(self, mode: RecordMode | None = None) -> list[CloudEvent]:
        """The events a receiver records from this record's message (RecordError naming
        the rule when the recording breaks the spec)."""
        headers, body = self.message(mode)
        decoded = decode(headers, body)
        if decoded.violations:
            broken = "; ".join(str(v) for v in decoded.violations)
            raise RecordError(
                f"{self.origin or 'a record'}: the recorded event breaks the spec: {broken}"
            )
        return decoded.events

    def _body(self) -> bytes:
        if self.data_base64 is not None:
            try:
                return base64.b64decode(self.data_base64, validate=True)
            except ValueError as exc:
                raise RecordError(
                    f"{self.origin or 'a record'}: DataBase64 is not base64 ({exc})"
                ) from None
        return b"" if self.data is None else self.data.encode("utf-8")

    def _json_data(self) -> Any:
        """The data as a JSON-format member: parsed where it is JSON (by its content type,
        or with none), else the text."""
        assert self.data is not None
        content_type = self.attributes.get("datacontenttype")
        if content_type is None or is_json_media_type(content_type):
            try:
                return parse(self.data)
            except JSONTextError:
                return self.data
        return self.data


def transport_of(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers of a delivery that are its transport extensions: all but the `ce-`
    attributes, the content type and the connection's own."""
    return {
        name: value
        for name, value in headers.items()
        if not name.lower().startswith(CE_PREFIX) and name.lower() not in _NOT_TRANSPORT
    }


def of_delivery(
    delivery: Delivery,
    *,
    credentials: bool = False,
    keep: Callable[[CloudEvent], bool] | None = None,
) -> list[Record]:
    """The records of a delivery's events (those `keep` keeps), one each, in its mode (a
    batch's events each as structured: the conformance form has no batch), its transport
    headers with credentials redacted unless `credentials`."""
    events = [e for e in delivery.events if keep is None or keep(e)]
    if not events:
        return []
    transport = transport_of(shown_headers(delivery.headers, credentials=credentials))
    mode: RecordMode = "binary" if delivery.mode == "binary" else "structured"
    origin = f"delivery {delivery.seq}"
    return [of_event(event, mode, transport, origin) for event in events]


def of_event(
    event: CloudEvent,
    mode: RecordMode | None,
    transport: Mapping[str, str] | None = None,
    origin: str = "",
) -> Record:
    """The record of one event."""
    return of_json(event_to_json(event), mode, transport or {}, origin)


def of_json(
    document: Mapping[str, Any],
    mode: RecordMode | None,
    transport: Mapping[str, str],
    origin: str,
) -> Record:
    """The record of a JSON-format event object."""
    attributes: dict[str, str] = {}
    extensions: dict[str, str | int | bool] = {}
    data: str | None = None
    data_base64: str | None = None
    base64_03 = (
        document.get("specversion") == "0.3" and document.get("datacontentencoding") == "base64"
    )
    for name, value in document.items():
        if name == "data":
            if base64_03 and isinstance(value, str):
                data_base64 = value
            else:
                data = _data_text(value, document.get("datacontenttype"))
        elif name == "data_base64":
            data_base64 = str(value)
        elif name == "datacontentencoding" and base64_03:
            continue
        elif name in CORE:
            attributes[name] = value if isinstance(value, str) else json.dumps(value)
        elif isinstance(value, (str, int)) and not isinstance(value, float):
            extensions[name] = value
        else:
            extensions[name] = json.dumps(value)
    return Record(mode, attributes, extensions, dict(transport), data, data_base64, origin)


def _data_text(value: Any, content_type: object) -> str:
    """Data as the conformance form's text: JSON where the content type is JSON (or none
    is given), a string as it is otherwise."""
    if isinstance(value, str) and not (
        content_type is None or is_json_media_type(str(content_type))
    ):
        return value
    return json.dumps(value, ensure_ascii=False)
