"""Venue administrators' photo pages: add (both descriptions), put in order, remove after a
confirmation. Routes on the venue staff blueprint (venues/staff_views.py); the files are served
by its public venue_media.media route."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.extensions import db
from app.forms import submit_to_service
from venues.models import VenuePhoto
from venues.photo_forms import MovePhotoForm, RemovePhotoForm, VenuePhotoForm
from venues.services import photos as photo_service
from venues.staff_views import ADMIN_ROLES, _venue_for, bp


def _photo_for(venue_id: int, photo_id: int):
    venue = _venue_for(venue_id, *ADMIN_ROLES)
    photo = db.session.get(VenuePhoto, photo_id)
    if photo is None or photo.venue_id != venue.id:
        abort(404)
    return venue, photo


@bp.route("/<int:venue_id>/photos", methods=["GET", "POST"])
@login_required
def photos(venue_id: int):
    venue = _venue_for(venue_id, *ADMIN_ROLES)
    form = VenuePhotoForm()
    done = submit_to_service(
        form,
        lambda: photo_service.add_photo(
            db.session,
            current_user,
            venue,
            form.photo.data.read(),
            form.alt_zh.data,
            form.alt_en.data,
        ),
        success=_("Photo added."),
        then=url_for("venue_staff.photos", venue_id=venue.id),
    )
    return done or render_template(
        "venues/staff/photos.html", form=form, venue=venue, move_form=MovePhotoForm()
    )


@bp.route("/<int:venue_id>/photos/<int:photo_id>/move", methods=["POST"])
@login_required
def move_photo(venue_id: int, photo_id: int):
    venue, photo = _photo_for(venue_id, photo_id)
    form = MovePhotoForm()
    if form.validate_on_submit():
        step = -1 if form.step.data == "earlier" else 1
        if photo_service.move_photo(db.session, current_user, photo, step):
            flash(_("Order changed."), "success")
    return redirect(url_for("venue_staff.photos", venue_id=venue.id) + f"#photo-{photo.id}")


@bp.route("/<int:venue_id>/photos/<int:photo_id>/delete", methods=["GET", "POST"])
@login_required
def delete_photo(venue_id: int, photo_id: int):
    venue, photo = _photo_for(venue_id, photo_id)
    form = RemovePhotoForm()
    if form.validate_on_submit():
        photo_service.delete_photo(db.session, current_user, photo)
        flash(_("Photo removed."), "success")
        return redirect(url_for("venue_staff.photos", venue_id=venue.id))
    return render_template("venues/staff/photo_remove.html", form=form, venue=venue, photo=photo)
