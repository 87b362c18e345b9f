"""Platform contracts: receivers that answer as Knative's, Dapr's, Event Grid's and a
CloudEvents webhook's ingress, and deliveries to a subscriber the way Knative, Dapr, Event
Grid, Eventarc and webhooks deliver (`ce_client.deliver(event, to=..., platform=...)`).

Each platform is one object, made with keyword settings that default to the platform's
own: `platforms.knative(...)`, `platforms.dapr(...)`, `platforms.eventgrid(...)`,
`platforms.eventarc(...)`, `platforms.webhook(...)`; a string names one with its defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pytest_cloudevents.platforms.contract import Attempt, Delivered, Plan
from pytest_cloudevents.platforms.dapr import Dapr, Subscription, dapr, parse_subscriptions
from pytest_cloudevents.platforms.eventarc import Eventarc, eventarc, pubsub_message
from pytest_cloudevents.platforms.eventgrid import EventGrid, eventgrid
from pytest_cloudevents.platforms.knative import Knative, knative
from pytest_cloudevents.platforms.webhook import Webhook, webhook

__all__ = [
    "NAMES",
    "Attempt",
    "Dapr",
    "Delivered",
    "EventGrid",
    "Eventarc",
    "Knative",
    "Plan",
    "Platform",
    "Subscription",
    "Webhook",
    "dapr",
    "eventarc",
    "eventgrid",
    "knative",
    "parse_subscriptions",
    "pubsub_message",
    "resolve",
    "webhook",
]

Platform = Knative | Dapr | EventGrid | Eventarc | Webhook
#: Each platform by its name.
NAMES: Final[Mapping[str, type[Any]]] = {
    "knative": Knative,
    "dapr": Dapr,
    "eventgrid": EventGrid,
    "eventarc": Eventarc,
    "webhook": Webhook,
}
#: The platforms with an ingress a producer publishes to (Eventarc has none).
INGRESS: Final[frozenset[str]] = frozenset({"knative", "dapr", "eventgrid", "webhook"})


def resolve(platform: object, settings: Mapping[str, Any] | None = None) -> Platform:
    """A platform object: one as given, or the one a name makes with `settings`.
    TypeError/ValueError say what to pass."""
    if isinstance(platform, (Knative, Dapr, EventGrid, Eventarc, Webhook)):
        if settings:
            raise TypeError(
                f"platform settings {sorted(settings)} go to the platform itself:"
                f" platforms.{platform.name}({', '.join(f'{k}=...' for k in settings)})"
            )
        return platform
    if isinstance(platform, str):
        made = NAMES.get(platform)
        if made is None:
            raise ValueError(f"unknown platform {platform!r}; the platforms are {sorted(NAMES)}")
        try:
            chosen: Platform = made(**(settings or {}))
        except TypeError as exc:
            raise TypeError(f"platforms.{platform}(...): {exc}") from None
        return chosen
    raise TypeError(
        f"platform takes a name ({', '.join(sorted(NAMES))}) or an object such as"
        f" platforms.knative(retry=3), not {platform!r}"
    )
