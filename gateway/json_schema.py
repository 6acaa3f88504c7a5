"""How pydantic's JSON Schema is written into our OpenAPI 3.1 document: the request and response shapes are
pydantic models and typed dicts (gateway/form.py, gateway/job_shape.py), described once; this is the one
place that says how their schema reads to API users.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

COMPONENTS = "#/components/schemas/{model}"


class OpenApiSchema(GenerateJsonSchema):
    """Pydantic's schema without what only reads as noise in an API description: a title on every field
    (the property's name already says it) and a `null` branch and `default: null` on optional fields of a
    form (a multipart field is absent or has a value; it is never null)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        if self._keeps_null:
            return super().nullable_schema(schema)
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        if schema.get("default") is None and not self._keeps_null:
            return self.generate_inner(schema["schema"])
        return super().default_schema(schema)

    _keeps_null = False


class ResponseSchema(OpenApiSchema):
    """A response's optional values are sent as null, so there the `null` branch stays."""

    _keeps_null = True


def response_components(*shapes: Any) -> dict[str, Any]:
    """Each response shape and every shape it is made of, as components named after their classes and
    referring to each other by COMPONENTS."""
    _, schema = TypeAdapter.json_schemas(
        [(shape, "serialization", TypeAdapter(shape)) for shape in shapes],
        ref_template=COMPONENTS,
        schema_generator=ResponseSchema,
    )
    components: dict[str, Any] = schema["$defs"]
    return components
