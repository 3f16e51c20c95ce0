"""Administration of car parks (issue 15): a searchable list, create and edit (town, names,
kind, address, WGS-84 coordinates, and the spaces of a new one), archive; the car park's page
links to the operator's pages for capacity, tariff and sharing windows, and names its operators
(given and taken on the staff accounts' pages). Rules: parking/services/admin.py."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app.accounts.models import Role, User, held_for
from app.auth import require_role
from app.errors import DomainError
from app.extensions import db
from app.forms import submit_to_service
from app.places.admin_forms import CarParkForm
from app.places.admin_views import (
    ARCHIVE_LINES,
    RESTORE_LINES,
    archive_page,
    chosen_town,
    listing,
    load_for_admin,
    show_page,
    town_choices,
)
from parking import current_settings
from parking.models import KIND_LABELS, CarPark
from parking.services import admin
from parking.services.tariffs import tariff_in_words

bp = Blueprint("carpark_admin", __name__, url_prefix="/admin")
ADMIN = Role.ADMINISTRATOR
# Where the staff accounts' pages give and take roles (issue 15's staff administration), if
# this installation has them: the first endpoint found.
STAFF_ADMIN_ENDPOINTS = ("staff_admin.index", "staff_admin.accounts", "staff_admin.staff")


@bp.route("/carparks")
@require_role(ADMIN)
def car_parks():
    return listing(
        CarPark,
        title=_("Car parks"),
        row=lambda p: (
            p.name,
            url_for(".car_park", car_park_id=p.id),
            [
                p.town.district.name,
                p.town.name,
                _("%(n)d spaces", n=p.total_spaces),
            ],
        ),
        new_url=url_for(".car_park_new"),
        new_label=_("Add a car park"),
    )


def _operators(park: CarPark) -> list[User]:
    return held_for(db.session, Role.CARPARK_OPERATOR, park)


def _staff_admin_url() -> str | None:
    for endpoint in STAFF_ADMIN_ENDPOINTS:
        if endpoint in current_app.view_functions:
            return url_for(endpoint)
    return None


@bp.route("/carparks/<int:car_park_id>")
@require_role(ADMIN)
def car_park(car_park_id: int):
    p = load_for_admin(CarPark, car_park_id)
    operators = _operators(p)
    actions = [
        (_("Edit"), url_for(".car_park_edit", car_park_id=p.id)),
        (_("Capacity and reservations"), url_for("parking_operator.capacity", car_park_id=p.id)),
        (_("Tariff"), url_for("parking_operator.tariff", car_park_id=p.id)),
        (_("Operator’s dashboard"), url_for("parking_operator.dashboard", car_park_id=p.id)),
    ]
    staff = _staff_admin_url()
    if staff:
        actions.append((_("Give or take operator roles"), staff))
    return show_page(
        title=p.name,
        back_url=url_for(".car_parks"),
        facts=[
            (_("District"), p.town.district.name),
            (_("Town"), p.town.name),
            (_("Kind of car park"), p.kind.label),
            (_("Address"), p.address),
            (_("Coordinates (WGS-84)"), f"{p.latitude:.6f}, {p.longitude:.6f}"),
            (_("Total spaces"), p.total_spaces),
            (_("Spaces that can be reserved"), p.reservable_spaces),
            (_("Tariff"), tariff_in_words(p.tariff)),
            (
                _("Operators"),
                ", ".join(u.name or u.username or "" for u in operators) or _("None yet"),
            ),
        ],
        actions=actions,
        archive_url=url_for(".car_park_archive", car_park_id=p.id),
        archived=p.archived_at is not None,
    )


@bp.route("/carparks/new", methods=["GET", "POST"], endpoint="car_park_new")
@bp.route("/carparks/<int:car_park_id>/edit", methods=["GET", "POST"])
@require_role(ADMIN)
def car_park_edit(car_park_id: int | None = None):
    p = load_for_admin(CarPark, car_park_id) if car_park_id is not None else None
    form = CarParkForm(obj=p)
    form.town_id.choices = town_choices()
    form.kind.choices = [SelectChoice("", _("Choose the kind"))] + [
        SelectChoice(kind.value, label) for kind, label in KIND_LABELS.items()
    ]
    if p is not None:
        # The size of an existing car park changes on the capacity page (cars inside,
        # reservations made).
        del form.total_spaces
        del form.reservable_spaces
        if request.method == "GET":
            form.kind.data = p.kind.value
    elif request.method == "GET":
        form.town_id.data = request.args.get("town", type=int)

    def save():
        town = chosen_town(form)
        if town is None:
            raise DomainError(_("Choose a town"), field="town_id")
        return admin.save_car_park(db.session, current_user, p, form.data, town, current_settings())

    done = submit_to_service(
        form,
        save,
        success=_("Car park saved."),
        then=lambda saved: url_for(".car_park", car_park_id=saved.id),
    )
    return done or render_template(
        "admin/places/form.html",
        form=form,
        title=_("Edit %(name)s", name=p.name) if p else _("Add a car park"),
        back_url=url_for(".car_park", car_park_id=p.id) if p else url_for(".car_parks"),
    )


@bp.route("/carparks/<int:car_park_id>/archive", methods=["GET", "POST"])
@require_role(ADMIN)
def car_park_archive(car_park_id: int):
    p = load_for_admin(CarPark, car_park_id)
    return archive_page(
        p,
        name=p.name,
        back_url=url_for(".car_park", car_park_id=p.id),
        lines_archive=[
            _("Drivers will no longer find it or reserve there. Reservations already made stay."),
            *ARCHIVE_LINES[1:],
        ],
        lines_restore=RESTORE_LINES,
    )


def init_app(app) -> None:
    app.register_blueprint(bp)
