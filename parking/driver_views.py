"""A driver's parking: vehicles and 无感支付, reserving a space, off-peak contracts, stays,
charges and paying them. A community helper acting for a resident (帮办代办) with parking consent
reserves and cancels spaces and signs and cancels off-peak contracts for the resident's plates,
and sees those reservations and contracts; never the wallet, charges and payments, vehicles or
the gate history (`app.acting.own_only`)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from accessibility import current_display_mode
from app import clock
from app.accounts.models import DisplayMode, HelpService
from app.acting import current_holder, own_only
from app.errors import DomainError
from app.extensions import db
from app.forms import add_error, submit_to_service
from app.i18n import human_datetime, human_day, human_month
from app.templating import format_day
from bookings.models import BookingStatus
from bookings.noshows import LATE
from parking import arrival_steps, current_settings
from parking.forms import (
    ArrivalStepsForm,
    AutopayForm,
    ConfirmForm,
    ContractForm,
    LicenceForm,
    ReserveForm,
    VehicleForm,
)
from parking.models import CarPark, Charge, ChargeStatus, GateOutcome, SharingWindow
from parking.services import costs, gate, maps, payments, reservations, sharing, vehicles
from parking.services.tariffs import tariff_in_words

bp = Blueprint("parking_driver", __name__, url_prefix="/parking")


def reservation_status(reservation) -> str:
    status = reservation.booking.status
    if status == BookingStatus.CANCELLED and reservation.booking.status_reason == LATE:
        return _("Cancelled late")
    return {
        BookingStatus.CONFIRMED: _("Reserved"),
        BookingStatus.CHECKED_IN: _("Arrived"),
        BookingStatus.CANCELLED: _("Cancelled"),
        BookingStatus.NO_SHOW: _("Not used (no-show)"),
    }.get(status, status.value)


def contract_state(contract) -> str:
    state = sharing.state(contract)
    if state == "unpaid":
        return _(
            "Waiting for payment: pay by %(time)s or the space goes back to others",
            time=human_datetime(contract.pay_by),
        )
    return {
        "cancelled": _("Cancelled"),
        "lapsed": _("Lapsed: not paid in time"),
        "ended": _("Ended"),
        # The human day (the year only when it is not this year: "1月1日（周五）起生效").
        "upcoming": _("Starts %(date)s", date=human_day(contract.month)),
        "running": _("Running, renews every month"),
        "ending": _("Running, ends at the end of the month"),
    }[state]


def charge_status(charge: Charge) -> str:
    return {
        ChargeStatus.DUE: _("To pay"),
        ChargeStatus.PAID: _("Paid"),
        ChargeStatus.FAILED: _("Automatic payment failed: to pay"),
        ChargeStatus.CANCELLED: _("Cancelled: nothing to pay"),
    }[charge.status]


def gate_outcome(outcome: GateOutcome) -> str:
    return {
        GateOutcome.ENTERED: _("Entry"),
        GateOutcome.EXITED: _("Exit"),
        GateOutcome.REPEATED_ENTRY: _("Entry while already inside (not counted)"),
        GateOutcome.UNMATCHED_EXIT: _("Exit without an entry (not counted)"),
    }[outcome]


@bp.app_context_processor
def parking_helpers():
    return {
        "reservation_status": reservation_status,
        "contract_state": contract_state,
        "charge_status": charge_status,
        "describe_window": sharing.describe,
        "is_renewal": costs.is_renewal,
        "navigation_links": maps.navigation_links,
        "ChargeStatus": ChargeStatus,
        "BookingStatus": BookingStatus,
        "gate_outcome": gate_outcome,
    }


def _park_or_404(car_park_id: int) -> CarPark:
    park = db.session.get(CarPark, car_park_id)
    if park is None:
        abort(404)
    return park


def _or_404(load):
    try:
        return load()
    except DomainError as error:
        if error.status == 404:
            abort(404)
        raise


@bp.route("/mine")
@login_required
def mine():
    holder = current_holder(HelpService.PARKING)
    my_reservations = reservations.my_reservations(db.session, holder.id)
    upcoming = [r for r in my_reservations if reservations.is_upcoming(r)]
    # The private part (charges, gate history, vehicles) only for the person themself.
    private = holder.id == current_user.id
    charges = (
        list(
            db.session.scalars(
                select(Charge)
                .where(Charge.user_id == holder.id)
                .order_by(Charge.created_at.desc())
                .limit(50)
                .options(selectinload(Charge.car_park))
            )
        )
        if private
        else []
    )
    return render_template(
        "parking/mine.html",
        holder=holder,
        private=private,
        vehicles=vehicles.my_vehicles(db.session, holder.id) if private else [],
        upcoming=upcoming,
        past=[r for r in my_reservations if r not in upcoming],
        contracts=sharing.my_contracts(db.session, holder.id),
        stays=gate.history(db.session, holder.id) if private else [],
        unpaid=[c for c in charges if payments.is_payable(c)],
        charges=charges,
        suspension=reservations.active_suspension(db.session, holder.id),
        form=ConfirmForm(),
    )


@bp.route("/vehicles", methods=["GET", "POST"])
@login_required
def vehicle_list():
    holder = own_only()
    form = VehicleForm()
    done = submit_to_service(
        form,
        lambda: vehicles.register(db.session, holder, form.plate.data),
        success=lambda v: (
            _(
                "%(plate)s is added. Send a photo of its vehicle licence to verify it.",
                plate=v.plate,
            )
            if vehicles.can_send_licence(v)
            else _("%(plate)s is verified.", plate=v.plate)
        ),
        then=lambda v: (
            url_for(".licence", vehicle_id=v.id)
            if vehicles.can_send_licence(v)
            else url_for(".vehicle_list")
        ),
    )
    if done:
        return done
    provider = payments.default_provider(current_settings())
    return render_template(
        "parking/vehicles.html",
        form=form,
        vehicles=vehicles.my_vehicles(db.session, holder.id),
        provider=provider,
        balance=provider.balance(db.session, holder.id),
        autopay_form=AutopayForm(),
        remove_form=ConfirmForm(),
        can_bind_payment=vehicles.can_bind_payment,
        can_send_licence=vehicles.can_send_licence,
    )


@bp.route("/vehicles/<int:vehicle_id>/licence", methods=["GET", "POST"])
@login_required
def licence(vehicle_id: int):
    """Send the photo of the vehicle licence (行驶证): one question on its own page."""
    holder = own_only()
    vehicle = _or_404(lambda: vehicles.get_mine(db.session, holder.id, vehicle_id))
    if not vehicles.can_send_licence(vehicle):
        return redirect(url_for(".vehicle_list"))
    form = LicenceForm()
    done = submit_to_service(
        form,
        lambda: vehicles.send_licence(db.session, vehicle, form.photo.data.read()),
        success=lambda v: _(
            "The photo of the vehicle licence of %(plate)s is sent. "
            "You will get a message once it is checked.",
            plate=v.plate,
        ),
        then=url_for(".vehicle_list"),
    )
    return done or render_template("parking/licence.html", form=form, vehicle=vehicle)


@bp.route("/vehicles/<int:vehicle_id>/autopay", methods=["POST"])
@login_required
def autopay(vehicle_id: int):
    holder = own_only()
    vehicle = _or_404(lambda: vehicles.get_mine(db.session, holder.id, vehicle_id))
    form = AutopayForm()
    if not form.validate_on_submit():
        abort(400)
    if form.on.data == "1" and not vehicles.can_bind_payment(vehicle):
        flash(
            _("Automatic payment starts once %(plate)s is verified.", plate=vehicle.plate), "error"
        )
    elif form.on.data == "1":
        method = payments.default_provider(current_settings()).open_method(db.session, holder)
        try:
            vehicles.set_autopay(db.session, vehicle, method)
        except DomainError as error:  # the claim was dropped meanwhile
            flash(str(error), "error")
            return redirect(url_for(".vehicle_list"))
        flash(
            _(
                "Fees for %(plate)s will be paid automatically when it leaves a car park.",
                plate=vehicle.plate,
            ),
            "success",
        )
    else:
        vehicles.set_autopay(db.session, vehicle, None)
        flash(
            _(
                "Automatic payment for %(plate)s is off. Pay fees from My parking.",
                plate=vehicle.plate,
            ),
            "success",
        )
    return redirect(url_for(".vehicle_list"))


@bp.route("/vehicles/<int:vehicle_id>/remove", methods=["GET", "POST"])
@login_required
def remove_vehicle(vehicle_id: int):
    """GET: what removing the plate takes with it (`costs.removal_terms`), and a warning button
    that removes it."""
    holder = own_only()
    vehicle = _or_404(lambda: vehicles.get_mine(db.session, holder.id, vehicle_id))
    if request.method == "GET":
        return render_template(
            "parking/confirm_remove.html",
            vehicle=vehicle,
            terms=costs.removal_terms(db.session, vehicle),
            form=ConfirmForm(),
        )
    if not ConfirmForm().validate_on_submit():
        abort(400)
    plate = vehicle.plate
    vehicles.remove(db.session, vehicle)
    flash(_("%(plate)s is no longer registered to you.", plate=plate), "success")
    return redirect(url_for(".vehicle_list"))


def elderly_mode() -> bool:
    return current_display_mode() == DisplayMode.ELDERLY


def _day_choices() -> list[SelectChoice]:
    days = [clock.today() + timedelta(days=n) for n in range(current_settings().pool_days)]
    return [
        SelectChoice(d.isoformat(), format_day(d, "full"))
        for d in days
        if reservations.can_arrive_on(d)
    ]


def _time_choices(day: str | None, park: CarPark) -> list[SelectChoice]:
    """The arrival times of `day` (ISO; today if missing or not a day), for the page: the form
    checks the time it gets itself (`validate_choice=False`), so a POST that reserves never
    builds these. A time whose free cancellation has already passed says so
    (`costs.late_from_the_start`)."""
    try:
        chosen_day = datetime.fromisoformat(day).date() if day else clock.today()
    except ValueError:
        chosen_day = clock.today()
    if not clock.plausible(chosen_day):  # the year 9999's last day overflowed (tests/test_fuzz.py)
        chosen_day = clock.today()
    late = _("(cancelling will count as a no-show)")
    return [SelectChoice("", _("Choose a time"))] + [
        SelectChoice(
            clock.local(t).strftime("%H:%M"),
            clock.local(t).strftime("%H:%M")
            + (" " + late if costs.late_from_the_start(park, t) else ""),
        )
        for t in reservations.arrival_choices(chosen_day)
    ]


@bp.route("/<int:car_park_id>/reserve", methods=["GET", "POST"])
@login_required
def reserve(car_park_id: int):
    park = _park_or_404(car_park_id)
    holder = current_holder(HelpService.PARKING)
    mine = vehicles.usable_vehicles(db.session, holder.id)
    form = ReserveForm()
    form.plate.choices = [SelectChoice(v.plate, v.plate) for v in mine]
    form.day.choices = _day_choices()
    day = request.values.get("day") or (form.day.choices[0].value if form.day.choices else None)
    if request.method == "GET":
        form.idempotency_key.data = secrets.token_urlsafe(16)
        if len(mine) == 1:
            form.plate.data = mine[0].plate
        elif request.args.get("plate") in {v.plate for v in mine}:
            form.plate.data = request.args["plate"]  # a link that names the vehicle
        form.day.data = day
    reservation = None
    if (
        request.method == "POST"
        and request.form.get("action") != "change_day"
        and form.validate_on_submit()
    ):
        minutes = clock.parse_hhmm(form.time.data)
        try:
            arrival_day = datetime.fromisoformat(form.day.data).date()
        except ValueError:
            minutes = None
        if minutes is None:
            form.time.errors = [_("Choose the arrival time")]
        else:
            try:
                # The plate's claim is checked in the reservation's own unit of work.
                reservation = reservations.reserve(
                    db.session,
                    current_user,
                    holder,
                    park,
                    form.plate.data,
                    clock.at(arrival_day, minutes),
                    settings=current_settings(),
                    idempotency_key=form.idempotency_key.data or None,
                )
            except DomainError as error:
                add_error(
                    form,
                    error
                    if error.field != "arrive_at"
                    else DomainError(error.message, field="time", **error.params),
                )
    if reservation is not None:
        return redirect(url_for(".reservation", reference=reservation.booking.reference, new=1))
    if elderly_mode() and mine and form.day.choices:
        return _reserve_in_steps(park, form, mine)
    form.time.choices = _time_choices(day, park)
    return render_template(
        "parking/reserve.html",
        park=park,
        form=form,
        vehicles=mine,
        free=reservations.reservable_now(db.session, park),
        day=day,
    )


def _reserve_in_steps(park: CarPark, form: ReserveForm, mine):
    """Elderly mode's reservation page: the step `arrival_steps.walk` asks now. After a refused
    POST the step of the refused answer is asked again with the refusal on it (a refusal of an
    answer not asked on its own page, such as the only vehicle's, goes to the summary)."""
    steps = ArrivalStepsForm(formdata=None)
    posted = request.method == "POST"
    at = next((n for n in ("plate", "day", "time") if getattr(form, n).errors), "time")
    walk = arrival_steps.walk(
        steps,
        request.values,
        plates=[v.plate for v in mine],
        days=[datetime.fromisoformat(c.value).date() for c in form.day.choices],
        park=park,
        at=at if posted else None,
    )
    if posted:
        steps.form_errors = list(form.form_errors) + list(form.csrf_token.errors)
        for name in ("plate", "day", "time"):
            errors = getattr(form, name).errors
            if name == walk.step and errors:
                steps[name].errors = list(errors)
            elif errors:
                steps.form_errors += list(errors)
    return render_template(
        "parking/reserve_steps.html",
        park=park,
        form=form,
        steps=steps,
        walk=walk,
        free=reservations.reservable_now(db.session, park),
    )


@bp.route("/reservations/<reference>")
@login_required
def reservation(reference: str):
    holder = current_holder(HelpService.PARKING)
    found = _or_404(lambda: reservations.get_for_holder(db.session, holder.id, reference=reference))
    return render_template(
        "parking/reservation.html",
        reservation=found,
        booking=found.booking,
        park=found.car_park,
        new=request.args.get("new") == "1",
        free_cancel=reservations.cancel_is_free(found),
        can_cancel=reservations.can_cancel(db.session, found, current_user),
        form=ConfirmForm(),
        cutoff=reservations.free_cancellation_until(found),
        late_from_the_start=costs.late_from_the_start(
            found.car_park, found.arrive_at, found.booking.created_at
        ),
    )


@bp.route("/reservations/<reference>/cancel", methods=["GET", "POST"])
@login_required
def cancel_reservation(reference: str):
    """GET: what cancelling now costs (`costs.cancel_terms`: free, or counted like a no-show
    and perhaps pausing reserving), and a warning button that cancels."""
    holder = current_holder(HelpService.PARKING)
    found = _or_404(lambda: reservations.get_for_holder(db.session, holder.id, reference=reference))
    if request.method == "GET":
        if not reservations.can_cancel(db.session, found, current_user):
            return redirect(url_for(".reservation", reference=reference))
        return render_template(
            "parking/confirm_cancel.html",
            reservation=found,
            booking=found.booking,
            park=found.car_park,
            terms=costs.cancel_terms(db.session, found, current_settings()),
            form=ConfirmForm(),
        )
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        free = reservations.cancel(db.session, found, current_user, settings=current_settings())
    except DomainError as error:
        flash(str(error), "error")
    else:
        flash(
            _("Reservation cancelled. The space is free for others.")
            if free
            else _("Reservation cancelled after the cut-off: it counts like a no-show."),
            "success",
        )
    return redirect(url_for(".reservation", reference=reference))


@bp.route("/<int:car_park_id>/share", methods=["GET", "POST"])
@login_required
def share(car_park_id: int):
    park = _park_or_404(car_park_id)
    holder = current_holder(HelpService.PARKING)
    windows = [w for w in park.windows if w.active and w.spaces > 0]
    mine = vehicles.usable_vehicles(db.session, holder.id)
    this_month = clock.month_start(clock.today())
    months = [this_month, clock.next_month(this_month)]
    form = ContractForm()
    form.window.choices = [SelectChoice(w.id, f"{w.name} · {sharing.describe(w)}") for w in windows]
    form.plate.choices = [SelectChoice(v.plate, v.plate) for v in mine]
    form.month.choices = [
        SelectChoice(
            m.isoformat(),
            human_month(m)
            + (" " + _("(from today, charged for the days left)") if m == this_month else ""),
        )
        for m in months
    ]
    if request.method == "GET":
        form.idempotency_key.data = secrets.token_urlsafe(16)
        if len(mine) == 1:
            form.plate.data = mine[0].plate
        form.month.data = months[1].isoformat()
    if request.method == "POST" and request.form.get("action") == "change":
        form.confirm.data = ""  # back from the summary to the form, answers kept
    elif request.method == "POST" and form.confirm.data != "1" and form.validate_on_submit():
        # The summary before signing: the amount, the period, the renewal and how it is paid.
        window = db.session.get(SharingWindow, form.window.data)
        return render_template(
            "parking/share_check.html",
            park=park,
            form=form,
            window=window,
            terms=costs.sign_terms(
                db.session,
                holder.id,
                window,
                form.plate.data,
                datetime.fromisoformat(form.month.data).date(),
                renew=form.renew.data,
                settings=current_settings(),
            ),
        )

    def sign():
        window = db.session.get(SharingWindow, form.window.data)
        # The plate's claim is checked in the contract's own unit of work.
        return sharing.sign(
            db.session,
            holder,
            window,
            form.plate.data,
            datetime.fromisoformat(form.month.data).date(),
            renew=form.renew.data,
            settings=current_settings(),
            idempotency_key=form.idempotency_key.data or None,
            actor=current_user,
        )

    done = (
        submit_to_service(
            form,
            sign,
            success=_("Contract signed."),
            then=lambda c: url_for(".contract", contract_id=c.id),
        )
        if request.method == "POST" and form.confirm.data == "1"
        else None
    )
    if done:
        return done
    left = {w.id: [sharing.spaces_left(db.session, w, m) for m in months] for w in windows}
    prices = {w.id: [sharing.price_for(w, m, clock.today()) for m in months] for w in windows}
    return render_template(
        "parking/share.html",
        park=park,
        form=form,
        windows=windows,
        left=left,
        prices=prices,
        months=months,
        vehicles=mine,
    )


@bp.route("/contracts/<int:contract_id>")
@login_required
def contract(contract_id: int):
    holder = current_holder(HelpService.PARKING)
    found = _or_404(lambda: sharing.get_for_holder(db.session, holder.id, contract_id))
    charge = db.session.scalar(select(Charge).where(Charge.contract_id == found.id))
    return render_template(
        "parking/contract.html",
        contract=found,
        window=found.window,
        park=found.window.car_park,
        state=sharing.state(found),
        can_cancel=sharing.can_cancel(db.session, found, current_user),
        can_renew=sharing.can_renew(found),
        can_stop_renewing=sharing.can_stop_renewing(found),
        charge=charge,
        form=ConfirmForm(),
        private=holder.id == current_user.id,
        month_end=clock.next_month(found.month) - timedelta(days=1),
        renewal=costs.is_renewal(found),
    )


CONTRACT_ALLOWED = {
    "cancel": lambda contract: sharing.can_cancel(db.session, contract, current_user),
    "stop": lambda contract: contract.renew and sharing.can_stop_renewing(contract),
    "renew": lambda contract: not contract.renew and sharing.can_renew(contract),
}


@bp.route("/contracts/<int:contract_id>/<any(cancel, stop, renew):action>", methods=["GET", "POST"])
@login_required
def change_contract(contract_id: int, action: str):
    """GET: what cancelling, ending or renewing the contract means for money and the space
    (`costs.contract_cancel_terms` / `contract_stop_terms`), and the button that does it."""
    holder = current_holder(HelpService.PARKING)
    found = _or_404(lambda: sharing.get_for_holder(db.session, holder.id, contract_id))
    if request.method == "GET":
        if not CONTRACT_ALLOWED[action](found):
            return redirect(url_for(".contract", contract_id=contract_id))
        window = found.window
        return render_template(
            "parking/confirm_contract.html",
            action=action,
            contract=found,
            window=window,
            park=window.car_park,
            terms=(
                costs.contract_cancel_terms(db.session, found)
                if action == "cancel"
                else costs.contract_stop_terms(db.session, found)
            ),
            monthly_fen=window.monthly_fee_fen,
            renew_from_day=sharing.RENEW_FROM_DAY,
            form=ConfirmForm(),
        )
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        if action == "cancel":
            sharing.cancel(db.session, found, current_user)
            flash(_("Contract cancelled. The space is free for others."), "success")
        else:
            sharing.set_renew(db.session, found, action == "renew")
            flash(
                _("The contract will renew every month.")
                if action == "renew"
                else _("The contract will end at the end of the month."),
                "success",
            )
    except DomainError as error:
        flash(str(error), "error")
    return redirect(url_for(".contract", contract_id=contract_id))


def _own_charge_or_404(reference: str) -> Charge:
    charge = db.session.scalar(select(Charge).where(Charge.reference == reference))
    if charge is None or charge.user_id != own_only().id:
        abort(404)
    return charge


@bp.route("/charges/<reference>", methods=["GET", "POST"])
@login_required
def charge(reference: str):
    found = _own_charge_or_404(reference)
    form = ConfirmForm()
    settings = current_settings()
    provider = payments.default_provider(settings)
    holder = own_only()
    if form.validate_on_submit():
        try:
            payments.pay_online(db.session, found, holder, settings)
        except DomainError as error:
            form.form_errors.append(str(error))
        else:
            flash(_("Paid. The receipt is in your inbox."), "success")
            return redirect(url_for(".charge", reference=reference))
    db.session.refresh(found)
    return render_template(
        "parking/charge.html",
        charge=found,
        form=form,
        provider=provider,
        payable=payments.is_payable(found),
        balance=provider.balance(db.session, holder.id),
        stay=found.parking_session,
        words=tariff_in_words(found.car_park.tariff),
    )
