"""One error family for the warehouse services; views and the API turn it into a clear message."""


class WarehouseError(Exception):
    """A request the warehouse refuses. `message` is written for a person."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidTransition(WarehouseError):
    status_code = 409
    code = "invalid_transition"


class InsufficientStock(WarehouseError):
    status_code = 409
    code = "insufficient_stock"


class NotFound(WarehouseError):
    status_code = 404
    code = "not_found"


class DuplicateReference(WarehouseError):
    status_code = 409
    code = "duplicate_reference"
