"""一网通办 single sign-on against a real OpenID Connect provider on loopback
(tests/oidc_provider.py): a full sign-in that creates and links an account with the verified
real name, linking a signed-in account, and every refusal (a tampered id_token, a forged
signature, a wrong nonce, a replayed or unknown state), each with a message and nobody signed
in. Both databases."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from tests.conftest import CSRF_RE, csrf_token, login
from tests.oidc_provider import oidc_provider  # noqa: F401  (the session's provider)

ID_NUMBER = "31011219800101005X"
PERSON = {
    "sub": "ywtb-000123",
    "name": "陈一网",
    "id_number": ID_NUMBER,
    "id_level": "L3",
    "phone_number": "13912345678",
    "phone_number_verified": True,
}


@pytest.fixture
def provider(app, oidc_provider):  # noqa: F811
    app.config.update(oidc_provider.portal_config())
    oidc_provider.reset()
    yield oidc_provider
    oidc_provider.reset()


def start(client, provider, person, *, path="/login"):
    """Press "sign in with 一网通办" and let the provider answer for `person`: the callback
    address the provider sends the browser back to (not yet followed)."""
    provider.person = person
    assert client.get(path).status_code == 200  # the page with the link
    sent = client.get("/identity/sso/start")
    assert sent.status_code == 302, sent.text[:500]
    authorize = sent.headers["Location"]
    assert authorize.startswith(provider.issuer + "/authorize?")
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    answered = requests.get(authorize, allow_redirects=False, timeout=10)
    assert answered.status_code == 302, answered.text
    callback = urlsplit(answered.headers["Location"])
    return f"{callback.path}?{callback.query}"


def consent(client, page, *, agree=True):
    """Answer the new-account page (`page`, the callback's answer) as a person does."""
    assert page.status_code == 200 and 'action="/identity/sso/new-account"' in page.text
    token = CSRF_RE.search(page.text).group(1)
    data = {"csrf_token": token, **({"consent": "y"} if agree else {})}
    return client.post("/identity/sso/new-account", data=data)


def signed_in(client) -> bool:
    return client.get("/identity/real-name").status_code == 200


def test_sign_in_creates_a_linked_resident_with_the_verified_real_name(app, session, provider):
    from app.accounts.models import User
    from app.identity.models import ExternalIdentity, RealName, RealNameLevel

    client = app.test_client()
    assert 'href="/identity/sso/start"' in client.get("/login").text
    page = client.get(start(client, provider, PERSON))
    # First the privacy notice: without consent nothing is made and nobody is signed in.
    refused = consent(client, page, agree=False)
    assert refused.status_code == 200 and 'href="#consent"' in refused.text
    assert session.scalar(select(ExternalIdentity)) is None and not signed_in(client)
    answer = consent(client, refused)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/identity/real-name")
    # The consent is taken once: sending it again makes nothing more.
    assert consent(client, refused).status_code == 400
    page = client.get("/identity/real-name").text
    assert "3101**********005X" in page and ID_NUMBER not in page and "陈一网" in page

    identity = session.scalar(select(ExternalIdentity))
    assert (identity.issuer, identity.subject) == (provider.issuer, "ywtb-000123")
    user = session.get(User, identity.user_id)
    assert (user.name, user.phone) == ("陈一网", "13912345678")
    assert user.privacy_consented_at is not None and not user.password_set
    record = session.scalar(select(RealName).where(RealName.user_id == user.id))
    assert (record.level, record.provider) == (RealNameLevel.VERIFIED_BY_PROVIDER, provider.issuer)

    # Signing in again finds the same account; nothing new is made.
    again = app.test_client()
    assert again.get(start(again, provider, PERSON)).status_code == 302
    assert signed_in(again)
    assert (
        session.scalar(select(ExternalIdentity.id).where(ExternalIdentity.id != identity.id))
        is None
    )


def test_a_signed_in_resident_links_their_identity_and_unlinks_it(
    app, session, provider, make_user
):
    from app.identity.models import ExternalIdentity, RealName, RealNameLevel

    resident = make_user()
    client = app.test_client()
    login(client, resident.phone)
    person = {**PERSON, "sub": "ywtb-link", "phone_number": "13700000001"}
    answer = client.get(start(client, provider, person, path="/identity/real-name"))
    assert answer.status_code == 302
    identity = session.scalar(select(ExternalIdentity))
    identity_id = identity.id
    assert identity.user_id == resident.id
    assert session.scalar(select(RealName.level)) == RealNameLevel.VERIFIED_BY_PROVIDER

    # A level claim the portal does not trust is recorded as declared, never as verified; and
    # it does not lower the verified level already there.
    other = make_user()
    client2 = app.test_client()
    login(client2, other.phone)
    weak = {**PERSON, "sub": "ywtb-weak", "id_number": "310112198001010033", "id_level": "L1"}
    client2.get(start(client2, provider, weak, path="/identity/real-name"))
    assert session.scalar(select(RealName.level).where(RealName.user_id == other.id)) == (
        RealNameLevel.SELF_DECLARED
    )

    # Unlink: a confirmation page, then gone (the resident still has a password).
    url = f"/identity/linked/{identity_id}/unlink"
    assert client.get(url).status_code == 200
    assert client2.get(url).status_code == 404  # someone else's
    gone = client.post(url, data={"csrf_token": csrf_token(client, url)})
    assert gone.status_code == 302
    assert (
        session.scalar(select(ExternalIdentity).where(ExternalIdentity.id == identity_id)) is None
    )


def test_an_account_made_by_sso_cannot_unlink_its_only_way_in(app, session, provider):
    from app.identity.models import ExternalIdentity

    client = app.test_client()
    consent(
        client,
        client.get(start(client, provider, {**PERSON, "sub": "only-way", "phone_number": None})),
    )
    identity = session.scalar(select(ExternalIdentity))
    url = f"/identity/linked/{identity.id}/unlink"
    refused = client.post(url, data={"csrf_token": csrf_token(client, url)})
    assert refused.status_code == 200 and "error-summary" in refused.text
    assert session.get(ExternalIdentity, identity.id) is not None


@pytest.mark.parametrize("tamper", ["payload", "signature"])
def test_a_tampered_id_token_is_refused(app, session, provider, tamper):
    from app.accounts.models import User

    users = session.scalar(select(User.id).order_by(User.id.desc()))
    client = app.test_client()
    callback = start(client, provider, PERSON)
    provider.tamper = tamper
    refused = client.get(callback)
    assert refused.status_code == 400
    assert 'id="sso-refusal"' in refused.text
    assert not signed_in(client)
    assert session.scalar(select(User.id).order_by(User.id.desc())) == users  # nobody made


def test_a_wrong_nonce_is_refused(app, session, provider):
    client = app.test_client()
    callback = start(client, provider, PERSON)
    provider.nonce_override = "not-the-nonce-we-sent"
    refused = client.get(callback)
    assert refused.status_code == 400 and 'id="sso-refusal"' in refused.text
    assert not signed_in(client)


def test_a_replayed_or_unknown_state_is_refused(app, session, provider):
    from app.identity.models import SignInRequest

    client = app.test_client()
    callback = start(client, provider, PERSON)
    before = client.get_cookie("session").value  # the cookie as it was before the answer
    assert consent(client, client.get(callback)).status_code == 302 and signed_in(client)
    assert session.scalar(select(SignInRequest)) is None  # the request was taken

    # The same answer again, even with the cookie from before it: refused, nobody signed in.
    replay = app.test_client()
    replay.set_cookie("session", before)
    token_requests = provider.token_requests
    refused = replay.get(callback)
    assert refused.status_code == 400 and 'id="sso-refusal"' in refused.text
    assert provider.token_requests == token_requests  # refused before the code was used
    assert not signed_in(replay)

    # A state nobody started, and an answer without one.
    stranger = app.test_client()
    for query in ("?state=made-up&code=x", "?code=x", ""):
        answer = stranger.get("/identity/sso/callback" + query)
        assert answer.status_code == 400 and 'id="sso-refusal"' in answer.text
    assert not signed_in(stranger)

    # A state started in another browser is refused in this one (no login CSRF).
    victim = app.test_client()
    victim.get("/login")
    forced = start(app.test_client(), provider, PERSON)
    assert victim.get(forced).status_code == 400 and not signed_in(victim)


def test_an_identity_linked_elsewhere_or_a_taken_number_is_refused(
    app, session, provider, make_user
):
    from app.identity import services
    from app.identity.models import ExternalIdentity, RealNameLevel

    # Someone verified in person holds the number: a new account through SSO is refused.
    holder = make_user()
    services.record_real_name(
        session,
        holder,
        "陈一网",
        ID_NUMBER,
        level=RealNameLevel.VERIFIED_IN_PERSON,
        verified_by=make_user("service_desk"),
        settings=services.settings_from_config(app.config),
    )
    client = app.test_client()
    refused = consent(client, client.get(start(client, provider, {**PERSON, "phone_number": None})))
    assert refused.status_code == 409 and 'id="sso-refusal"' in refused.text
    assert not signed_in(client) and session.scalar(select(ExternalIdentity)) is None

    # The holder links it; then another signed-in account cannot link the same identity.
    holder_client = app.test_client()
    login(holder_client, holder.phone)
    assert (
        holder_client.get(start(holder_client, provider, PERSON, path="/profile")).status_code
        == 302
    )
    intruder = app.test_client()
    login(intruder, make_user().phone)
    taken = intruder.get(start(intruder, provider, PERSON, path="/profile"))
    assert taken.status_code == 409
    assert session.scalar(select(ExternalIdentity.user_id)) == holder.id


def test_staff_with_a_second_factor_are_not_signed_in_by_sso(app, session, provider, make_user):
    """A linked identity is no way around a staff account's password and code."""
    from app.identity.models import ExternalIdentity

    clerk = make_user("service_desk")
    session.add(ExternalIdentity(user_id=clerk.id, issuer=provider.issuer, subject="clerk-1"))
    session.commit()
    app.config["SIGNIN_SECOND_FACTOR_ROLES"] = "all"
    client = app.test_client()
    refused = client.get(start(client, provider, {**PERSON, "sub": "clerk-1"}))
    assert refused.status_code == 403 and 'id="sso-refusal"' in refused.text
    assert client.get("/identity/real-name").status_code == 302  # not signed in


def test_single_sign_on_is_off_without_configuration(app):
    client = app.test_client()
    assert "/identity/sso/start" not in client.get("/login").text
    assert client.get("/identity/sso/callback?state=x").status_code == 404
    assert client.get("/identity/sso/start").status_code == 404
