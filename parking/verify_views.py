"""Verifying plates (car-park operators, service-desk clerks): the queue of claims waiting with a
vehicle licence photo, one claim with its photo and the decision, and the photo itself (never
cached, verifiers only)."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.errors import DomainError
from app.extensions import db
from app.forms import add_error, submit_to_service
from parking.forms import PlateDecisionForm, PlateSearchForm
from parking.services import verification
from parking.services.vehicles import LICENCE_FOLDER

bp = Blueprint("parking_verify", __name__, url_prefix="/parking/verify")


@bp.before_request
@login_required
def verifiers_only():
    if not verification.can_verify(current_user):
        abort(403)


def _undecided_or_404(vehicle_id: int):
    try:
        return verification.get_undecided(db.session, vehicle_id)
    except DomainError:
        abort(404)


@bp.route("")
def queue():
    """The claims waiting with a photo, and a search by plate for a driver at the desk."""
    form = PlateSearchForm(request.args)
    found = None
    if form.plate.data and form.validate():
        try:
            found = verification.claims_of(db.session, form.plate.data)
        except DomainError as error:
            add_error(form, error)
    return render_template(
        "parking/verify/queue.html", claims=verification.queue(db.session), form=form, found=found
    )


@bp.route("/<int:vehicle_id>", methods=["GET", "POST"])
def review(vehicle_id: int):
    vehicle = _undecided_or_404(vehicle_id)
    form = PlateDecisionForm()
    plate = vehicle.plate

    def decide():
        if form.decision.data == "approve":
            return verification.approve(db.session, current_user, vehicle)
        return verification.refuse(db.session, current_user, vehicle, form.reason.data or "")

    done = submit_to_service(
        form,
        decide,
        then=url_for(".queue"),
        success=lambda v: (
            _("%(plate)s is verified.", plate=plate)
            if v.is_verified
            else _("The claim of %(plate)s is refused; the driver is told why.", plate=plate)
        ),
    )
    return done or render_template(
        "parking/verify/review.html",
        vehicle=vehicle,
        form=form,
        others=verification.other_claims(db.session, vehicle),
    )


@bp.route("/<int:vehicle_id>/licence")
def licence(vehicle_id: int):
    """The licence photo: private to verifiers, never kept by a browser or a proxy."""
    vehicle = _undecided_or_404(vehicle_id)
    if not vehicle.licence_filename:  # to be shown at a desk: no photo
        abort(404)
    response = send_from_directory(
        current_app.config["UPLOAD_DIR"] + "/" + LICENCE_FOLDER,
        vehicle.licence_filename,
        max_age=0,
        conditional=False,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
