"""快捷停车: the parking service."""
from flask_babel import lazy_gettext as _l

from app.registry import Service, register_service


def init_app(app) -> None:
    from parking.views import bp

    app.register_blueprint(bp)
    register_service(app, Service(
        key="parking", title=_l("Parking"),
        summary=_l("Free spaces in public car parks, reserving a space, off-peak sharing contracts and plate-based payment."),
        endpoint="parking.index", icon="parking.svg"))
