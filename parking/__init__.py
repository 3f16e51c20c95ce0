"""快捷停车: the parking service (car parks, live vacancies, fees; reservations, sharing contracts
and payments build on these)."""

from flask import url_for
from flask_babel import lazy_gettext as _l

from app.registry import (
    Link,
    Service,
    register_personal_data,
    register_seeder,
    register_service,
    register_sweeper,
    register_workspace_links,
)


def current_settings():
    """This app's ParkingSettings, for views, the API, commands and seeders to pass to the
    services (which read no configuration themselves)."""
    from flask import current_app

    from parking.services import ParkingSettings

    return ParkingSettings.from_config(current_app.config)


def init_app(app) -> None:
    from app.api import register_api_blueprint
    from app.scopes import register_scope
    from parking import api, driver_views, models, operator_views, verify_views, views
    from parking.demo import seed_parking, seed_parking_activity

    register_scope(models.CarPark)
    from parking import imports

    imports.init_app(app)  # the carparks kind of the bulk import (app/imports)
    from parking import citypush

    citypush.init_app(app)  # the city parking platform push (opendata, issue 15)
    from parking.services.plates import mask_plate

    app.jinja_env.filters["mask_plate"] = mask_plate
    app.register_blueprint(views.bp)
    app.register_blueprint(driver_views.bp)
    app.register_blueprint(operator_views.bp)
    app.register_blueprint(verify_views.bp)
    from parking import admin_views

    admin_views.init_app(app)  # car parks for administrators (/admin/carparks)
    register_api_blueprint(app, api.blp)
    register_service(
        app,
        Service(
            key="parking",
            title=_l("Parking"),
            summary=_l(
                "Free spaces in public car parks, reserving a space, "
                "off-peak sharing contracts and plate-based payment."
            ),
            endpoint="parking.index",
            icon="parking.svg",
        ),
    )
    register_seeder(app, seed_parking)
    from parking.demo_jinshan import seed_parking_jinshan  # a second district (issue 15)

    register_seeder(app, seed_parking_jinshan)
    register_seeder(app, seed_parking_activity)
    from app.registry import register_mine
    from parking.mine import next_reservation, to_pay

    register_mine(app, next_reservation)  # the home page's "我的" block
    register_mine(app, to_pay)
    from app.accounts.models import Role
    from parking.services import ParkingSettings
    from parking.services.sweep import sweep

    # Settings read at each sweep, so a changed configuration takes effect on the next one.
    register_sweeper(app, lambda session: sweep(session, ParkingSettings.from_config(app.config)))
    from parking.services import personal_data

    register_personal_data(  # settings read when an account is closed, as for the sweep
        app,
        "parking",
        personal_data.export,
        lambda session, user: personal_data.erase(
            session, user, ParkingSettings.from_config(app.config)
        ),
    )
    from bookings.services import register_state_check
    from parking.services.sharing import impossible_states

    register_state_check(
        app, impossible_states
    )  # `flask bookings check`: contracts honoured unpaid
    register_workspace_links(
        app, Role.RESIDENT, lambda user, a: [Link(_l("My parking"), url_for("parking_driver.mine"))]
    )
    register_workspace_links(
        app,
        Role.CARPARK_OPERATOR,
        lambda user, a: [
            Link(
                _l("Car park dashboard"),
                url_for("parking_operator.dashboard", car_park_id=a.scope_id),
            ),
            Link(_l("Plates to verify"), url_for("parking_verify.queue")),
        ],
    )
    register_workspace_links(
        app,
        Role.SERVICE_DESK,
        lambda user, a: [Link(_l("Plates to verify"), url_for("parking_verify.queue"))],
    )
    from app.security import allow_public_cache

    allow_public_cache(
        app, "api_parking.feed"
    )  # open data, cacheable for 30 seconds (parking/api.py)
    from app.ratelimit import limiter_for

    app.view_functions["api_parking.feed"] = limiter_for(app).limit(
        lambda: app.config.get("PARKING_FEED_RATE", "120 per minute")
    )(app.view_functions["api_parking.feed"])
    from app.ratelimit import limit_endpoints, limit_public_lists

    limit_public_lists(app, "parking.index", "api_parking.list_car_parks")
    limit_endpoints(app, "QUOTE_RATE", "parking-quote", ["parking.quote", "api_parking.quote"])
