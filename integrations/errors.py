from .text import one_full_stop


class IntegrationError(Exception):
    """A setup step the hub refuses; `message` says what is wrong and what to do, `field` the form field it
    is about (None: the form as a whole)."""

    def __init__(self, message: str, *, field: str | None = None):
        message = one_full_stop(message)
        super().__init__(message)
        self.message = message
        self.field = field
