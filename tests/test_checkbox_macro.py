"""The checkbox macro shows its own error next to the box, as the other field macros do: the
message with a visually hidden "Error:" prefix, the group marked, the box described by it."""

from flask import render_template_string
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField
from wtforms.validators import DataRequired


class ConfirmForm(FlaskForm):
    class Meta:
        csrf = False

    confirm = BooleanField("I understand", validators=[DataRequired("Tick the box to go on")])


TEMPLATE = (
    '{% from "macros/forms.html" import checkbox, error_summary %}'
    "{{ error_summary(form) }}{{ checkbox(form.confirm) }}"
)


def test_checkbox_macro_renders_its_error_next_to_the_box(app):
    with app.test_request_context():
        form = ConfirmForm(formdata=MultiDict({}))
        assert not form.validate()
        html = render_template_string(TEMPLATE, form=form)
        ok = ConfirmForm(formdata=MultiDict({"confirm": "y"}))
        assert ok.validate()
        clean = render_template_string(TEMPLATE, form=ok)
    message = (
        '<p id="confirm-error" class="error-message">'
        '<span class="visually-hidden">错误：</span> Tick the box to go on</p>'
    )
    assert message in html
    assert 'class="form-group form-group-error"' in html
    assert 'aria-describedby="confirm-error"' in html and 'aria-invalid="true"' in html
    assert 'href="#confirm"' in html  # the summary still links to the box
    assert "error-message" not in clean and "aria-invalid" not in clean
    assert "form-group-error" not in clean and "aria-describedby" not in clean
