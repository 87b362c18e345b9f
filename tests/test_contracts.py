"""JSON Schema criteria, pydantic models as criteria, and receiver contracts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pydantic
import pytest
import requests
from helpers import binary

from pytest_cloudevents import EventFactory, Receiver, match, matches_schema
from pytest_cloudevents.events import CloudEvent

pytest.importorskip("jsonschema", reason="contracts need the schema extra")

ORDER: dict[str, Any] = {
    "type": "object",
    "required": ["id", "total"],
    "properties": {"id": {"type": "string"}, "total": {"type": "number", "minimum": 0}},
}


class Order(pydantic.BaseModel):
    id: str
    total: float


def event(data: object, **attributes: str) -> CloudEvent:
    return EventFactory(1).make("com.example.order.created", data=data, **attributes)


def test_matches_schema_accepts_and_explains_with_the_json_path() -> None:
    assert event({"id": "o-1", "total": 3}) == match(data=matches_schema(ORDER))
    [line] = match(data=matches_schema(ORDER)).explain(event({"id": "o-1", "total": -1}))
    assert line.startswith("data: breaks a schema: -1 is less than the minimum of 0")
    assert "(at $.total)" in line


def test_a_schema_file_that_is_missing_or_not_a_schema_fails_at_once(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no JSON Schema file"):
        matches_schema(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="is not JSON"):
        matches_schema(tmp_path / "bad.json")
    (tmp_path / "wrong.json").write_text(json.dumps({"type": "objekt"}))
    with pytest.raises(ValueError, match="not a valid JSON Schema at type"):
        matches_schema(tmp_path / "wrong.json")
    with pytest.raises(TypeError, match="a dict or the path"):
        matches_schema(42)  # type: ignore[arg-type]


def test_a_pydantic_model_is_a_criterion() -> None:
    assert event({"id": "o-1", "total": 3}) == match(data=Order)
    [line] = match(data=Order).explain(event({"id": "o-1", "total": "lots"}))
    assert "does not validate as Order" in line and "total" in line


def test_a_receiver_contract_by_type_and_by_dataschema(tmp_path: Path) -> None:
    schema_file = tmp_path / "order.json"
    schema_file.write_text(json.dumps(ORDER))
    uri = "https://schemas.example.com/order.json"
    strict_total = {**ORDER, "properties": {**ORDER["properties"], "total": {"type": "integer"}}}
    with Receiver(schemas={"com.example.test": schema_file, uri: strict_total}) as receiver:
        ok = requests.post(receiver.url, headers=binary(), data=b'{"id": "o", "total": 1.5}')
        assert ok.status_code == 202
        bad = requests.post(receiver.url, headers=binary(), data=b'{"total": 1}')
        assert bad.status_code == 400 and "data-schema-mismatch" in bad.text
        by_uri = binary(ce_dataschema=uri)
        refused = requests.post(receiver.url, headers=by_uri, data=b'{"id": "o", "total": 1.5}')
        assert refused.status_code == 400  # the URI's schema wins over the type's
        other = requests.post(
            receiver.url, headers=binary(ce_type="com.example.other"), data=b'"anything"'
        )
        assert other.status_code == 202  # no schema for that type
        rejected = receiver.assert_rejected("data-schema-mismatch", count=2)
        assert "'id' is a required property" in rejected[0].violations[0].message
        assert rejected[0].events == []


def test_wrong_schemas_say_what_to_pass(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="event type or a dataschema URI"):
        Receiver(schemas=["x"])  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError, match=r"schemas\['com.example.x'\]"):
        Receiver(schemas={"com.example.x": tmp_path / "nope.json"})
