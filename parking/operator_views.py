"""Car-park operators: the day's dashboard, capacity and reservable pool, tariff, sharing
windows, and the token their gate system sends events with. Operators see their own car
parks; administrators see every one."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.accounts.models import Role
from app.audit.services import record_access
from app.auth import authorize, require_role
from app.clock import hhmm, parse_hhmm
from app.extensions import db
from app.forms import submit_to_service
from parking import current_settings
from parking.forms import CapacityForm, ConfirmForm, TariffForm, WindowForm, fen_of
from parking.models import CarPark, DayPattern, SharingWindow
from parking.services import gate, operator, sharing, verification
from parking.services.reservations import reservable_now
from parking.services.tariffs import TariffRules, save_tariff, tariff_in_words

bp = Blueprint("parking_operator", __name__, url_prefix="/parking/operate")
ROLES = (Role.CARPARK_OPERATOR, Role.ADMINISTRATOR)


def _park(car_park_id: int) -> CarPark:
    park = db.session.get(CarPark, car_park_id)
    if park is None:
        abort(404)
    authorize(current_user, *ROLES, obj=park)
    return park


@bp.route("")
@require_role(*ROLES)
def index():
    parks = db.session.scalars(select(CarPark).order_by(CarPark.id)).all()
    mine = [p for p in parks if any(current_user.has_role(r, p) for r in ROLES)]
    if len(mine) == 1:
        return redirect(url_for(".dashboard", car_park_id=mine[0].id))
    return render_template("parking/operate/index.html", parks=mine)


@bp.route("/<int:car_park_id>")
@require_role(*ROLES)
def dashboard(car_park_id: int):
    park = _park(car_park_id)
    figures = operator.day_figures(db.session, park)
    # The day's plates at the gate and on reservations, seen by staff: on the record.
    record_access(
        db.session,
        current_user,
        "parking.plates_viewed",
        park,
        gate_events=len(figures.events),
        reservations=len(figures.reservations),
        tomorrow=len(figures.tomorrow),
    )
    peak = max([level or 0 for _, level in figures.hours] + [park.total_spaces, 1])
    return render_template(
        "parking/operate/dashboard.html",
        park=park,
        f=figures,
        peak=peak,
        one_day=timedelta(days=1),
        reservable=reservable_now(db.session, park),
        words=tariff_in_words(park.tariff),
        can_report_events=gate.can_report_events(current_user, park),
        gate_tokens=(
            gate.gate_tokens(db.session, park) if gate.can_report_events(current_user, park) else []
        ),
        plates_waiting=(
            verification.waiting(db.session) if verification.can_verify(current_user) else None
        ),
    )


@bp.route("/<int:car_park_id>/capacity", methods=["GET", "POST"])
@require_role(*ROLES)
def capacity(car_park_id: int):
    park = _park(car_park_id)
    form = CapacityForm(obj=park)
    done = submit_to_service(
        form,
        lambda: operator.set_capacity(
            db.session,
            park,
            total_spaces=form.total_spaces.data,
            reservable_spaces=form.reservable_spaces.data,
            grace_minutes=form.grace_minutes.data,
            cancel_cutoff_minutes=form.cancel_cutoff_minutes.data,
            open=form.open.data,
            pool_days=current_settings().pool_days,
        ),
        success=_("Capacity saved."),
        then=url_for(".dashboard", car_park_id=park.id),
    )
    return done or render_template(
        "parking/operate/form.html", park=park, form=form, title=_("Capacity and reservations")
    )


def _yuan(fen: int | None):
    return None if fen is None else Decimal(fen) / 100


@bp.route("/<int:car_park_id>/tariff", methods=["GET", "POST"])
@require_role(*ROLES)
def tariff(car_park_id: int):
    park = _park(car_park_id)
    current = park.tariff
    form = TariffForm()
    if not form.is_submitted() and current is not None:
        form.free_minutes.data, form.period_minutes.data = (
            current.free_minutes,
            current.period_minutes,
        )
        form.first_hour_yuan.data, form.period_yuan.data = (
            _yuan(current.first_hour_fen),
            _yuan(current.period_fen),
        )
        form.night_unit_yuan.data, form.daily_cap_yuan.data = (
            _yuan(current.night_unit_fen),
            _yuan(current.daily_cap_fen),
        )
        form.day_starts.data, form.day_ends.data = hhmm(current.day_starts), hhmm(current.day_ends)

    def save():
        daily_cap = form.daily_cap_yuan.data
        rules = TariffRules(
            free_minutes=form.free_minutes.data,
            first_hour_fen=fen_of(form.first_hour_yuan.data),
            period_minutes=form.period_minutes.data,
            period_fen=fen_of(form.period_yuan.data),
            night_unit_fen=fen_of(form.night_unit_yuan.data),
            # The form's TIME pattern admits only times parse_hhmm reads.
            day_starts=parse_hhmm(form.day_starts.data),
            day_ends=parse_hhmm(form.day_ends.data),
            daily_cap_fen=fen_of(daily_cap) if daily_cap is not None else None,
        )
        return save_tariff(db.session, current_user, park, rules)

    done = submit_to_service(
        form,
        save,
        success=_("Tariff saved. New stays are charged by it."),
        then=url_for(".dashboard", car_park_id=park.id),
    )
    return done or render_template(
        "parking/operate/form.html", park=park, form=form, title=_("Tariff"), money_fields=True
    )


@bp.route("/<int:car_park_id>/windows/new", methods=["GET", "POST"])
@bp.route("/<int:car_park_id>/windows/<int:window_id>", methods=["GET", "POST"])
@require_role(*ROLES)
def window(car_park_id: int, window_id: int | None = None):
    park = _park(car_park_id)
    existing = db.session.get(SharingWindow, window_id) if window_id else None
    if window_id and (existing is None or existing.car_park_id != park.id):
        abort(404)
    form = WindowForm(obj=existing)
    if not form.is_submitted() and existing is not None:
        form.days.data = existing.days.value
        form.start_time.data, form.end_time.data = (
            hhmm(existing.start_minute),
            hhmm(existing.end_minute),
        )
        form.monthly_fee_yuan.data = _yuan(existing.monthly_fee_fen)

    def save():
        values = dict(
            name_zh=form.name_zh.data.strip(),
            name_en=form.name_en.data.strip(),
            days=DayPattern(form.days.data),
            start_minute=parse_hhmm(form.start_time.data),
            end_minute=parse_hhmm(form.end_time.data),
            spaces=form.spaces.data,
            monthly_fee_fen=fen_of(form.monthly_fee_yuan.data),
            active=form.active.data,
        )
        if existing is None:
            return sharing.create_window(db.session, park, **values)
        sharing.update_window(db.session, existing, **values)
        return existing

    done = submit_to_service(
        form,
        save,
        success=_("Sharing window saved."),
        then=url_for(".dashboard", car_park_id=park.id),
    )
    return done or render_template(
        "parking/operate/form.html",
        park=park,
        form=form,
        title=_("Sharing window") if existing else _("New sharing window"),
    )


@bp.route("/<int:car_park_id>/token", methods=["POST"])
@require_role(*ROLES)
def token(car_park_id: int):
    park = _park(car_park_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    secret = gate.issue_gate_token(db.session, current_user, park)
    return render_template("parking/operate/token.html", park=park, token=secret)


@bp.route("/<int:car_park_id>/tokens/<int:token_id>/revoke", methods=["GET", "POST"])
@require_role(*ROLES)
def revoke_token(car_park_id: int, token_id: int):
    """Revoke a gate token, after a confirmation page: the gate using it stops at once."""
    park = _park(car_park_id)
    row = gate.gate_token(db.session, current_user, park, token_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        gate.revoke_gate_token(db.session, current_user, park, row.id)
        flash(_("The gate token is revoked. A gate still using it is refused."), "success")
        return redirect(url_for(".dashboard", car_park_id=park.id))
    return render_template("parking/operate/revoke_token.html", park=park, token=row, form=form)
