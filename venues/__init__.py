"""全闵预约: the venue booking service (venues, spaces, booking, door check-in, crowd levels)."""

from flask import url_for
from flask_babel import lazy_gettext as _l

from app.registry import (
    Banner,
    Link,
    Service,
    register_banner,
    register_named_places,
    register_personal_data,
    register_seeder,
    register_service,
    register_sweeper,
    register_workspace_links,
)


def _acting_banner():
    from flask_babel import gettext

    from app.acting import acting_for

    resident = acting_for()
    if resident is None:
        return None
    return Banner(
        gettext(
            "You are acting for %(name)s (帮办代办). Bookings you make are theirs.",
            name=resident.name,
        ),
        _l("Stop acting for them"),
        url_for("my_bookings.helping"),
    )


def current_settings():
    """The venue settings of the app handling this request or command, for views, the API and
    commands to pass to the services (which read no Flask globals)."""
    from flask import current_app

    from venues.services.rules import VenueSettings

    return VenueSettings.from_config(current_app.config)


def init_app(app) -> None:
    from app.accounts.models import Role
    from app.api import register_api_blueprint
    from app.scopes import register_scope
    from venues import api, models, my_views, staff_views, views
    from venues.demo import seed_venues
    from venues.services.rules import VenueSettings
    from venues.services.sweep import sweep

    register_scope(models.Venue)
    register_named_places(app, models.Venue)  # parking's "near a place" search finds venues
    from venues import imports

    imports.init_app(app)  # the venues kind of the bulk import (app/imports)
    for blueprint in (
        views.bp,
        my_views.bp,
        my_views.feed_bp,
        staff_views.bp,
        staff_views.media_bp,
    ):
        app.register_blueprint(blueprint)
    register_api_blueprint(app, api.blp)
    from app.ratelimit import limit_public_lists

    limit_public_lists(app, "venues.index", "api_venues.list_venues")
    from app.security import allow_public_cache

    allow_public_cache(app, "venue_media.media")  # venue photos are public (venues/staff_views.py)
    register_service(
        app,
        Service(
            key="venues",
            title=_l("Venue booking"),
            summary=_l(
                "Book museums, libraries, culture centres, sports halls and courts, "
                "then show your code at the door."
            ),
            endpoint="venues.index",
            icon="venue.svg",
        ),
    )
    from venues.demo_jinshan import seed_venues_jinshan  # a second district (issue 15)

    register_seeder(app, seed_venues_jinshan)  # before seed_venues: it makes their slots
    register_seeder(app, seed_venues)
    from app.registry import register_mine
    from venues.mine import next_booking

    register_mine(app, next_booking)  # the home page's "我的" block
    from venues.services import personal_data

    register_personal_data(app, "venues", personal_data.export, personal_data.erase)
    register_banner(app, _acting_banner)
    # `flask sweep` calls sweepers with the session only; the settings are this app's config,
    # read when the sweep runs.
    register_sweeper(app, lambda session: sweep(session, VenueSettings.from_config(app.config)))

    register_workspace_links(
        app, Role.RESIDENT, lambda user, a: [Link(_l("My bookings"), url_for("my_bookings.index"))]
    )
    # The approval queue with its count first, for venues with spaces that need approval.
    register_workspace_links(app, Role.VENUE_STAFF, staff_views.workspace_links)
    register_workspace_links(
        app,
        Role.VENUE_ADMIN,
        lambda user, a: [
            Link(_l("Manage venues"), url_for("venue_staff.admin_list")),
            Link(_l("Crowd levels in the district"), url_for("venue_staff.overview")),
        ],
    )
    register_workspace_links(
        app,
        Role.DISTRICT_SUPERVISOR,
        lambda user, a: [Link(_l("Crowd levels in the district"), url_for("venue_staff.overview"))],
    )
    register_workspace_links(
        app,
        Role.COMMUNITY_HELPER,
        lambda user, a: [Link(_l("Residents I help"), url_for("my_bookings.helping"))],
    )
