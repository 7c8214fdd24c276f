from .text import one_full_stop


class IntegrationError(Exception):
    """A setup step the hub refuses; `message` says what is wrong and what to do."""

    def __init__(self, message: str):
        message = one_full_stop(message)
        super().__init__(message)
        self.message = message
