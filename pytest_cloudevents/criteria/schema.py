"""Event contracts: JSON Schema criteria (`matches_schema`) and a receiver's `schemas=`,
which reject accepted events whose data breaks their schema (extra `schema`: jsonschema).

A schema is a dict or the path of a `.json` file; either is checked against its own
metaschema when given, so a typo fails at once, not at the first event.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pytest_cloudevents.criteria.match import Criterion
from pytest_cloudevents.events import CloudEvent, attributes_of, data_of
from pytest_cloudevents.extras import require
from pytest_cloudevents.spec.rules import Violation

__all__ = ["Contracts", "SchemaCriterion", "load_schema", "matches_schema"]

Schema = Mapping[str, Any] | str | Path


def load_schema(schema: object) -> dict[str, Any]:
    """A JSON Schema from a dict or a `.json` path, checked against its metaschema."""
    jsonschema = require("jsonschema", "matches_schema and schemas=")
    if isinstance(schema, (str, Path)):
        path = Path(schema)
        if not path.is_file():
            raise FileNotFoundError(f"no JSON Schema file at {str(path)!r}")
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ValueError(f"{str(path)!r} is not JSON: {exc}") from None
    elif isinstance(schema, Mapping):
        loaded = dict(schema)
    else:
        raise TypeError(f"a schema is a dict or the path of a .json file, not {schema!r}")
    if not isinstance(loaded, dict):
        raise ValueError(f"a JSON Schema is a JSON object, not {type(loaded).__name__}")
    validator = jsonschema.validators.validator_for(loaded)
    try:
        validator.check_schema(loaded)
    except jsonschema.exceptions.SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "(root)"
        raise ValueError(f"not a valid JSON Schema at {where}: {exc.message}") from None
    return loaded


class SchemaCriterion(Criterion):
    """A criterion value validating a value (an event's `data`) against a JSON Schema."""

    def __init__(self, schema: Schema) -> None:
        jsonschema = require("jsonschema", "matches_schema")
        self.schema = load_schema(schema)
        self._validator = jsonschema.validators.validator_for(self.schema)(self.schema)
        self._best = jsonschema.exceptions.best_match
        self._label = (
            str(schema) if isinstance(schema, (str, Path)) else self.schema.get("title", "a schema")
        )

    def check(self, value: Any) -> str | None:
        error = self._best(self._validator.iter_errors(value))
        if error is None:
            return None
        return f"breaks {self._label}: {error.message} (at {error.json_path})"

    def __repr__(self) -> str:
        return f"matches_schema({self._label!r})"


def matches_schema(schema: Schema) -> SchemaCriterion:
    """A criterion value: `match(data=matches_schema("order.schema.json"))`. A mismatch is
    explained in the validator's words, with the JSON path of what is wrong."""
    return SchemaCriterion(schema)


class Contracts:
    """A receiver's `schemas=`: JSON Schemas by event `type` or by `dataschema` URI (the
    URI wins when an event carries one that is listed)."""

    def __init__(self, schemas: Mapping[str, Schema]) -> None:
        if not isinstance(schemas, Mapping) or not schemas:
            raise TypeError(
                "schemas takes a dict from an event type or a dataschema URI to a JSON Schema"
                f" (a dict or a .json path), not {schemas!r}"
            )
        self._by_key: dict[str, SchemaCriterion] = {}
        for key, schema in schemas.items():
            if not isinstance(key, str) or not key:
                raise TypeError(f"a schemas key is an event type or a dataschema URI, not {key!r}")
            try:
                self._by_key[key] = SchemaCriterion(schema)
            except (OSError, ValueError, TypeError) as exc:
                raise type(exc)(f"schemas[{key!r}]: {exc}") from None

    def violations(self, events: Iterable[CloudEvent]) -> list[Violation]:
        """`data-schema-mismatch` for each event whose data breaks its schema."""
        out = []
        for index, event in enumerate(events):
            attributes = attributes_of(event)
            criterion = self._by_key.get(str(attributes.get("dataschema"))) or self._by_key.get(
                str(attributes.get("type"))
            )
            if criterion is None:
                continue
            reason = criterion.check(data_of(event))
            if reason is not None:
                where = f"event {index}: " if index else ""
                out.append(Violation("data-schema-mismatch", "data", f"{where}data {reason}"))
        return out
