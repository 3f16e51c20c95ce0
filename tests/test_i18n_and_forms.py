"""Every user-facing string is in the catalogues and translated; the accessible form pieces
behave as the GOV.UK patterns say."""

import subprocess
import sys
from datetime import UTC, date
from pathlib import Path

from babel.messages.pofile import read_po
from flask import render_template_string
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict

from accessibility.forms import DatePartsField

ROOT = Path(__file__).resolve().parent.parent
ZH_PO = ROOT / "app/translations/zh_Hans_CN/LC_MESSAGES/messages.po"


def _ids(catalog):
    return {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in catalog if m.id}


def test_catalogue_covers_the_source_and_chinese_is_complete(tmp_path):
    pot = tmp_path / "fresh.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "N_",
            "-k",
            "lazy_gettext",
            "-k",
            "lazy_pgettext:1c,2",
            "-k",
            "pgettext:1c,2",
            "-k",
            "counted:2,3",  # app.notifications.params.counted(n, singular, plural)
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    source_ids = _ids(read_po(pot.open("rb")))
    zh = read_po(ZH_PO.open("rb"), locale="zh_Hans_CN")
    missing = source_ids - _ids(zh)
    assert not missing, f"not in the zh catalogue (run `make i18n-extract`): {sorted(missing)[:10]}"
    untranslated = [
        m.id
        for m in zh
        if m.id
        and (m.context, m.id if isinstance(m.id, str) else m.id[0]) in source_ids
        and (not m.string or (isinstance(m.string, tuple) and not all(m.string)))
    ]
    assert not untranslated, f"untranslated: {untranslated[:10]}"
    fuzzy = [m.id for m in zh if m.id and m.fuzzy]
    assert not fuzzy, f"fuzzy translations to check: {fuzzy[:10]}"


class BirthForm(FlaskForm):
    class Meta:
        csrf = False

    born = DatePartsField("Date of birth")


def test_date_parts_field_parses_and_keeps_bad_answers(app):
    with app.test_request_context():
        form = BirthForm(
            formdata=MultiDict({"born-year": "1950", "born-month": "3", "born-day": "27"})
        )
        assert form.validate() and form.born.data == date(1950, 3, 27)
        form = BirthForm(
            formdata=MultiDict({"born-year": "1950", "born-month": "2", "born-day": "30"})
        )
        assert not form.validate()
        assert form.born.raw == {"year": "1950", "month": "2", "day": "30"}
        assert "真实的日期" in str(form.born.errors[0])
        form = BirthForm(formdata=MultiDict({"born-year": "1950"}))
        assert not form.validate() and "年、月、日" in str(form.born.errors[0])


def test_date_input_macro_renders_labelled_parts_with_error(app):
    with app.test_request_context():
        form = BirthForm(
            formdata=MultiDict({"born-year": "1950", "born-month": "13", "born-day": "1"})
        )
        form.validate()
        html = render_template_string(
            '{% from "macros/forms.html" import date_input, error_summary %}'
            "{{ error_summary(form) }}{{ date_input(form.born) }}",
            form=form,
        )
    assert '<legend class="legend">Date of birth</legend>' in html
    for part, label in (("born", "年"), ("born-month", "月"), ("born-day", "日")):
        assert f'<label class="label" for="{part}">{label}</label>' in html
    assert 'value="13"' in html and 'aria-invalid="true"' in html
    assert 'href="#born"' in html  # the summary links to the first box of the date


def test_field_macro_ties_hint_and_error_to_the_input(client):
    from tests.conftest import submit

    html = submit(
        client, "/register", {"phone": "1", "name": "", "password": "", "confirm": ""}
    ).get_data(as_text=True)
    assert 'aria-describedby="phone-hint phone-error"' in html
    assert 'id="phone-error"' in html and 'aria-invalid="true"' in html
    assert '<span class="visually-hidden">错误：</span>' in html


def test_money_and_times_follow_the_locale(app):
    from datetime import datetime

    from flask import g
    from flask_babel import format_datetime, refresh

    from app.i18n import format_fen

    moment = datetime(2026, 3, 1, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai
    with app.test_request_context():
        assert format_fen(1250) == "¥12.50"
        assert "08:30" in format_datetime(moment, "short") and "2026" in format_datetime(
            moment, "short"
        )
        g.locale_override = "en"
        refresh()
        assert format_fen(1250) == "¥12.50"
        assert "8:30" in format_datetime(moment, "short") and "AM" in format_datetime(
            moment, "short"
        )
