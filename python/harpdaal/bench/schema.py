"""The results document's JSON Schema (schema.json) and a dependency-free validator for it.

``validate(doc)`` raises ``SchemaError`` naming the failing path. It implements the JSON Schema
(2020-12) keywords that schema.json uses; if the ``jsonschema`` package is installed, the tests
check schema.json with it as well.
"""
from __future__ import annotations

import json
import math
import pathlib

SCHEMA_PATH = pathlib.Path(__file__).with_name("schema.json")
SCHEMA_ID = "harpdaal-bench/1"


class SchemaError(ValueError):
    """A results document does not match schema.json."""


def load_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
    and math.isfinite(v),
}


def _errors(value, schema: dict, root: dict, path: str):
    """Yield 'path: message' for every violation (first-level, good enough to debug)."""
    if "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            raise SchemaError(f"unsupported $ref {ref!r}")
        target = root
        for part in ref[2:].split("/"):
            target = target[part]
        yield from _errors(value, target, root, path)
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_TYPES[t](value) for t in types):
            yield f"{path}: expected {'/'.join(types)}, got {type(value).__name__} {value!r:.60}"
            return
    if "const" in schema and value != schema["const"]:
        yield f"{path}: expected {schema['const']!r}, got {value!r:.60}"
    if "enum" in schema and value not in schema["enum"]:
        yield f"{path}: {value!r:.60} is not one of {schema['enum']}"
    if _TYPES["number"](value):
        if "minimum" in schema and value < schema["minimum"]:
            yield f"{path}: {value} < minimum {schema['minimum']}"
        if "maximum" in schema and value > schema["maximum"]:
            yield f"{path}: {value} > maximum {schema['maximum']}"
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            yield f"{path}: {value} <= exclusiveMinimum {schema['exclusiveMinimum']}"
    if isinstance(value, str) and len(value) < schema.get("minLength", 0):
        yield f"{path}: string shorter than {schema['minLength']}"
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            yield f"{path}: {len(value)} items, fewer than minItems {schema['minItems']}"
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            yield f"{path}: {len(value)} items, more than maxItems {schema['maxItems']}"
        if "items" in schema:
            for i, item in enumerate(value):
                yield from _errors(item, schema["items"], root, f"{path}[{i}]")
    if isinstance(value, dict):
        for key in schema.get("required", ()):
            if key not in value:
                yield f"{path}: missing required key {key!r}"
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in props:
                yield from _errors(item, props[key], root, f"{path}.{key}")
            elif extra is False:
                yield f"{path}: unexpected key {key!r}"
            elif isinstance(extra, dict):
                yield from _errors(item, extra, root, f"{path}.{key}")
    if "oneOf" in schema:
        matches = sum(1 for sub in schema["oneOf"] if not any(_errors(value, sub, root, path)))
        if matches != 1:
            yield f"{path}: matches {matches} of the oneOf alternatives, expected exactly 1"
    if "if" in schema:
        branch = "then" if not any(_errors(value, schema["if"], root, path)) else "else"
        if branch in schema:
            yield from _errors(value, schema[branch], root, path)


def validate(doc: dict, schema: dict | None = None) -> None:
    """Raise SchemaError listing every violation of schema.json in ``doc``."""
    schema = schema or load_schema()
    problems = list(_errors(doc, schema, schema, "$"))
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise SchemaError(f"results do not match {SCHEMA_ID}:\n  {shown}{more}")
