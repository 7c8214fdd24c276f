class IntegrationError(Exception):
    """A setup step the hub refuses; `message` says what is wrong and what to do."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
