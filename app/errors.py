"""Expected failures of domain operations.

Services raise `DomainError` subclasses with a translatable message; views show the message to
the person, the API returns it in the common error format with the status and code given here.
"""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    code = "invalid_request"

    def __init__(
        self,
        message,
        *,
        field: str | None = None,
        code: str | None = None,
        theirs=None,
        **params,
    ):
        super().__init__(str(message))
        self.message = message  # lazy string or message id; rendered with params on display
        self.field = field
        self.params = params
        # The same refusal told to someone acting for the person ("This resident already...")
        # when `message` says "you"; chosen by `addressed`.
        self.theirs = theirs
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


def addressed(error: DomainError, actor, subject) -> DomainError:
    """`error` worded for whoever acts: as it is when a person acts for themselves; in its
    `theirs` wording, which names "this resident" instead of "you", when a community helper or
    the service desk acts for `subject` (app/acting.py). `actor` and `subject` are users or
    their ids. The one place every service words a refusal for a helper; returns `error`."""
    actor_id, subject_id = getattr(actor, "id", actor), getattr(subject, "id", subject)
    if error.theirs is not None and actor_id != subject_id:
        error.message = error.theirs
        error.args = (str(error),)
    return error
