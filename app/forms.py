"""Glue between domain errors and WTForms, used by every view that submits a form, and the
input policy (app/text.py) installed on every form."""

from __future__ import annotations

from flask import has_request_context, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.form import _Auto
from wtforms import HiddenField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Length, StopValidation
from wtforms.widgets import CheckboxInput, ListWidget

from app import text
from app.errors import DomainError


def _submitted(field) -> tuple[list[str], bool]:
    """What the request sent for `field` (its own name, or its parts: `day-year`...) as it
    came, and whether one of those values had a NUL (dropped by app/urls.py before anyone read
    them). Fields may strip or parse what they get; the policy looks at what was sent."""
    if not has_request_context():
        return [], False
    values, nul = [], False
    for source in (request.args, request.form):
        for key, value in source.items(multi=True):
            if isinstance(key, str) and (key == field.name or key.startswith(field.name + "-")):
                values.append(value)
                nul = nul or key in getattr(source, "had_nul", ())
    return values, nul


def _default_limit(field) -> int | None:
    """The policy's limit for a text field that has none of its own (hidden fields are the
    views' business: they cut or refuse their own values)."""
    if not isinstance(field, StringField) or isinstance(field, HiddenField):
        return None
    if any(isinstance(v, Length) and v.max not in (None, -1) for v in field.validators):
        return None
    return text.LONG if isinstance(field, TextAreaField) else text.LINE


def text_policy(form, field) -> None:
    """The input policy (app/text.py) as the first validator of every field: a control
    character anywhere in what was sent, or a text field without a limit of its own longer than
    the policy's default, stops the field's validation with the policy's message (first, so
    that Optional() cannot wave through a value of invisible characters); CR LF becomes LF.
    Hidden fields lose their control characters instead (see below)."""
    if field.type == "CSRFTokenField":
        return
    if isinstance(field, HiddenField):
        # The page's own value (an action, an idempotency key), never typed by a person: a
        # control character there means a tampered request, and an error on a field nobody can
        # see would help no one. It is removed; the view judges what is left.
        if isinstance(field.data, str):
            field.data = text.CONTROL.sub("", text.normalise_newlines(field.data))
        return
    sent, nul = _submitted(field)
    if nul or any(
        text.control_error(v) for v in [*sent, *(field.raw_data or ())] if isinstance(v, str)
    ):
        raise StopValidation(str(text.CONTROL_MESSAGE))
    if isinstance(field.data, str):
        field.data = text.normalise_newlines(field.data)
        limit = _default_limit(field)
        if limit is not None and len(field.data) > limit:
            raise StopValidation(str(DomainError(text.TOO_LONG_MESSAGE, n=limit)))


class _PolicyMeta(FlaskForm.Meta):
    def wrap_formdata(self, form, formdata):
        # A post refused for its lost CSRF token is shown again as its GET page with what was
        # typed (app/error_pages.py): the forms read it as their data, unvalidated.
        wrapped = super().wrap_formdata(form, formdata)
        if wrapped is None and formdata is _Auto and has_request_context():
            from app.error_pages import replayed_formdata

            return replayed_formdata()
        return wrapped

    def bind_field(self, form, unbound_field, options):
        field = super().bind_field(form, unbound_field, options)
        field.validators = [text_policy, *field.validators]  # a new list: the class's is shared
        field.post_validate = _friendly_errors(field, field.post_validate)
        return field


# WTForms' own messages say what is wrong in general ("This field is required.", in Chinese
# "该字段是必填字段。"); each is replaced by one that names the field and says what to do.
_REQUIRED = ("This field is required.",)
_NUMBER = ("Not a valid integer value.", "Not a valid decimal value.", "Not a valid float value.")
_CHOICE = ("Not a valid choice.", "'%(value)s' is not a valid choice for this field.")
_CHOICE_FIELDS = ("RadioField", "SelectField", "SelectMultipleField", "MultiCheckboxField")


def friendly_message(field, message: str) -> str:
    """`message`, or the field-specific one that replaces a WTForms default."""
    from flask_babel import gettext

    def default(*ids):
        return message in ids or message in {field.gettext(i) for i in ids}

    label = field.label.text if field.label else ""
    if field.type in _CHOICE_FIELDS and (default(*_REQUIRED) or default(*_CHOICE)):
        return gettext("Choose an answer for “%(label)s”", label=label)
    if default(*_REQUIRED):
        return gettext("Enter “%(label)s”", label=label)
    if default(*_NUMBER):
        return gettext("Enter “%(label)s” as a number in figures, for example 2", label=label)
    if default("Invalid input.", "Invalid value.", "Not a valid datetime value."):
        return gettext("Check “%(label)s”: it is not in the form asked for", label=label)
    return message


def _friendly_errors(field, post_validate):
    def run(form, stop_validation):
        post_validate(form, stop_validation)
        if field.errors and field.type != "CSRFTokenField" and isinstance(field.errors, list):
            field.errors = [friendly_message(field, str(e)) for e in field.errors]

    return run


def form_was_sent(form, args=None) -> bool:
    """Whether a GET form was really sent: the query has every text and select field of the
    form (a browser sends each, empty or not), not only the few a link prefills (the fee
    calculator opened from a car park's page, ?car_park=3, must not show errors)."""
    args = request.args if args is None else args
    names = [
        f.name
        for f in form
        if f.type not in ("CSRFTokenField", "RadioField", "BooleanField", "SubmitField")
        and f.type not in _CHOICE_FIELDS[2:]
    ]
    return bool(names) and all(n in args or any(k.startswith(n + "-") for k in args) for n in names)


def install_text_policy() -> None:
    """Every form of the portal follows the input policy, whoever writes it: every FlaskForm's
    fields get `text_policy` when they are bound (wtforms' Meta.bind_field hook). Installed on
    FlaskForm itself rather than on a base class of ours, so that a new form cannot miss it
    (tests/test_output_policy.py sends a control character to every field of every form)."""
    if not issubclass(FlaskForm.Meta, _PolicyMeta):
        FlaskForm.Meta = _PolicyMeta


install_text_policy()


# Monday first, as a weekday's number in Python (date.weekday()) indexes it.
WEEKDAY_LABELS = [
    _l("Monday"),
    _l("Tuesday"),
    _l("Wednesday"),
    _l("Thursday"),
    _l("Friday"),
    _l("Saturday"),
    _l("Sunday"),
]


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes (easier to use than a multi-select)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


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
            items.append(
                (
                    target,
                    field.errors[0] if isinstance(field.errors, list) else next(iter(field.errors)),
                )
            )
    return items


def submit_to_service(form, action, *, success, then):
    """The POST half of a form view: validate, call the service, and either show its refusal on
    the form (nothing saved, answers kept) or flash `success` and redirect to `then` (a URL, or a
    function of the action's result giving one; `success` may be a function of it too). Returns
    the redirect, or None when the page should be shown (again). A refusal raised inside the
    service's unit of work has already rolled it back, so there is nothing to undo here."""
    from flask import flash, redirect

    if not form.validate_on_submit():
        return None
    try:
        result = action()
    except DomainError as error:
        add_error(form, error)
        return None
    flash(success(result) if callable(success) else success, "success")
    return redirect(then(result) if callable(then) else then)
