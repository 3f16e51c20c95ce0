"""显示设置 (issue 14): the display mode, a text size beyond elderly mode, high contrast and the
language on one page; a signed-in person's mode stays on the device after signing out."""

import re

from app.accounts.models import DisplayMode
from tests.conftest import login, slot_at, submit
from venues import current_settings as venue_settings
from venues.services.booking import book_general


def test_display_settings_choose_text_size_contrast_and_language(client):
    html = client.get("/display").get_data(as_text=True)
    assert '<span lang="en">English</span>' in html and "<h1" in html
    response = submit(
        client,
        "/display",
        {
            "display_mode": "elderly",
            "text_size": "larger",
            "colour_scheme": "contrast",
            "locale": "en",
        },
    )
    assert response.status_code == 302
    html = client.get("/help").get_data(as_text=True)
    assert '<html lang="en" class="mode-elderly text-larger scheme-contrast">' in html
    # The settings page shows what is chosen, and the other language marked as Chinese.
    html = client.get("/display").get_data(as_text=True)
    assert '<span lang="zh-CN">中文</span>' in html
    assert '<input checked class="radio-input" id="colour_scheme-1"' in html
    submit(
        client,
        "/display",
        {
            "display_mode": "standard",
            "text_size": "standard",
            "colour_scheme": "standard",
            "locale": "zh_CN",
        },
    )
    assert '<html lang="zh-CN" class="mode-standard">' in client.get("/help").get_data(as_text=True)


def test_a_wrong_answer_is_refused_with_its_own_message(client):
    response = submit(client, "/display", {"display_mode": "elderly", "text_size": "huge"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "error-summary" in html
    assert '<a href="#text_size">请选择“文字大小”</a>' in html


def test_elderly_mode_of_a_signed_in_person_survives_sign_out(client, make_user, session):
    user = make_user(display_mode=DisplayMode.ELDERLY)  # chosen at the service desk, say
    login(client, user.login_name)
    assert 'class="mode-elderly"' in client.get("/").get_data(as_text=True)
    submit(client, "/logout", {})
    assert 'class="mode-elderly"' in client.get("/").get_data(as_text=True)


def test_the_statement_gives_figures_and_known_issues(client):
    html = client.get("/accessibility").get_data(as_text=True)
    assert "已知问题" in html and "axe-core 4.12" in html and "24 像素（18 磅）" in html
    assert "共 116 项页面检查" in html and 'href="tel:12345"' in html
    submit(client, "/language", {"locale": "en", "next": "/"}, form_url="/")
    html = client.get("/accessibility").get_data(as_text=True)
    assert "Known issues" in html and "30 November 2026" in html


def _headings(html: str) -> tuple[list[str], list[str]]:
    """The page's <h1> texts and its legends' contents, tags kept."""
    main = html.split('id="main"', 1)[1]
    h1s = re.findall(r"<h1[^>]*>(.*?)</h1>", main, re.S)
    return h1s, re.findall(r"<legend[^>]*>(.*?)</legend>", main, re.S)


def test_display_is_a_page_of_several_questions_each_a_heading_in_its_legend(client):
    # GOV.UK: a page asking several questions has its own <h1>; each question is the legend of
    # its fieldset, holding an <h2> so that screen readers list and jump between them.
    h1s, legends = _headings(client.get("/display").get_data(as_text=True))
    assert h1s == ["显示设置"]
    assert all(re.fullmatch(r'<h2 class="legend-heading">[^<]+</h2>', one) for one in legends)
    assert [re.sub(r"<[^>]+>", "", one) for one in legends] == [
        "页面怎样显示？",
        "文字大小",
        "颜色",
        "语言",
    ]


def test_the_party_size_steps_ask_their_question_as_the_h1_in_the_legend(
    client, session, make_venue, make_user
):
    venue = make_venue(capacity=12)
    slot = slot_at(session, venue.spaces[0], 1, 10)
    person = make_user()
    login(client, person.login_name)
    h1s, legends = _headings(client.get(f"/venues/slots/{slot.id}/book").get_data(as_text=True))
    assert legends == [f'<h1 class="legend-heading">{h1s[0]}</h1>'] and len(h1s) == 1
    booking = book_general(
        session, person, person, slot.id, 2, idempotency_key=None, settings=venue_settings()
    )
    page = client.get(f"/bookings/{booking.reference}/people").get_data(as_text=True)
    h1s, legends = _headings(page)
    assert legends == [f'<h1 class="legend-heading">{h1s[0]}</h1>'] and len(h1s) == 1
