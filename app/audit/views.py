from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from app.accounts.models import Role
from app.audit import services
from app.auth import require_role
from app.extensions import db
from app.places.districts import overseen_district_ids
from app.urls import int_arg

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.route("")
@require_role(Role.ADMINISTRATOR, Role.DISTRICT_SUPERVISOR)
def log():
    page = int_arg(request.args, "page", 1) or 1
    action = request.args.get("action") or None
    object_type = request.args.get("object_type") or None
    entries = services.search(
        db.session,
        action=action,
        object_type=object_type,
        district_ids=overseen_district_ids(current_user),
        page=page,
    )
    return render_template(
        "audit/log.html",
        entries=entries,
        page=page,
        action=action or "",
        object_type=object_type or "",
        page_size=services.PAGE_SIZE,
    )
