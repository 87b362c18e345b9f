"""The one module that knows the CloudEvents SDK's event classes: building events,
reading their attributes and data, converting what a user hands in, and time formatting.

Both SDK generations are supported, whichever is installed:

- cloudevents 2.x: events are `cloudevents.core.v1.event.CloudEvent` (and the `core.v03`
  class for specversion 0.3); `time` is a `datetime`;
- cloudevents 1.11-1.13: events are `cloudevents.http.CloudEvent` (one class for 1.0 and
  0.3, the class functions-framework and Flask consumers use); `time` is the RFC 3339
  string, as that SDK keeps it.

Everything else in the plugin reads events through `attributes_of` and `data_of` and makes
them through `build`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Final, Protocol, cast, runtime_checkable

from pytest_cloudevents.spec.syntax import parse_time

if TYPE_CHECKING:  # typed against the 2.x class; at run time the installed generation's
    from cloudevents.core.v1.event import CloudEvent

__all__ = [
    "GENERATION",
    "CloudEvent",
    "EventLike",
    "attribute_of",
    "attributes_of",
    "attributes_view",
    "build",
    "coerce",
    "data_of",
    "event_class",
    "format_time",
    "is_event",
    "new_event",
]


def _classes() -> tuple[int, type[Any], type[Any]]:
    """The installed generation and its event classes for specversion 1.0 and 0.3."""
    try:
        v1 = importlib.import_module("cloudevents.core.v1.event").CloudEvent
        v03 = importlib.import_module("cloudevents.core.v03.event").CloudEvent
        return 2, v1, v03
    except ImportError:
        legacy = importlib.import_module("cloudevents.http").CloudEvent
        comparable = _comparable(legacy)
        return 1, comparable, comparable


def _comparable(legacy: type[Any]) -> type[Any]:
    """1.x's `cloudevents.http.CloudEvent` answers False (not NotImplemented) when compared
    with anything else, so `event == match(...)` could never ask the matcher. The plugin's
    1.x events are this subclass, equal to other events exactly as the SDK says."""

    sdk_eq = cast("Callable[[Any, object], bool]", legacy.__eq__)

    def __eq__(self: Any, other: object) -> bool:
        if not isinstance(other, legacy) and callable(getattr(other, "explain", None)):
            return NotImplemented
        return bool(sdk_eq(self, other))

    namespace = {"__eq__": __eq__, "__hash__": None, "__doc__": legacy.__doc__}
    return type("CloudEvent", (legacy,), namespace)


_FOUND: Final = _classes()
#: The installed SDK generation: 1 (cloudevents 1.11-1.13) or 2 (cloudevents 2.x).
GENERATION: Final[int] = _FOUND[0]
_V1: Final = _FOUND[1]
_V03: Final = _FOUND[2]
if not TYPE_CHECKING:
    CloudEvent = _V1


def event_class(specversion: str = "1.0") -> type[Any]:
    """The installed SDK's event class for a specversion ("1.0" or "0.3")."""
    return _V03 if specversion == "0.3" else _V1


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


def attributes_view(event: EventLike) -> Mapping[str, Any]:
    """The event's attributes as the SDK holds them (`time` a `datetime` on 2.x), not a
    copy: read them, never change them."""
    attributes: Mapping[str, Any] = event.get_attributes()
    return attributes


def attribute_of(event: EventLike, name: str, default: Any = None) -> Any:
    """One attribute of the event as the SDK holds it (`time` a `datetime` on 2.x), or
    `default` when it is unset."""
    return event.get_attributes().get(name, default)


def data_of(event: EventLike) -> Any:
    """The event's data as a Python value (None without data)."""
    return event.get_data()


def build(attributes: Mapping[str, Any], data: Any) -> CloudEvent:
    """The SDK event for attributes that passed the plugin's checks.

    The attributes are copied (the SDK constructors mutate or re-key their argument).
    Nothing is filled in: an event without `time` has none (both SDK constructors would
    invent one, and 1.x an `id` too). With 2.x `time` becomes a timezone-aware `datetime`;
    1.x keeps the string. Events of specversion 0.3 are the SDK's 0.3 class.
    """
    attrs = dict(attributes)
    time = attrs.get("time")
    if GENERATION == 2 and isinstance(time, str):
        parsed = parse_time(time)
        if parsed is not None:
            attrs["time"] = parsed
    elif GENERATION == 1 and isinstance(time, datetime):
        attrs["time"] = format_time(time)
    cls = _V03 if attrs.get("specversion") == "0.3" else _V1  # `event_class`
    if _TRUSTED_LAYOUT:
        # The attributes passed checks stricter than the constructor's, which would only
        # repeat them (and fill in what is missing): set the event's state directly.
        fast = object.__new__(cls)
        state = vars(fast)
        state["_attributes"], state[_DATA] = attrs, data
        return cast("CloudEvent", fast)
    event = cls(attrs, data)
    if "time" not in attributes:  # the SDK set a missing time to "now"
        vars(event)["_attributes"].pop("time", None)
    return cast("CloudEvent", event)


def new_event(attributes: Mapping[str, Any], data: Any = None) -> CloudEvent:
    """An event of the installed SDK built by its own constructor (with its defaults and
    its validation), for tests that need a user's event rather than a decoded one."""
    cls = event_class(str(attributes.get("specversion", "1.0")))
    return cast("CloudEvent", cls(dict(attributes), data))


#: Where each generation keeps the data: 2.x `_data`, 1.x `data`.
_DATA: Final[str] = "_data" if GENERATION == 2 else "data"


def _layout_is_known() -> bool:
    """True when the SDK's events keep exactly their attributes and data in the fields
    `build` sets, so that it may skip the validating constructor."""
    sample = {"id": "1", "source": "/", "type": "t"}
    for version in ("1.0", "0.3"):
        event = event_class(version)({**sample, "specversion": version}, b"x")
        state = vars(event)
        if set(state) != {"_attributes", _DATA} or event.get_data() != b"x":
            return False
        if dict(event.get_attributes()) != state["_attributes"]:
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
    """An event the plugin can check and encode: the installed SDK's event classes as they
    are; any other CloudEvents SDK event (2.x's `cloudevents.v1` compatibility class, 1.x's
    pydantic classes) by its attributes and data. Anything else raises TypeError."""
    if isinstance(event, (_V1, _V03)):
        return cast(EventLike, event)
    if is_event(event) and type(event).__module__.startswith("cloudevents."):
        other = cast(EventLike, event)
        return _Unchecked(dict(other.get_attributes()), other.get_data())
    raise TypeError(
        f"{what} takes a CloudEvent of the cloudevents SDK ({_V1.__module__}.CloudEvent),"
        f" not {type(event).__name__}"
    )
