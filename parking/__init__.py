"""快捷停车: the parking service (car parks, live vacancies, fees; reservations, sharing contracts
and payments build on these)."""
from flask_babel import lazy_gettext as _l

from app.registry import Service, register_seeder, register_service


def init_app(app) -> None:
    from app.api import register_api_blueprint
    from app.scopes import register_scope
    from parking import api, models, views
    from parking.demo import seed_parking

    register_scope(models.CarPark)
    app.register_blueprint(views.bp)
    register_api_blueprint(app, api.blp)
    register_service(app, Service(
        key="parking", title=_l("Parking"),
        summary=_l("Free spaces in public car parks, reserving a space, off-peak sharing contracts and plate-based payment."),
        endpoint="parking.index", icon="parking.svg"))
    register_seeder(app, seed_parking)
    from app.ratelimit import limiter_for
    app.view_functions["api_parking.feed"] = limiter_for(app).limit(
        lambda: app.config.get("PARKING_FEED_RATE", "120 per minute"))(app.view_functions["api_parking.feed"])
