"""Notifications in this browser (Web Push): the page that explains them, lists the person's
subscribed browsers with a button to stop each, and (with JavaScript: static/push.js, the one
place the portal needs it) subscribes this browser. Routes on the `notifications` blueprint;
the rules are in app/notifications/push.py. Only the person themselves: a helper acting for a
resident is refused (app.acting.own_only), since where someone's messages go is theirs to say.

Without JavaScript, or in a browser without Push, the page says so plainly; the list and its
buttons are plain forms (POST with the CSRF token) that work without it."""

from __future__ import annotations

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.accounts.sessions import describe_agent
from app.acting import own_only
from app.errors import DomainError
from app.extensions import db
from app.notifications import push
from app.notifications.views import bp


def _settings() -> push.PushSettings:
    return push.PushSettings.from_config(current_app.config)


@bp.route("/push", endpoint="push")
@login_required
def push_page():
    user = own_only()
    keys = push.vapid_keys(current_app)
    return render_template(
        "notifications/push.html",
        subscriptions=push.subscriptions_of(db.session, user.id),
        public_key=keys.public_key if keys else None,
        # The notification settings page (app/notifications/views.py), where there is one.
        settings_url=url_for("notification_settings.edit")
        if "notification_settings.edit" in current_app.view_functions
        else None,
    )


@bp.route("/push/subscriptions", methods=["POST"], endpoint="push_subscribe")
@login_required
def push_subscribe():
    """JSON from static/push.js: the browser's PushSubscription (CSRF token in X-CSRFToken)."""
    user = own_only()
    if push.vapid_keys(current_app) is None:
        return jsonify(message=_("This portal does not send notifications to browsers.")), 404
    data = request.get_json(silent=True)
    try:
        row = push.subscribe(
            db.session,
            user.id,
            data,
            describe_agent(request.headers.get("User-Agent")),
            _settings(),
        )
    except DomainError as refused:
        return jsonify(code=refused.code, message=str(refused)), refused.status
    return jsonify(id=row.id), 201


@bp.route("/push/<int:subscription_id>/remove", methods=["POST"])
@login_required
def push_remove(subscription_id: int):
    user = own_only()
    if not push.unsubscribe(db.session, user.id, subscription_id):
        abort(404)  # someone else's, or already removed: the same answer
    flash(_("Notifications stopped in that browser."), "success")
    return redirect(url_for("notifications.push"))
