"""JSON API plumbing under /api/v1: Bearer-token auth, one error format, the OpenAPI document.

flask-smorest generates the OpenAPI document from the blueprints and marshmallow schemas, so the
document cannot drift from the code. We take its Api without its app-wide error handler: HTML
pages keep their own error pages and only /api/ paths answer in JSON.
"""

from __future__ import annotations

from functools import wraps

from flask import g, jsonify, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_smorest import Api
from flask_smorest.arguments import ArgumentsMixin
from marshmallow import Schema, ValidationError, fields
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException, UnprocessableEntity

from app import text
from app.errors import DomainError
from app.extensions import csrf, db

API_PREFIX = "/api/v1"
SECURITY = [{"bearerAuth": []}]
BEARER_SCHEME = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal token, made on your tokens page (or `flask create-token`); "
        "it expires (`token_expired`) and can be revoked (`token_revoked`)",
    }
}

GENERIC_MESSAGES = {
    400: _l("The request could not be understood."),
    401: _l("Sign in with a valid API token (Authorization: Bearer <token>)."),
    403: _l("You do not have permission to do this."),
    404: _l("Not found."),
    405: _l("This method is not allowed here."),
    409: _l("This conflicts with the current state. Reload and try again."),
    415: _l("Send the request body as JSON."),
    422: _l("Some fields are invalid."),
    429: _l("Too many requests. Wait a little and try again."),
    500: _l("Something went wrong on our side. Please try again later."),
    503: _l("The service is busy. Please try again shortly."),
}


class ErrorDetailSchema(Schema):
    code = fields.String(required=True, metadata={"example": "sold_out"})
    message = fields.String(required=True, metadata={"description": "In the request's language"})
    fields_ = fields.Dict(data_key="fields", metadata={"description": "Per-field problems (422)"})
    reference = fields.String(
        metadata={"description": "The booking already held (409 `already_booked`)"}
    )


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetailSchema, required=True)


class PortalApi(Api):
    # flask-smorest documents every error response with this schema: ours, not its default.
    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        """Errors are handled by `handle_error` below, for /api/ paths only."""


class PortalParser(FlaskParser):
    """Reads every operation's arguments: before its schema, each string of the query or the
    body is held to the input policy (app/text.py): a control character or a string longer
    than `text.LONG` is a 422 naming the field, like any other invalid field."""

    def pre_load(self, location_data, *, schema, req, location):
        if location in ("query", "querystring", "form"):
            source = req.form if location == "form" else req.args
            found = {}
            for key, value in source.items(multi=True):
                for problem in text.problems({key: value}).values():
                    found[key] = problem
            found.update(
                {key: [str(text.CONTROL_MESSAGE)] for key in getattr(source, "had_nul", ())}
            )
        else:
            found = text.problems(location_data)
        if found:
            raise ValidationError(found)
        return super().pre_load(location_data, schema=schema, req=req, location=location)

    def _get_schema(self, argmap, req):
        # webargs makes a new instance of a Schema class for every request (copying each of
        # its fields): one instance per class serves them all, as flask-smorest's response
        # schemas do (a schema keeps no state between loads).
        if isinstance(argmap, type) and issubclass(argmap, Schema):
            schema = _SCHEMAS.get(argmap)
            if schema is None:
                schema = _SCHEMAS.setdefault(argmap, argmap())
            return schema
        return super()._get_schema(argmap, req)


_SCHEMAS: dict[type, Schema] = {}


# Every API module imports this one before it declares a route, so every `blp.arguments` of
# the portal parses through PortalParser (tests/test_output_policy.py sends a control character
# to every documented string argument).
ArgumentsMixin.ARGUMENTS_PARSER = PortalParser()


class ApiError(HTTPException):
    """An API refusal with our error code, e.g. `sold_out`."""

    def __init__(self, status: int, code: str, message, **extra):
        super().__init__(description=str(message))
        self.code = status
        self.error_code = code
        self.extra = extra


def error_response(status: int, code: str, message, **extra):
    body = {"error": {"code": code, "message": str(message), **extra}}
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="citizen-portal"'
    return response


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX + "/") or request.path == API_PREFIX


def handle_http_error(error: HTTPException):
    status = error.code or 500
    if isinstance(error, ApiError):
        return error_response(status, error.error_code, error.description, **error.extra)
    extra = {}
    messages = getattr(error, "data", {}).get("messages") if hasattr(error, "data") else None
    if messages:
        extra["fields"] = messages
    code = (
        "validation_error"
        if status == 422
        else (error.name or "error").lower().replace(" ", "_").replace("'", "")
    )
    message = GENERIC_MESSAGES.get(status, error.description)
    return error_response(status, code, message, **extra)


def handle_domain_error(error: DomainError):
    return error_response(
        error.status,
        error.code,
        gettext(str(error.message), **error.params) if error.params else str(error.message),
    )


def current_api_user():
    return g.get("api_user")


def bearer_token() -> str | None:
    """The token of `Authorization: Bearer <token>`, or None without one."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _authenticate_bearer(scopes=None):
    from app.accounts.models import TokenScope
    from app.accounts.services import authenticate_api_token

    token = bearer_token()
    if token is None:
        return None
    return authenticate_api_token(db.session, token, scopes or (TokenScope.PERSONAL,))


def _refused(scopes=None):
    """The error for the request's refused token: why it was refused (app/accounts/tokens.py:
    expired, revoked, or made for something else), or the plain 401 without a token."""
    from app.accounts.models import TokenScope
    from app.accounts.tokens import refusal

    token = bearer_token()
    if token is None:
        return ApiError(401, "unauthorized", GENERIC_MESSAGES[401])
    return refusal(db.session, token, scopes or (TokenScope.PERSONAL,))


def token_required(view=None, *, scopes=None):
    """Require `Authorization: Bearer <token>`, a personal token unless `scopes` (TokenScope
    values) says otherwise; the token's owner is `current_api_user()`, the token itself
    `current_api_token()`. Use as `@token_required` or `@token_required(scopes=...)`."""
    if view is None:
        return lambda view: token_required(view, scopes=scopes)

    @wraps(view)
    def wrapped(*args, **kwargs):
        api_token = _authenticate_bearer(scopes)
        if api_token is None:
            raise _refused(scopes)
        g.api_user, g.api_token = api_token.user, api_token
        return view(*args, **kwargs)

    return wrapped


def current_api_token():
    return g.get("api_token")


def token_checked_by_service(view):
    """For an operation whose service checks the Bearer token inside its own transaction (a
    booking: `app.accounts.services.lock_token_owner` finds the token's owner and locks their
    row in the statement that starts the work) and raises InvalidToken (401) for a bad one. As
    with `token_required`, a request without a token is 401 before its body is read, and a
    token that is not valid never learns what was wrong with the body: its 422 becomes 401.
    A refused token is told why, as `token_required` tells it (expired, revoked, wrong scope).
    The view reads the token with `bearer_token()`."""
    from app.accounts.tokens import InvalidToken

    @wraps(view)
    def wrapped(*args, **kwargs):
        if bearer_token() is None:
            raise ApiError(401, "unauthorized", GENERIC_MESSAGES[401])
        try:
            return view(*args, **kwargs)
        except InvalidToken:
            raise _refused() from None
        except UnprocessableEntity:
            if _authenticate_bearer() is None:
                raise _refused() from None
            raise

    return wrapped


def init_app(app) -> PortalApi:
    api = PortalApi(
        app,
        spec_kwargs={
            "info": {
                "description": (
                    "The JSON side of citizen-portal's services. Authenticate with a personal "
                    "token: `Authorization: Bearer <token>`. Errors are always "
                    '`{"error": {"code": ..., "message": ...}}`, the message in the language asked '
                    "for with Accept-Language (zh-CN by default)."
                )
            }
        },
    )
    api.spec.components.security_scheme("bearerAuth", BEARER_SCHEME["bearerAuth"])
    app.extensions["portal_api"] = api
    return api


def register_api_blueprint(app, blueprint, **options) -> None:
    """Mount a flask-smorest Blueprint under /api/v1; API calls use tokens, not CSRF. Its
    operations read JSON bodies and query strings (PortalParser), never uploaded files."""
    csrf.exempt(blueprint)
    app.extensions["portal_api"].register_blueprint(blueprint, **options)
    app.extensions.setdefault("json_api_blueprints", set()).add(blueprint.name)
