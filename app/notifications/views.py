from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.extensions import db
from app.notifications import services

bp = Blueprint("notifications", __name__, url_prefix="/inbox")


@bp.route("")
@login_required
def inbox():
    notes = services.inbox(db.session, current_user.id, limit=100)
    return render_template("notifications/inbox.html", notes=notes)


@bp.route("/<int:notification_id>")
@login_required
def show(notification_id: int):
    note = services.read(db.session, current_user.id, notification_id)
    if note is None:
        abort(404)
    return render_template("notifications/show.html", note=note)


@bp.route("/read-all", methods=["POST"])
@login_required
def read_all():
    count = services.mark_all_read(db.session, current_user.id)
    flash(_("%(n)d messages marked as read.", n=count), "success")
    return redirect(url_for("notifications.inbox"))
