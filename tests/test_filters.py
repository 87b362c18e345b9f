"""Knative Trigger filters (`filters`): each dialect with Knative's semantics
(`../shared/platforms.md` 1.7), Trigger manifests from Knative's documentation read by
`from_trigger`, the filters as criteria, and a Knative delivery that honours them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_cloudevents import Client, EventFactory, Receiver, filters, platforms

#: The Trigger of Knative's "Trigger filtering" docs (knative.dev/docs/eventing/triggers).
ATTRIBUTES_TRIGGER = """
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: my-service-trigger
spec:
  broker: default
  filter:
    attributes:
      type: dev.knative.foo.bar
      myextension: my-extension-value
  subscriber:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: my-service
"""
#: The advanced-filters Trigger of the same docs (the `filters` field, CESQL).
CESQL_TRIGGER = """
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: my-service-trigger
spec:
  broker: default
  filters:
    - cesql: "source LIKE '%commerce%' AND type IN ('order.created', 'order.updated', 'order.canceled')"
  subscriber:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: my-service
"""  # noqa: E501

factory = EventFactory(seed=11)


def event(kind: str = "com.example.a", **attributes: object):  # type: ignore[no-untyped-def]
    return factory.make(kind, **attributes)


def test_the_attributes_trigger_from_knatives_docs() -> None:
    trigger = filters.from_trigger(ATTRIBUTES_TRIGGER)
    assert trigger.matches(event("dev.knative.foo.bar", myextension="my-extension-value"))
    assert not trigger.matches(event("dev.knative.foo.bar"))  # every key must exist
    assert not trigger.matches(event("dev.knative.foo.bar", myextension="other"))
    assert "myextension is missing" in "\n".join(trigger.explain(event("dev.knative.foo.bar")))


def test_the_cesql_trigger_from_knatives_docs(tmp_path: Path) -> None:
    path = tmp_path / "trigger.yaml"
    path.write_text("---\napiVersion: v1\nkind: ConfigMap\n---" + CESQL_TRIGGER)
    trigger = filters.from_trigger(str(path))  # a file holding other resources beside it
    assert trigger.matches(event("order.created", source="/ecommerce/eu"))
    assert not trigger.matches(event("order.created", source="/orders"))
    assert not trigger.matches(event("order.shipped", source="/ecommerce"))


def test_an_empty_attribute_value_matches_any_value() -> None:
    trigger = filters.from_trigger(
        {"kind": "Trigger", "spec": {"filter": {"attributes": {"subject": ""}}}}
    )
    assert trigger.matches(event(subject="anything"))
    assert not trigger.matches(event())


def test_filters_override_filter_and_none_passes_everything() -> None:
    both = {
        "kind": "Trigger",
        "spec": {
            "filter": {"attributes": {"type": "nope"}},
            "filters": [{"exact": {"type": "com.example.a"}}],
        },
    }
    assert filters.from_trigger(both).matches(event())
    assert filters.from_trigger({"kind": "Trigger", "spec": {}}).matches(event())


@pytest.mark.parametrize(
    ("made", "passes", "fails"),
    [
        (filters.exact(type="com.example.a"), event(), event("com.example.ab")),
        (filters.prefix(type="com.example."), event(), event("org.example.a")),
        (filters.suffix(source="/eu"), event(source="/shop/eu"), event(source="/shop/us")),
        (
            filters.all_(filters.prefix(type="com."), filters.suffix(type=".a")),
            event(),
            event("com.b"),
        ),
        (
            filters.any_(filters.exact(type="x.y"), filters.exact(type="com.example.a")),
            event(),
            event("z.z"),
        ),
        (filters.not_(filters.exact(type="com.example.b")), event(), event("com.example.b")),
        (filters.cesql("type LIKE 'com.%' AND NOT EXISTS subject"), event(), event(subject="s")),
        (filters.exact(flag="true"), event(flag=True), event(flag=False)),  # the string form
    ],
)
def test_each_dialect(made: filters.Filter, passes: object, fails: object) -> None:
    assert made.matches(passes) and not made.matches(fails)  # type: ignore[arg-type]


def test_a_cesql_evaluation_error_is_no_match() -> None:
    assert not filters.cesql("missing = 'x' OR type = 'com.example.a'").matches(event())


@pytest.mark.parametrize(
    ("manifest", "problem"),
    [
        (
            {
                "kind": "Trigger",
                "spec": {"filters": [{"exact": {"type": "a"}, "prefix": {"type": "a"}}]},
            },
            "one dialect",
        ),
        ({"kind": "Trigger", "spec": {"filters": [{"exact": {"type": ""}}]}}, "empty"),
        ({"kind": "Trigger", "spec": {"filters": [{"exact": {"": "x"}}]}}, "not an attribute name"),
        (
            {"kind": "Trigger", "spec": {"filters": [{"regex": {"type": "x"}}]}},
            "unknown filter dialect",
        ),
        ({"kind": "Trigger", "spec": {"filters": [{"cesql": "type ="}]}}, "column"),
        ("kind: Broker\n", "no kind: Trigger"),
    ],
)
def test_what_knative_refuses_at_admission_raises(manifest: object, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        filters.from_trigger(manifest)


def test_filters_are_criteria(ce_receiver: Receiver, ce_client: Client) -> None:
    ce_client.send(event("order.created", source="/commerce"), to=ce_receiver.url)
    ce_client.send(event("com.example.other"), to=ce_receiver.url)
    [passed] = ce_receiver.assert_received(filters.from_trigger(CESQL_TRIGGER), count=1)
    assert passed.get_attributes()["type"] == "order.created"


def test_a_knative_delivery_honours_the_triggers_filter(
    ce_receiver: Receiver, ce_client: Client
) -> None:
    knative = platforms.knative(trigger=CESQL_TRIGGER)
    kept = ce_client.deliver(
        event("order.updated", source="/commerce"), to=ce_receiver.url, platform=knative
    )
    assert kept.verdict == "delivered"
    skipped = ce_client.deliver(
        event("order.updated", source="/elsewhere"), to=ce_receiver.url, platform=knative
    )
    assert skipped.verdict == "dropped" and skipped.attempts == []
    assert "does not pass" in skipped.reason
    assert len(ce_receiver.deliveries) == 1
