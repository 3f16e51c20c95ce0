"""The 一网通办 OpenID Connect client, with Authlib's Flask client.

Authorization code flow with `state`, `nonce` and PKCE (S256). Authlib makes the authorization
address (state, nonce and code verifier included), fetches the provider's discovery document
and JWKS, exchanges the code and verifies the id_token: its signature against the issuer's
keys (fetched again once for a key id it does not know), `iss` (the configured issuer), `aud`
(our client id), `exp`, `iat` and `nonce` (the one this request sent). What the callback must
match is kept server-side (app.identity.linking.begin_sign_in), not in the cookie, so a state
is answered once.

Configured from the environment (app/config.py, YWTB_OIDC_*); without an issuer and a client
id, single sign-on is off and its pages answer 404.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests

from app.identity.linking import ClaimMap

CLIENT_NAME = "ywtb"


@dataclass(frozen=True)
class SsoSettings:
    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    discovery_url: str
    claims: ClaimMap

    @property
    def display_name(self) -> str:
        return self.claims.display_name


def sso_settings(config) -> SsoSettings | None:
    """The single sign-on configuration, or None when it is not configured (no issuer or no
    client id)."""
    issuer = (config.get("YWTB_OIDC_ISSUER") or "").strip().rstrip("/")
    client_id = (config.get("YWTB_OIDC_CLIENT_ID") or "").strip()
    if not issuer or not client_id:
        return None

    def claim(key: str, default: str | None) -> str | None:
        value = config.get(key)
        value = default if value is None else str(value).strip()
        return value or None

    levels = str(config.get("YWTB_OIDC_VERIFIED_LEVELS") or "")
    return SsoSettings(
        issuer=issuer,
        client_id=client_id,
        client_secret=config.get("YWTB_OIDC_CLIENT_SECRET") or "",
        scopes=config.get("YWTB_OIDC_SCOPES") or "openid profile",
        discovery_url=config.get("YWTB_OIDC_DISCOVERY_URL")
        or f"{issuer}/.well-known/openid-configuration",
        claims=ClaimMap(
            name=claim("YWTB_OIDC_NAME_CLAIM", "name") or "name",
            id_number=claim("YWTB_OIDC_ID_NUMBER_CLAIM", None),
            level=claim("YWTB_OIDC_LEVEL_CLAIM", None),
            verified_levels=frozenset(v.strip() for v in levels.split(",") if v.strip()),
            phone=claim("YWTB_OIDC_PHONE_CLAIM", "phone_number"),
            display_name=config.get("YWTB_OIDC_DISPLAY_NAME") or "一网通办",
        ),
    )


def client_for(app, sso: SsoSettings):
    """The Authlib client for these settings, made once per app and settings (it keeps the
    provider's discovery document and keys between requests)."""
    from authlib.integrations.flask_client import OAuth

    clients = app.extensions.setdefault("identity.sso_clients", {})
    client = clients.get(sso)
    if client is None:
        oauth = OAuth(app)
        client = clients[sso] = oauth.register(
            CLIENT_NAME,
            client_id=sso.client_id,
            client_secret=sso.client_secret,
            server_metadata_url=sso.discovery_url,
            client_kwargs={
                "scope": sso.scopes,
                "code_challenge_method": "S256",
                "default_timeout": 10,
            },
        )
    return client


def authorization_request(client, redirect_uri: str) -> dict:
    """A new authorization request: its `url`, and the `state`, `nonce` and `code_verifier`
    the answer must match."""
    return client.create_authorization_url(redirect_uri=redirect_uri)


# What reading the provider's discovery document may raise when it is down or answers nonsense.
UNAVAILABLE = (requests.RequestException, ValueError, RuntimeError, KeyError)


class SsoRefused(Exception):
    """The provider's answer could not be verified (logged with the reason; the person is told
    that nobody was signed in)."""


def verified_claims(client, sso: SsoSettings, pending, code: str | None) -> dict:
    """Exchange `code` for tokens and verify the id_token against the request `pending` was:
    the claims, or SsoRefused saying why."""
    from authlib.integrations.base_client import OAuthError
    from joserfc.errors import JoseError

    if not code:
        raise SsoRefused("no code in the answer")
    try:
        token = client.fetch_access_token(
            code=code, redirect_uri=pending.redirect_uri, code_verifier=pending.code_verifier
        )
        claims = client.parse_id_token(
            token,
            nonce=pending.nonce,
            claims_options={
                "iss": {"essential": True, "values": [sso.issuer]},
                "aud": {"essential": True, "values": [sso.client_id]},
                "sub": {"essential": True},
                "exp": {"essential": True},
            },
        )
    except (OAuthError, JoseError, requests.RequestException, ValueError, KeyError) as error:
        raise SsoRefused(f"{type(error).__name__}: {error}") from error
    if claims is None:
        raise SsoRefused("no id_token in the token response")
    return dict(claims)
