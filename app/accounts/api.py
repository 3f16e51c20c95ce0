from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from app.accounts.services import mask_phone
from app.api import SECURITY, current_api_user, token_required

blp = Blueprint("api_accounts", __name__, url_prefix="/api/v1", description="The signed-in person")


class RoleSchema(Schema):
    role = fields.String(required=True)
    scope_kind = fields.String(allow_none=True)
    scope_id = fields.Integer(allow_none=True)


class MeSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    phone_masked = fields.String(required=True, metadata={"description": "e.g. 138****5678"})
    username = fields.String(allow_none=True)
    locale = fields.String(required=True)
    display_mode = fields.String(required=True)
    roles = fields.List(fields.Nested(RoleSchema), required=True)


@blp.route("/me")
@blp.doc(security=SECURITY)
@blp.response(200, MeSchema)
@token_required
def me():
    """The token's owner: profile and roles."""
    user = current_api_user()
    return {
        "id": user.id,
        "name": user.name,
        "phone_masked": mask_phone(user.phone),
        "username": user.username,
        "locale": user.locale,
        "display_mode": user.display_mode.value,
        "roles": [
            {"role": a.role.value, "scope_kind": a.scope_kind, "scope_id": a.scope_id}
            for a in user.roles
        ],
    }
