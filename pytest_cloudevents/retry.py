"""Retry policies for `Client(retry=...)`: `knative(...)` and `sdk_go(...)` build urllib3
`Retry` objects with those systems' retriable statuses (the public path of `send.retry`)."""

from __future__ import annotations

from pytest_cloudevents.send.retry import KNATIVE_STATUSES, SDK_GO_STATUSES, knative, sdk_go

__all__ = ["KNATIVE_STATUSES", "SDK_GO_STATUSES", "knative", "sdk_go"]
