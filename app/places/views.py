"""The estate's property managers confirm who lives where (household claims)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.models import Role
from app.audit.services import record_access
from app.auth import require_role
from app.errors import DomainError
from app.extensions import db
from app.places import services
from app.places.forms import ClaimDecisionForm, ClaimsFilterForm
from app.places.models import Estate
from app.scopes import covered_ids, held_objects
from app.urls import check_next, int_arg, safe_next

bp = Blueprint("places", __name__, url_prefix="/homes")
MEMBERS_SHOWN = 500  # confirmed residents listed at once; more: choose an estate


@bp.route("/claims")
@require_role(Role.PROPERTY_MANAGER)
def claims():
    estate_ids = covered_ids(db.session, current_user, Role.PROPERTY_MANAGER, "estate")
    estates = sorted(
        db.session.scalars(db.select(Estate).where(Estate.id.in_(estate_ids))),
        key=lambda e: e.name,  # in the reader's language's order
    )
    # A manager of several estates (a company's) may narrow both lists to one estate.
    filter_form = ClaimsFilterForm(request.args)
    filter_form.estate.choices = [("", _("All estates"))] + [(str(e.id), e.name) for e in estates]
    chosen = int_arg(request.args, "estate")
    shown_ids = [chosen] if chosen in estate_ids else estate_ids
    pending = services.claims_queue(db.session, shown_ids)
    members = services.verified_members(db.session, shown_ids, limit=MEMBERS_SHOWN + 1)
    members_cut = len(members) > MEMBERS_SHOWN
    members = members[:MEMBERS_SHOWN]
    # Who lives where is personal data: each reading of the list is on the record.
    record_access(
        db.session,
        current_user,
        "homes.claims_viewed",
        None,
        estates=shown_ids,
        shown=len(pending) + len(members),
    )
    return render_template(
        "places/claims.html",
        estates=estates,
        companies=held_objects(db.session, current_user, Role.PROPERTY_MANAGER, "company"),
        form=ClaimDecisionForm(),
        filter_form=filter_form,
        pending=pending,
        members=members,
        members_cut=members_cut,
    )


@bp.route("/claims/<int:claim_id>/end")
@require_role(Role.PROPERTY_MANAGER)
def confirm_end(claim_id: int):
    """The "moved out" question: what ending the resident's access means, and the warning button
    that ends it (posted to `decide`)."""
    claim = services.get_claim(db.session, claim_id)
    if claim is None or not services.can_decide(current_user, claim):
        abort(404)
    if not services.can_end(current_user, claim):
        return redirect(url_for("places.claims"))  # ended or changed meanwhile
    return render_template("places/confirm_end.html", claim=claim, form=ClaimDecisionForm())


@bp.route("/claims/<int:claim_id>/decide", methods=["POST"])
@require_role(Role.PROPERTY_MANAGER)
def decide(claim_id: int):
    claim = services.get_claim(db.session, claim_id)
    if claim is None or not services.can_decide(current_user, claim):
        abort(404)
    check_next(request.form.get("next"))
    form = ClaimDecisionForm()
    back = safe_next(request.form.get("next") or url_for("places.claims"), "places.claims")
    if not form.validate_on_submit():
        for errors in form.errors.values():
            flash(str(errors[0]), "error")
        return redirect(back)
    decision = form.decision.data
    try:
        services.decide(
            db.session,
            current_user,
            claim,
            approve=decision == "approve",
            reason=form.reason.data or "",
        )
    except DomainError as error:
        flash(str(error), "error")
    else:
        address = f"{claim.household.estate.name} {claim.household.address}"
        flash(
            _(
                "%(name)s's home %(address)s is confirmed. They have been told.",
                name=claim.user.name,
                address=address,
            )
            if decision == "approve"
            else _(
                "%(name)s's claim to %(address)s is refused. They have been told.",
                name=claim.user.name,
                address=address,
            )
            if decision == "refuse"
            else _(
                "%(name)s no longer has access to %(address)s. They have been told.",
                name=claim.user.name,
                address=address,
            ),
            "success",
        )
    return redirect(back)
