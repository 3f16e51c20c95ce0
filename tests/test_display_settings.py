"""显示设置 (issue 14): the display mode, a text size beyond elderly mode, high contrast and the
language on one page; a signed-in person's mode stays on the device after signing out."""

from app.accounts.models import DisplayMode
from tests.conftest import login, submit


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
