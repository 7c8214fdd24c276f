"""Cursor pagination that refuses what it cannot read: a forged cursor is a 404, a bad page size a 400."""

from __future__ import annotations

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination


def _ascii_digits(value) -> bool:
    return isinstance(value, str) and value.isascii() and value.isdigit()


class DefaultCursorPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "-id"
    invalid_cursor_message = "Invalid cursor: follow the `next` and `previous` links as given."

    def decode_cursor(self, request):
        cursor = super().decode_cursor(request)
        # The position is the last id seen (we order by id): anything else was not written by us and would
        # reach the database as a bad comparison.
        if cursor is not None and cursor.position is not None and not (
                _ascii_digits(cursor.position) and len(cursor.position) <= 19):
            raise NotFound(self.invalid_cursor_message)
        return cursor

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not _ascii_digits(raw) or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: [
                f"A whole number from 1 to {self.max_page_size}."]})
        return int(raw)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
            if parameter["name"] == self.cursor_query_param:
                parameter["description"] += " An unknown or altered cursor is a 404."
        return parameters
