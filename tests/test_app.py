import pytest

from app import create_app
from app.config import ProductionConfig


def test_production_refuses_the_development_secret(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(ProductionConfig)


def test_production_takes_the_secret_from_the_environment(monkeypatch):
    import importlib

    import app.config

    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    config = importlib.reload(app.config)
    try:
        built = create_app(config.ProductionConfig)
        assert built.config["SECRET_KEY"] == "s" * 40
        monkeypatch.setenv("SECRET_KEY", "short")
        config = importlib.reload(app.config)
        with pytest.raises(RuntimeError):
            create_app(config.ProductionConfig)
    finally:
        monkeypatch.delenv("SECRET_KEY")
        importlib.reload(app.config)


def test_production_starts_with_a_secret():
    app = create_app(
        {
            **{k: getattr(ProductionConfig, k) for k in dir(ProductionConfig) if k.isupper()},
            "SECRET_KEY": "x" * 40,
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
        }
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"


def test_forms_without_csrf_token_are_refused(client):
    response = client.post("/display/elderly", data={"next": "/"})
    assert response.status_code == 400
    assert 'class="mode-standard"' in client.get("/").get_data(as_text=True)


def test_not_found_page_is_friendly(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "找不到页面" in response.get_data(as_text=True)


def test_session_cookie_flags(client, make_user):
    from tests.conftest import login

    user = make_user()
    response = login(client, user.phone)
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    assert "session" in cookies
    # The session and the device's preferences (display mode, language) alike: never readable
    # by a script, never sent by another site's post.
    for cookie in cookies.values():
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie, cookie


def test_home_lists_the_three_services(client):
    html = client.get("/").get_data(as_text=True)
    for href in ('href="/venues"', 'href="/parking"', 'href="/repairs"'):
        assert href in html
    assert client.get("/venues").status_code == 200


@pytest.mark.parametrize("url", ["", "http://portal.example.gov.cn", "https://"])
def test_production_refuses_without_its_public_https_address(url):
    """Links in messages start with PORTAL_URL: unset or not https, production refuses to start
    rather than send links to the development server."""
    config = {
        **{k: getattr(ProductionConfig, k) for k in dir(ProductionConfig) if k.isupper()},
        "SECRET_KEY": "x" * 40,
        "SQLALCHEMY_DATABASE_URI": "sqlite://",
        "PORTAL_URL": url,
    }
    with pytest.raises(RuntimeError, match="PORTAL_URL"):
        create_app(config)
