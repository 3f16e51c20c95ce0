"""My data (download everything as JSON) and closing the account (注销), with its
confirmation step and re-authentication."""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import clock
from app.accounts import mydata, sessions
from app.accounts.services import can_confirm_online, mask_phone
from app.accounts.views import client_address
from app.desk.forms import CloseAccountForm
from app.errors import DomainError
from app.extensions import db
from app.forms import add_error
from app.registry import personal_data
from app.sms.settings import settings_for

bp = Blueprint("mydata", __name__, url_prefix="/account")


@bp.route("/my-data")
@login_required
def index():
    return render_template("accounts/my_data.html")


@bp.route("/my-data.json")
@login_required
def download():
    """Everything the portal holds about the signed-in person, as a JSON file."""
    data = mydata.export(db.session, current_user, personal_data())
    body = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    filename = f"my-data-{clock.today().isoformat()}.json"
    return Response(
        body,
        mimetype="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )


@bp.route("/close", methods=["GET", "POST"])
@login_required
def close():
    """What closing the account does, then proof it is the person (password, or a code sent
    to their number) and a confirmation to do it."""
    form = CloseAccountForm()
    user = current_user._get_current_object()
    if request.method == "POST" and request.form.get("action") == "send_code":
        # (CSRFProtect has checked the token before the view: the other fields may be empty.)
        try:
            mydata.send_code(
                db.session, user, address=client_address(), sms_settings=settings_for(current_app)
            )
        except DomainError as error:
            add_error(form, error)
        else:
            flash(_("We sent a code to %(phone)s.", phone=mask_phone(user.phone)), "success")
            return redirect(url_for("mydata.close"))
    elif form.validate_on_submit():
        try:
            mydata.check_reauthentication(
                db.session,
                user,
                password=form.password.data,
                code=form.code.data,
                sms_settings=settings_for(current_app),
            )
            mydata.close_account(
                db.session,
                user,
                personal_data(),
                upload_dir=current_app.config["UPLOAD_DIR"],
            )
        except DomainError as error:
            add_error(form, error)
        else:
            sessions.end("account_closed")  # this browser: every other session ended with it
            flash(_("Your account is closed. Thank you for using the portal."), "success")
            return redirect(url_for("main.home"))
    return render_template(
        "accounts/close.html",
        form=form,
        kept=mydata.KEPT,
        masked_phone=mask_phone(user.phone),
        can_confirm=can_confirm_online(user),
        hotline=current_app.config["PORTAL_HOTLINE"],
    )
