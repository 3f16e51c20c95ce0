"""The service desk's pages (Role.SERVICE_DESK), the printed sign-in card, signing in with a
card, the private consent slips, and the resident's list of desk actions on their account."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from app import clock
from app.accounts import mydata, sessions

# `_find_helper`: the consent rule for the person named, run early to show every error at once.
from app.accounts.consents import _find_helper as find_helper
from app.accounts.consents import check_period, is_live
from app.accounts.models import ConsentRelation, DisplayMode, HelperConsent, Role
from app.accounts.mydata import SLIP_FOLDER
from app.audit.labels import action_label
from app.auth import require_role
from app.desk import pending_slips
from app.desk.forms import (
    ActionForm,
    CardSigninForm,
    DeskCloseForm,
    FindResidentForm,
    RealNameForm,
    RegisterInPersonForm,
    WrittenConsentForm,
)
from app.desk.services import DeskSettings, desk_actions_for, real_names
from app.desk.services import residents as desk
from app.desk.services.written_consents import can_see_slip, record_written_consent
from app.errors import DomainError
from app.extensions import db
from app.forms import add_error
from app.identity import services as identity
from app.registry import personal_data

bp = Blueprint("desk", __name__, url_prefix="/desk")
resident_bp = Blueprint("desk_resident", __name__)


@resident_bp.app_template_global()
def desk_action_label(action: str):
    """How a desk action reads in the lists (the resident's and the clerk's): the one mapping
    of audit actions to words, app.audit.labels."""
    return action_label(action)


def settings() -> DeskSettings:
    return DeskSettings.from_config(current_app.config)


def _card_page(resident, code: str):
    return render_template(
        "desk/card.html",
        resident=resident,
        code=code,
        expires_at=desk.card_expiry(db.session, resident),
        portal_address=settings().portal_address,
    )


@bp.route("")
@require_role(Role.SERVICE_DESK)
def index():
    """Find a resident by mobile number, account number or name."""
    form = FindResidentForm(request.args)
    found = None
    if request.args and form.validate():
        found = desk.find_residents(db.session, form.q.data)
    return render_template("desk/index.html", form=form, found=found, masked=desk.masked)


@bp.route("/register", methods=["GET", "POST"])
@require_role(Role.SERVICE_DESK)
def register():
    """Register a resident who came to the desk; without a mobile phone, print their card."""
    form = RegisterInPersonForm()
    if form.validate_on_submit():
        try:
            resident, code = desk.register_in_person(
                db.session,
                current_user,
                name=form.name.data,
                phone=form.phone.data or None,
                display_mode=DisplayMode(form.display_mode.data),
                settings=settings(),
            )
        except DomainError as error:
            add_error(form, error)
        else:
            if code is not None:
                return _card_page(resident, code)
            flash(_("%(name)s is registered.", name=resident.name), "success")
            return redirect(url_for("desk.resident", resident_id=resident.id))
    return render_template("desk/register.html", form=form)


@bp.route("/residents/<int:resident_id>")
@require_role(Role.SERVICE_DESK)
def resident(resident_id: int):
    resident = _resident_or_404(resident_id)
    consents = db.session.scalars(
        select(HelperConsent)
        .where(HelperConsent.resident_id == resident.id, HelperConsent.revoked_at.is_(None))
        .order_by(HelperConsent.ends_on.desc())
    ).all()
    return render_template(
        "desk/resident.html",
        resident=resident,
        masked=desk.masked(resident),
        consents=consents,
        is_live=is_live,
        card_expires_at=desk.card_expiry(db.session, resident),
        actions=desk_actions_for(db.session, resident),
        card_form=ActionForm(),
        real_name=_real_name(resident),
    )


def _real_name(resident) -> str:
    return real_names.summary(db.session, resident) or _("Not verified")


def _resident_or_404(resident_id: int):
    try:
        return desk.get_resident(db.session, resident_id)
    except DomainError:
        abort(404)


@bp.route("/residents/<int:resident_id>/card", methods=["POST"])
@require_role(Role.SERVICE_DESK)
def card(resident_id: int):
    """Print a new sign-in card (the old one stops working)."""
    resident = _resident_or_404(resident_id)
    if not ActionForm().validate_on_submit():
        return redirect(url_for("desk.resident", resident_id=resident.id))
    code = desk.issue_card(db.session, current_user, resident, settings())
    return _card_page(resident, code)


@bp.route("/residents/<int:resident_id>/consent", methods=["GET", "POST"])
@require_role(Role.SERVICE_DESK)
def consent(resident_id: int):
    """Record the written consent the resident signed, with the scanned slip. Every error is
    shown at once (the form's and the consent rules'), and a slip chosen with a form that came
    back is kept for the retry (app.desk.pending_slips)."""
    resident = _resident_or_404(resident_id)
    form = WrittenConsentForm()
    if form.is_submitted():
        upload_dir, upload = settings().upload_dir, form.slip.data
        slip = upload.read() if isinstance(upload, FileStorage) and upload else None
        kept = form.slip_kept.data or None
        lost = False
        if slip and kept:  # a new file replaces the kept one
            pending_slips.drop(upload_dir, current_user.id, kept)
            kept = None
        elif kept:
            slip = pending_slips.take(upload_dir, current_user.id, kept)
            lost, kept = slip is None, kept if slip is not None else None
        valid = form.validate()  # every field's errors at once
        if lost:
            form.slip.errors = [_("The slip chosen before has expired. Choose the file again.")]
            valid = False
        if not valid:
            _check_consent_rules(form, resident)
        else:
            try:
                record_written_consent(
                    db.session,
                    current_user,
                    resident,
                    helper_login=form.helper.data,
                    relation=form.relation.data,
                    services=form.services.data,
                    starts_on=form.starts_on.data,
                    ends_on=form.ends_on.data,
                    slip=slip,
                    settings=settings(),
                )
            except DomainError as error:
                add_error(form, error)
            else:
                pending_slips.drop(upload_dir, current_user.id, kept)
                flash(_("The written consent is recorded."), "success")
                return redirect(url_for("desk.resident", resident_id=resident.id))
        if slip and not form.slip.errors and not form.csrf_token.errors:
            kept = kept or pending_slips.keep(upload_dir, current_user.id, slip)
        else:  # nothing chosen, or the slip itself was refused: nothing to keep
            pending_slips.drop(upload_dir, current_user.id, kept)
            kept = None
        form.slip_kept.data = kept or ""
        if kept:
            form.slip.description = _(
                "The slip you chose is kept with this form. Choose a file only to replace it."
            )
    return render_template("desk/consent.html", form=form, resident=resident)


def _check_consent_rules(form, resident) -> None:
    """The consent rules the service applies one at a time (the person named, the period), on
    the fields the form found well formed, so that the clerk reads every error at once."""
    if form.helper.data and not form.helper.errors and not form.relation.errors:
        try:
            find_helper(db.session, resident, form.helper.data, ConsentRelation(form.relation.data))
        except DomainError as error:
            add_error(form, error)
    if form.ends_on.data and not form.ends_on.errors and not form.starts_on.errors:
        try:
            check_period(form.starts_on.data or clock.today(), form.ends_on.data)
        except DomainError as error:
            add_error(form, error)


@bp.route("/consents/<int:consent_id>/slip")
@login_required
def slip(consent_id: int):
    """The scanned slip: the resident, the person it names and desk clerks only; never kept by
    a browser or a proxy."""
    consent = db.session.get(HelperConsent, consent_id)
    if consent is None or not consent.slip_filename or not can_see_slip(current_user, consent):
        abort(404)
    response = send_from_directory(
        current_app.config["UPLOAD_DIR"] + "/" + SLIP_FOLDER,
        consent.slip_filename,
        max_age=0,
        conditional=False,
        as_attachment=consent.slip_filename.endswith(".pdf"),
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@resident_bp.route("/card-signin", methods=["GET", "POST"])
def card_signin():
    """Sign in with the account number and the one-time code of a printed card."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = CardSigninForm()
    if form.validate_on_submit():
        user = desk.sign_in_with_card(db.session, form.account.data, form.code.data)
        if user is None:
            form.form_errors.append(
                _(
                    "The account number or code is not right, or the code was used or has "
                    "expired. The service desk can print a new card."
                )
            )
        else:
            sessions.begin(user)
            flash(
                _(
                    "You are signed in. The code on your card is now used up: to sign in next "
                    "time, get a new card from the service desk, or add a mobile number in My "
                    "details and sign in with a code sent to it."
                ),
                "success",
            )
            return redirect(url_for("main.home"))
    return render_template("desk/card_signin.html", form=form)


@resident_bp.route("/account/desk-actions")
@login_required
def my_desk_actions():
    """What the service desk did on the signed-in person's account."""
    return render_template(
        "desk/my_actions.html", actions=desk_actions_for(db.session, current_user)
    )


@bp.route("/residents/<int:resident_id>/real-name", methods=["GET", "POST"])
@require_role(Role.SERVICE_DESK)
def real_name(resident_id: int):
    """Verify the resident's real name with the ID card they show at the desk."""
    resident = _resident_or_404(resident_id)
    form = RealNameForm()
    if form.validate_on_submit():
        try:
            real_names.verify_in_person(
                db.session,
                current_user,
                resident,
                name=form.name.data,
                id_number=form.id_number.data,
                settings=identity.settings_from_config(current_app.config),
            )
        except DomainError as error:
            add_error(form, error)
        else:
            flash(_("The real name is verified in person."), "success")
            return redirect(url_for("desk.resident", resident_id=resident.id))
    return render_template("desk/real_name.html", form=form, resident=resident)


@bp.route("/residents/<int:resident_id>/close", methods=["GET", "POST"])
@require_role(Role.SERVICE_DESK)
def close(resident_id: int):
    """Close the account of a resident who asks at the desk (one without a password or a phone
    cannot do it online): what closing does, and the clerk's confirmation."""
    resident = _resident_or_404(resident_id)
    form = DeskCloseForm()
    if form.validate_on_submit():
        name = resident.name
        mydata.close_account(
            db.session,
            resident,
            personal_data(),
            upload_dir=current_app.config["UPLOAD_DIR"],
            closed_by=current_user._get_current_object(),
        )
        flash(_("The account of %(name)s is closed.", name=name), "success")
        return redirect(url_for("desk.index"))
    return render_template("desk/close.html", form=form, resident=resident, kept=mydata.KEPT)
