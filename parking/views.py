"""快捷停车 pages: car parks with live figures and a plain overview map, and the fee quote."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from accessibility import current_display_mode
from app import clock
from app.accounts.models import DisplayMode
from app.extensions import db
from app.forms import form_was_sent
from app.geo import distance_km
from app.paging import page_size, paginate
from app.places import districts
from app.places.models import Town
from app.registry import named_places
from app.text import SEARCH, check_text
from app.urls import int_arg
from parking.forms import QuoteForm
from parking.models import CarPark
from parking.services import district_map, search, tariffs
from parking.services.reservations import reservable_now, reservable_now_many

bp = Blueprint("parking", __name__, url_prefix="/parking")


@bp.route("")
def index():
    town_id = int_arg(request.args, "town")
    sort = "name" if request.args.get("sort") == "name" else "free"
    # The search boxes follow the input policy like every form field (a clear 400 otherwise).
    q = check_text(request.args.get("q", ""), max_length=SEARCH, field="q").strip()
    near_text = check_text(request.args.get("near", ""), max_length=SEARCH, field="near").strip()
    # The chosen district's car parks and towns (issue 15: app/places/districts.py).
    district = districts.current()
    parks = search.search(db.session, town_id=town_id, q=q, sort=sort, district_id=district.id)
    near = search.find_place(db.session, near_text, named_places()) if near_text else None
    distances = {}
    if near is not None:
        place, lat, lng = near
        distances = {p.id: distance_km(lat, lng, p.latitude, p.longitude) for p in parks}
        parks.sort(key=lambda p: distances[p.id])
        sort = "near"
    towns = select(Town).where(Town.archived_at.is_(None)).order_by(Town.id)
    if district.id is not None:
        towns = towns.where(Town.district_id == district.id)
    towns = db.session.scalars(towns).all()
    elderly = current_display_mode() == DisplayMode.ELDERLY  # a screenful: 6 car parks
    return render_template(
        "parking/index.html",
        parks=parks,
        page=paginate(
            parks, request.args.get("page"), page_size(elderly), request.path, request.args
        ),
        towns=towns,
        town_id=town_id,
        sort=sort,
        q=q,
        near_text=near_text,
        near=near[0] if near else None,
        distances=distances,
        district_map=district_map.overview(parks, district.code),
        words=tariffs.tariff_in_words,
        reservable=reservable_now_many(db.session, parks),
    )


@bp.route("/<int:car_park_id>")
def show(car_park_id: int):
    park = db.session.get(CarPark, car_park_id)
    if park is None:
        abort(404)
    return render_template(
        "parking/show.html",
        park=park,
        words=tariffs.tariff_in_words(park.tariff),
        reservable=reservable_now(db.session, park),
    )


@bp.route("/quote")
def quote():
    form = QuoteForm(request.args)
    form.car_park.choices = [
        SelectChoice(str(p.id), p.name)
        for p in db.session.scalars(
            select(CarPark).where(CarPark.archived_at.is_(None)).order_by(CarPark.id)
        )
    ]
    result = park = None
    if form_was_sent(form) and form.validate():  # a link's ?car_park=3 is no submission
        # The form's TIME pattern admits only times parse_hhmm reads.
        entry = clock.at(form.entry_day.data, clock.parse_hhmm(form.entry_time.data))
        exit = clock.at(form.exit_day.data, clock.parse_hhmm(form.exit_time.data))
        refusal = tariffs.quote_refusal(entry, exit)
        if exit <= entry:
            form.exit_time.errors = list(form.exit_time.errors) + [
                _("Leaving must be after arrival")
            ]
        elif refusal:  # years away, or a stay too long to price (the fuzzing hung or failed here)
            form.exit_day.errors = list(form.exit_day.errors) + [refusal]
        else:
            park = db.session.get(CarPark, form.car_park.data)
            result = tariffs.fee(park, entry, exit)
    return render_template(
        "parking/quote.html",
        form=form,
        result=result,
        park=park,
        words=tariffs.tariff_in_words(park.tariff) if park else "",
    )
