"""The schema generator, so the schema says what the API enforces: ids in paths are whole numbers (the URL
pattern), lists have their minimum and maximum lengths, and a serializer's cross-field rule (one of two
fields) is stated as `schema_rules` on the serializer."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers

ID_PATTERN = "[0-9]{1,18}"


class AutoSchema(SpectacularAutoSchema):
    def _resolve_path_parameters(self, variables):
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            if parameter["schema"].get("pattern") == f"^{ID_PATTERN}$":
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": 10**18 - 1}
                parameter.setdefault("description", "The object's id.")
        return parameters

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, serializers.ListSerializer) and schema.get("type") == "array":
            if field.min_length is not None:
                schema["minItems"] = field.min_length
            elif not field.allow_empty:
                schema["minItems"] = 1
            if field.max_length is not None:
                schema["maxItems"] = field.max_length
        return schema

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and getattr(serializer, "schema_rules", None):
            schema.update(serializer.schema_rules)
        return schema
