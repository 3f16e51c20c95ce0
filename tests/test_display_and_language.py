from app.accounts.models import DisplayMode
from tests.conftest import login, submit


def test_chinese_is_the_default(client):
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-CN" class="mode-standard">' in html
    assert "长辈模式" in html and "物业百事通" in html and "闵行区" in html


def test_english_is_one_click_away_and_remembered(client):
    response = submit(client, "/language", {"locale": "en", "next": "/help"}, form_url="/")
    assert response.status_code == 302 and response.headers["Location"] == "/help"
    html = client.get("/").get_data(as_text=True)
    assert 'lang="en"' in html and "Minhang District" in html and "Elderly mode" in html
    submit(client, "/language", {"locale": "zh_CN"}, form_url="/")
    assert 'lang="zh-CN"' in client.get("/").get_data(as_text=True)


def test_unknown_language_is_ignored(client):
    submit(client, "/language", {"locale": "fr"}, form_url="/")
    assert 'lang="zh-CN"' in client.get("/").get_data(as_text=True)


def test_elderly_mode_toggles_for_a_visitor_without_javascript(client):
    response = submit(client, "/display/elderly", {"next": "/help"}, form_url="/help")
    assert response.headers["Location"] == "/help"
    html = client.get("/help").get_data(as_text=True)
    assert 'class="mode-elderly"' in html
    header = html.split("</header>", 1)[0]
    assert "退出长辈模式" in header and "aria-pressed" not in header  # its label says it, not both
    # Secondary navigation is hidden in elderly mode.
    assert 'class="service-nav"' not in html
    submit(client, "/display/elderly", {"next": "/"}, form_url="/")
    html = client.get("/").get_data(as_text=True)
    assert 'class="mode-standard"' in html and 'class="service-nav"' in html


def test_elderly_mode_is_a_user_setting(client, make_user, session):
    user = make_user()
    login(client, user.phone)
    submit(client, "/display/elderly", {"next": "/"}, form_url="/")
    session.refresh(user)
    assert user.display_mode == DisplayMode.ELDERLY
    # A new browser signing in gets the saved mode.
    other = client.application.test_client()
    login(other, user.phone)
    assert 'class="mode-elderly"' in other.get("/").get_data(as_text=True)


def test_a_visitor_choice_is_kept_on_sign_in(client, make_user, session):
    user = make_user()
    submit(client, "/display/elderly", {"next": "/"}, form_url="/")
    submit(client, "/language", {"locale": "en"}, form_url="/")
    login(client, user.phone)
    session.refresh(user)
    assert user.display_mode == DisplayMode.ELDERLY and user.locale == "en"


def test_large_text_alone(client):
    response = submit(client, "/display", {"display_mode": "large"})
    assert response.status_code == 302
    html = client.get("/").get_data(as_text=True)
    assert 'class="mode-large"' in html and 'class="service-nav"' in html


def test_display_setting_must_be_chosen(client):
    response = submit(client, "/display", {"display_mode": "sparkly"})
    assert "<title>错误：" in response.get_data(as_text=True)


def test_next_cannot_leave_the_site(client):
    response = submit(client, "/display/elderly", {"next": "//evil.example/x"}, form_url="/")
    assert response.headers["Location"] == "/"


def test_every_page_has_help_block_skip_link_and_landmarks(client):
    for url in [
        "/",
        "/login",
        "/register",
        "/help",
        "/accessibility",
        "/display",
        "/venues",
        "/parking",
        "/repairs",
        "/no-such-page",
    ]:
        html = client.get(url).get_data(as_text=True)
        assert 'class="skip-link" href="#main"' in html, url
        assert '<main id="main"' in html and "<header" in html and "<footer" in html, url
        assert 'aria-labelledby="help-block-title"' in html and "12345" in html, url
        assert 'action="/display/elderly"' in html, url


def test_accessibility_statement(client):
    html = client.get("/accessibility").get_data(as_text=True)
    assert "无障碍声明" in html and "WCAG" in html and "2026年11月30日" in html
