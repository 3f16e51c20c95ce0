"""Expected failures of domain operations.

Services raise `DomainError` subclasses with a translatable message; views show the message to
the person, the API returns it in the common error format with the status and code given here.
"""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    code = "invalid_request"

    def __init__(self, message, *, field: str | None = None, code: str | None = None, **params):
        super().__init__(str(message))
        self.message = message  # lazy string or message id; rendered with params on display
        self.field = field
        self.params = params
        if code:
            self.code = code

    def __str__(self) -> str:
        text = str(self.message)
        return text % self.params if self.params else text


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    status = 409
    code = "conflict"
