"""The portal's own error pages (issue 14, section 3): a lost form token and an upload over the
limit show the form again, in the person's language, with the hotline; nothing is acted on."""

import io

from sqlalchemy import func, select

from app.accounts.models import User
from tests.conftest import login, submit


def test_a_post_without_its_token_shows_the_form_again_with_what_was_typed(client, session):
    users = session.scalar(select(func.count()).select_from(User))
    # The phone killed the tab: the session (and its token) is gone, the typed values are not.
    response = client.post("/login?with=password", data={"login": "赵老伯", "password": "x"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "为了您的安全，这张表没有提交" in html  # the explanation, in Chinese
    assert 'value="赵老伯"' in html  # what was typed, back in its field
    assert 'name="password"' in html and 'value="x"' not in html  # a password is typed again
    assert 'href="tel:12345"' in html
    assert "error-summary" not in html  # the form was not validated: nothing is wrong with it
    # The page carries a fresh token: sending it again works (and signs in nobody here).
    assert session.scalar(select(func.count()).select_from(User)) == users


def test_a_post_only_form_without_its_token_gets_the_portals_page_in_english(client):
    submit(client, "/language", {"locale": "en", "next": "/"}, form_url="/")
    response = client.post("/display/elderly", data={"next": "/help"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "This form was not sent" in html and 'lang="en"' in html
    assert 'href="tel:12345"' in html and "Bad Request" not in html
    assert 'class="mode-standard"' in html  # the refused post changed nothing


def test_a_signed_in_form_keeps_its_values_after_a_lost_token(client, make_user, session):
    user = make_user()
    login(client, user.login_name)
    response = client.post("/profile", data={"name": "新名字"})
    assert response.status_code == 400
    assert 'value="新名字"' in response.get_data(as_text=True)  # over the saved name
    session.refresh(user)
    assert user.name != "新名字"  # and not saved
    # Sent again with the page's fresh token, it is.
    assert submit(client, "/profile", {"name": "新名字"}).status_code in (200, 302)


def test_an_upload_over_the_limit_is_the_portals_page_saying_the_limit(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = client.post(
        "/login", data={"phone": "13900000000", "f": (io.BytesIO(b"x" * 5000), "a.jpg")}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "10 MB" in html and 'href="tel:12345"' in html
    assert "Request Entity Too Large" not in html


def test_a_photo_field_states_the_size_limit(app):
    from flask import render_template_string
    from flask_wtf import FlaskForm
    from flask_wtf.file import FileField

    class F(FlaskForm):
        photo = FileField("Photo", description="A clear picture.")

    with app.test_request_context("/"):
        html = render_template_string(
            '{% from "macros/forms.html" import field %}{{ field(form.photo) }}', form=F()
        )
    assert "A clear picture. 每张照片不超过 10 MB。" in html
    assert f'data-max-bytes="{10 * 1024 * 1024}"' in html and "data-too-large=" in html


def test_the_hotline_is_a_tap_to_call_link_wherever_shown(client, app):
    for path in ("/help", "/login", "/privacy", "/password/forgot", "/accessibility"):
        main = client.get(path).get_data(as_text=True).split("<main", 1)[1].split("</main>")[0]
        assert '<a href="tel:12345" class="nowrap">12345</a>' in main, path
    app.config["PORTAL_HOTLINE"] = "021-12345"  # configurable; dialled without the dash
    html = client.get("/help").get_data(as_text=True)
    assert '<a href="tel:02112345" class="nowrap">021-12345</a>' in html


def test_a_form_its_page_does_not_show_is_offered_to_send_again(client):
    """The password tab posts to /login, whose page shows the code tab: the page that sends the
    values again with a fresh token (when the person presses it) instead."""
    response = client.post("/login", data={"login": "zhao", "password": "secret-1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "这张表没有提交" in html
    assert '<input type="hidden" name="login" value="zhao">' in html
    assert "secret-1" not in html and "再提交一次" in html
    token = html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    again = client.post("/login", data={"csrf_token": token, "login": "zhao"})
    assert again.status_code == 200 and "请填写密码" in again.get_data(as_text=True)
