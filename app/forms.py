"""Glue between domain errors and WTForms, used by every view that submits a form."""
from __future__ import annotations

from app.errors import DomainError


def add_error(form, error: DomainError) -> None:
    """Show a service's refusal on the form: on its field when it names one, else at the top."""
    field = getattr(form, error.field, None) if error.field else None
    message = str(error)
    if field is not None:
        field.errors = list(field.errors) + [message]
    else:
        form.form_errors.append(message)


def member_or_none(enum, value):
    """The member of `enum` a filter's value names, or None (no filter) for an empty or unknown
    one. Optional() lets a blank " " through a SelectField's choice check, and an unknown value
    was a server error (tests/test_fuzz.py)."""
    try:
        return enum(value) if value else None
    except ValueError:
        return None


def error_list(form) -> list[tuple[str | None, str]]:
    """(field id or None, message) for the error summary, in the order fields appear."""
    items = [(None, message) for message in form.form_errors]
    for field in form:
        if field.errors:
            target = None if field.type == "CSRFTokenField" else field.id
            items.append((target, field.errors[0] if isinstance(field.errors, list)
                          else next(iter(field.errors))))
    return items


def submit_to_service(form, action, *, success, then):
    """The POST half of a form view: validate, call the service, and either show its refusal on
    the form (nothing saved, answers kept) or flash `success` and redirect to `then` (a URL, or a
    function of the action's result giving one; `success` may be a function of it too). Returns
    the redirect, or None when the page should be shown (again)."""
    from flask import flash, redirect

    from app.extensions import db

    if not form.validate_on_submit():
        return None
    try:
        result = action()
    except DomainError as error:
        db.session.rollback()
        add_error(form, error)
        return None
    flash(success(result) if callable(success) else success, "success")
    return redirect(then(result) if callable(then) else then)
