"""全闵预约: the venue booking service."""
from flask_babel import lazy_gettext as _l

from app.registry import Service, register_service


def init_app(app) -> None:
    from venues.views import bp

    app.register_blueprint(bp)
    register_service(app, Service(
        key="venues", title=_l("Venue booking"),
        summary=_l("Book museums, libraries, culture centres, sports halls and courts, then show your code at the door."),
        endpoint="venues.index", icon="venue.svg"))
