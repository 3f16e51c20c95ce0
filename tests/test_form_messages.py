"""Form errors say what to do with which field (issue 14, section 3), and a form never validates
on arrival."""

import re

from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired

from app.forms import error_list


class Example(FlaskForm):
    people = IntegerField("How many people?", validators=[InputRequired()])
    name = StringField("Name", validators=[DataRequired()])
    size = RadioField("Size", choices=[SelectChoice("s", "Small")], validators=[InputRequired()])


def _errors(app, data, lang="zh_CN"):
    from flask_babel import force_locale

    with app.test_request_context("/", method="POST", data=data), force_locale(lang):
        form = Example(meta={"csrf": False})
        form.validate()
        return dict(error_list(form))


def test_framework_defaults_become_field_specific_messages(app):
    errors = _errors(app, {"people": "two"})
    assert errors == {
        "people": "“How many people?”请填写阿拉伯数字，例如 2",
        "name": "请填写“Name”",
        "size": "请选择“Size”",
    }
    text = str(errors)
    assert "不是有效的整数" not in text and "该字段是必填字段" not in text
    english = _errors(app, {"people": "two", "size": "x"}, lang="en")
    assert english["people"] == "Enter “How many people?” as a number in figures, for example 2"
    assert english["size"] == "Choose an answer for “Size”"


def test_the_summary_links_each_message_to_its_field(client):
    html = client.get(
        "/parking/quote?car_park=1&entry_day-year=&entry_time=&exit_day-year=&exit_time="
    ).get_data(as_text=True)
    summary = html.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    links = re.findall(r'<a href="#([\w-]+)">([^<]+)</a>', summary)
    assert {target for target, _ in links} >= {"entry_day", "entry_time", "exit_time"}
    assert all("该字段" not in message for _, message in links)


def test_the_fee_calculator_opened_from_a_car_park_shows_no_errors(client, car_park, session):
    car_park = car_park()
    session.commit()
    html = client.get(f"/parking/quote?car_park={car_park.id}").get_data(as_text=True)
    assert "error-summary" not in html and "form-group-error" not in html
    assert f'selected value="{car_park.id}"' in html  # the car park is chosen


def test_a_question_page_has_its_question_as_the_h1_inside_the_legend(app):
    from flask import render_template_string

    class Question(FlaskForm):
        size = RadioField("How many people are coming?", choices=[SelectChoice("1", "1")])

    with app.test_request_context("/"):
        html = render_template_string(
            '{% from "macros/forms.html" import radios %}'
            "{{ radios(form.size, legend_class='legend legend-page-title') }}",
            form=Question(meta={"csrf": False}),
        )
    assert (
        '<legend class="legend legend-page-title"><h1 class="legend-heading">'
        "How many people are coming?</h1></legend>"
    ) in html
