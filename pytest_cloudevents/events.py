"""The one module that knows the CloudEvents SDK's event classes: building events,
reading their attributes and data, converting what a user hands in, and time formatting.

Everything else in the plugin reads events through `attributes_of` and `data_of` and makes
them through `build`, so supporting another SDK generation is a change to this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, Final, Protocol, cast, runtime_checkable

from cloudevents.core.v03.event import CloudEvent as CloudEventV03
from cloudevents.core.v1.event import CloudEvent

from .conformance import parse_time

__all__ = [
    "CloudEvent",
    "EventLike",
    "attributes_of",
    "build",
    "coerce",
    "data_of",
    "format_time",
    "is_event",
]


@runtime_checkable
class EventLike(Protocol):
    """What the plugin accepts as an event: any SDK generation's `CloudEvent`."""

    def get_attributes(self) -> Any: ...

    def get_data(self) -> Any: ...


def is_event(value: object) -> bool:
    """True for an event of any SDK generation (anything with attributes and data)."""
    return hasattr(value, "get_attributes") and hasattr(value, "get_data")


def format_time(value: datetime) -> str:
    """RFC 3339 form of a timezone-aware datetime (`Z` for UTC)."""
    if value.tzinfo is None:
        raise ValueError("time must be timezone-aware (e.g. datetime.now(timezone.utc))")
    text = value.isoformat()
    return text[:-6] + "Z" if value.utcoffset() == timezone.utc.utcoffset(None) else text


def attributes_of(event: EventLike) -> dict[str, Any]:
    """A copy of the event's attributes with `time` in its RFC 3339 string form and
    unset (None) attributes left out."""
    attributes = dict(event.get_attributes())
    time = attributes.get("time")
    if isinstance(time, datetime):
        attributes["time"] = format_time(time)
    return {k: v for k, v in attributes.items() if v is not None}


def data_of(event: EventLike) -> Any:
    """The event's data as a Python value (None without data)."""
    return event.get_data()


def build(attributes: Mapping[str, Any], data: Any) -> CloudEvent:
    """The SDK event for attributes that passed the plugin's checks.

    The attributes are copied (the SDK constructor mutates its argument); `time` becomes a
    timezone-aware `datetime`. Nothing is filled in: an event without `time` has none.
    Events of specversion 0.3 are the SDK's 0.3 class.
    """
    attrs = dict(attributes)
    time = attrs.get("time")
    if isinstance(time, str):
        parsed = parse_time(time)
        if parsed is not None:
            attrs["time"] = parsed
    cls: type[Any] = CloudEventV03 if attrs.get("specversion") == "0.3" else CloudEvent
    if _TRUSTED_LAYOUT:
        # The attributes passed checks stricter than the constructor's, which would only
        # repeat them (and fill in a missing time): set the event's state directly.
        fast = object.__new__(cls)
        fast._attributes = attrs
        fast._data = data
        return cast(CloudEvent, fast)
    event = cls(attrs, data)
    if "time" not in attributes:
        # The SDK sets a missing time to "now"; the message had none, so the event has none.
        event.get_attributes().pop("time", None)
    return cast(CloudEvent, event)


def _layout_is_known() -> bool:
    """True when the SDK's events keep exactly `_attributes` and `_data`, so that `build`
    may set them without calling the validating constructor."""
    sample = {"id": "1", "source": "/", "type": "t", "specversion": "1.0"}
    for cls in (CloudEvent, CloudEventV03):
        version = "0.3" if cls is CloudEventV03 else "1.0"
        event = cls({**sample, "specversion": version}, b"x")
        if set(vars(event)) != {"_attributes", "_data"} or event.get_data() != b"x":
            return False
        if event.get_attributes() is not vars(event)["_attributes"]:
            return False
    return True


_TRUSTED_LAYOUT: Final[bool] = _layout_is_known()


class _Unchecked:
    """A foreign event's attributes and data as they are (a bad `time` included), for the
    client's own check and the encoders, which only read attributes and data."""

    def __init__(self, attributes: dict[str, Any], data: Any) -> None:
        self.attributes, self.data = attributes, data

    def get_attributes(self) -> dict[str, Any]:
        return self.attributes

    def get_data(self) -> Any:
        return self.data


def coerce(event: object, what: str = "send") -> EventLike:
    """An event the plugin can check and encode: an event of the SDK's `core` classes
    as it is; 2.x's `cloudevents.v1` compatibility class by its attributes and data.
    Anything else raises TypeError naming what to pass."""
    if is_event(event):
        module = type(event).__module__
        if module.startswith("cloudevents.core"):
            return cast(EventLike, event)
        if module.startswith("cloudevents.v1"):
            legacy = cast(EventLike, event)
            return _Unchecked(dict(legacy.get_attributes()), legacy.get_data())
    raise TypeError(
        f"{what} takes a CloudEvent from cloudevents.core.v1.event (or the legacy"
        f" cloudevents.v1.http.CloudEvent), not {type(event).__name__}"
    )
