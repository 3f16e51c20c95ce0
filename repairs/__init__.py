"""物业百事通: the repairs service."""
from flask_babel import lazy_gettext as _l

from app.registry import Service, register_service


def init_app(app) -> None:
    from repairs.views import bp

    app.register_blueprint(bp)
    register_service(app, Service(
        key="repairs", title=_l("Repairs"),
        summary=_l("Report a repair at home or in your estate in one step; your property manager responds within 30 minutes."),
        endpoint="repairs.index", icon="repairs.svg"))
