"""One human date format per language (issue 14, section 5): "12月1日（周二）10:00–11:00" and
"Tue 1 Dec, 10:00–11:00"; no seconds, no time-zone names, 24-hour clock, months as 2026年12月."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from flask import render_template_string
from flask_babel import force_locale

from app.i18n import human_date, human_datetime, human_month, human_span
from app.notifications.params import render_value, when

SH = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 12, 1, 10, 0, tzinfo=SH)
END = datetime(2026, 12, 1, 11, 0, tzinfo=SH)


@pytest.mark.now("2026-11-30 08:00:00+08:00")
@pytest.mark.parametrize(
    "lang, span, month, next_year, evening, long",
    [
        (
            "zh_CN",
            "12月1日（周二）10:00–11:00",
            "2026年12月",
            "2027年1月5日（周二）",
            "12月1日（周二）22:00 – 12月2日（周三）06:00",
            "2026年11月21日",
        ),
        (
            "en",
            "Tue 1 Dec, 10:00–11:00",
            "December 2026",
            "Tue 5 Jan 2027",
            "Tue 1 Dec, 22:00 – Wed 2 Dec, 06:00",
            "21 November 2026",
        ),
    ],
)
def test_one_human_format_per_language(app, frozen, lang, span, month, next_year, evening, long):
    with app.test_request_context("/"), force_locale(lang):
        assert human_span(START, END) == span
        assert human_month(date(2026, 12, 1)) == month
        assert human_date(date(2027, 1, 5)) == next_year
        assert human_span(START.replace(hour=22), datetime(2026, 12, 2, 6, tzinfo=SH)) == evening
        assert human_date(date(2026, 11, 21), "long") == long
        # Templates: every Babel style name gives the same human text; never seconds or a zone.
        shown = render_template_string(
            "{{ t | datetime }}|{{ t | datetime('full') }}|{{ t | datetime('HH:mm:ss') }}"
            "|{{ t.date() | date('full') }}",
            t=START,
        )
        assert shown.split("|") == [
            human_datetime(START),
            human_datetime(START),
            "10:00",
            span.split("10:00")[0].rstrip(", "),
        ]
        assert "中国标准时间" not in shown and ":00:00" not in shown and "AM" not in shown
        # Messages render their date-times the same way when read.
        assert render_value(when(START), lang) == human_datetime(START)


@pytest.mark.now("2026-11-30 08:00:00+08:00")
def test_a_utc_time_is_shown_in_shanghai(app, frozen):
    with app.test_request_context("/"), force_locale("zh_CN"):
        assert human_datetime(datetime(2026, 12, 1, 2, 0, tzinfo=ZoneInfo("UTC"))) == (
            "12月1日（周二）10:00"
        )
