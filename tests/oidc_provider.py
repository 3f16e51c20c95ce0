"""A small OpenID Connect provider for the tests, built with Authlib's server side
(authlib.oauth2 grants, authlib.oidc.core's OpenIDCode, PKCE from rfc7636), serving discovery,
JWKS, authorize and token on a loopback port, in a thread of the test process.

Nobody types a password here: the test names who signs in next (`provider.person`), and the
authorization endpoint answers for them at once. Tests can make the next id_token lie:
`provider.tamper = "payload"` changes a claim after signing, `"signature"` signs with another
key under the same key id; `provider.nonce_override` puts another nonce in it.
"""

from __future__ import annotations

import base64
import hmac
import json
import threading
import time
from dataclasses import dataclass, field

import pytest
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.core.models import AuthorizationCodeMixin
from flask import Flask, jsonify
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import make_server

CLIENT_ID = "citizen-portal-test"
CLIENT_SECRET = "test-client-secret"  # nosec B105 # the test provider's own
KEY_ID = "test-signing-key"


class Client(ClientMixin):
    def get_client_id(self):
        return CLIENT_ID

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        return " ".join(s for s in (scope or "").split() if s in ("openid", "profile", "phone"))

    def check_redirect_uri(self, redirect_uri):
        # The portal's callback, on the test client's host or a live server on loopback.
        return redirect_uri.startswith(("http://localhost", "http://127.0.0.1")) and (
            redirect_uri.split("?")[0].endswith("/identity/sso/callback")
        )

    def check_client_secret(self, client_secret):
        return hmac.compare_digest(client_secret or "", CLIENT_SECRET)

    def check_endpoint_auth_method(self, method, endpoint):
        return endpoint != "token" or method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type == "authorization_code"


@dataclass
class Code(AuthorizationCodeMixin):
    code: str
    redirect_uri: str
    scope: str
    nonce: str | None
    person: dict
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time


class Provider:
    def __init__(self):
        self.key = RSAKey.generate_key(2048, parameters={"kid": KEY_ID}, private=True)
        self.codes: dict[str, Code] = {}
        self.person: dict | None = None
        self.tamper: str | None = None
        self.nonce_override: str | None = None
        self.token_requests = 0
        self.app = self._build()
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.issuer = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> Provider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()

    def reset(self) -> None:
        self.person, self.tamper, self.nonce_override = None, None, None

    def portal_config(self) -> dict:
        """What the portal's configuration needs to use this provider."""
        return {
            "YWTB_OIDC_ISSUER": self.issuer,
            "YWTB_OIDC_CLIENT_ID": CLIENT_ID,
            "YWTB_OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "YWTB_OIDC_SCOPES": "openid profile phone",
            "YWTB_OIDC_ID_NUMBER_CLAIM": "id_number",
            "YWTB_OIDC_LEVEL_CLAIM": "id_level",
            "YWTB_OIDC_VERIFIED_LEVELS": "L2,L3",
        }

    # --- the server ---------------------------------------------------------------------------

    def _build(self) -> Flask:
        provider = self
        app = Flask("oidc_test_provider")

        class CodeGrant(grants.AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

            def save_authorization_code(self, code, request):
                data = request.payload.data
                provider.codes[code] = Code(
                    code=code,
                    redirect_uri=request.payload.redirect_uri,
                    scope=request.payload.scope,
                    nonce=data.get("nonce"),
                    person=request.user,
                    code_challenge=data.get("code_challenge"),
                    code_challenge_method=data.get("code_challenge_method"),
                )

            def query_authorization_code(self, code, client):
                return provider.codes.get(code)

            def delete_authorization_code(self, authorization_code):
                provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code):
                return authorization_code.person

        class OpenID(OpenIDCode):
            def exists_nonce(self, nonce, request):
                return False

            def resolve_client_private_key(self, client):
                return provider.key

            def get_client_algorithm(self, client):
                return "RS256"

            def get_client_claims(self, client):
                return {"iss": provider.issuer, "aud": [client.get_client_id()]}

            def get_encode_header(self, client):
                return {"alg": "RS256", "kid": KEY_ID}

            def generate_user_info(self, user, scope):
                info = UserInfo(user)
                if provider.nonce_override is not None:
                    info["nonce"] = provider.nonce_override
                return info

        server = AuthorizationServer(
            app,
            query_client=lambda client_id: Client() if client_id == CLIENT_ID else None,
            save_token=lambda token, request: None,  # access tokens are not used afterwards
        )
        server.register_grant(CodeGrant, [OpenID(require_nonce=True), CodeChallenge(required=True)])

        @app.get("/.well-known/openid-configuration")
        def discovery():
            return jsonify(
                issuer=provider.issuer,
                authorization_endpoint=f"{provider.issuer}/authorize",
                token_endpoint=f"{provider.issuer}/token",
                jwks_uri=f"{provider.issuer}/jwks",
                response_types_supported=["code"],
                subject_types_supported=["public"],
                id_token_signing_alg_values_supported=["RS256"],
                code_challenge_methods_supported=["S256"],
                token_endpoint_auth_methods_supported=["client_secret_basic"],
                scopes_supported=["openid", "profile", "phone"],
            )

        @app.get("/jwks")
        def jwks():
            return jsonify(KeySet([provider.key]).as_dict(private=False))

        @app.get("/authorize")
        def authorize():
            if provider.person is None:
                return "nobody is signing in", 400
            grant = server.get_consent_grant(end_user=provider.person)
            return server.create_authorization_response(grant=grant, grant_user=provider.person)

        @app.post("/token")
        def token():
            provider.token_requests += 1
            response = server.create_token_response()
            body = response.get_json(silent=True) or {}
            if "id_token" in body and provider.tamper:
                body["id_token"] = provider._tampered(body["id_token"])
                return jsonify(body), response.status_code
            return response

        return app

    def _tampered(self, id_token: str) -> str:
        header, payload, signature = id_token.split(".")
        claims = json.loads(_unb64(payload))
        if self.tamper == "payload":
            claims["name"] = "冒名顶替"
            claims["sub"] = "someone-else"
            return ".".join([header, _b64(json.dumps(claims).encode()), signature])
        forger = RSAKey.generate_key(2048, parameters={"kid": KEY_ID}, private=True)
        return jwt.encode({"alg": "RS256", "kid": KEY_ID}, claims, forger)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture(scope="session")
def oidc_provider():
    """One provider for the test session (its RSA key is made once)."""
    provider = Provider().start()
    yield provider
    provider.stop()
