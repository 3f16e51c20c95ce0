"""物业百事通: repair reporting with the 30-minute response clock, three levels of supervision and
Open311 GeoReport v2."""

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


def init_app(app) -> None:
    from app.accounts.models import Role
    from app.places.services import on_claim_ended
    from repairs import api, models, staff_views, views  # noqa: F401  (models: Alembic; staff_views: its routes)
    from repairs.demo import seed_repairs
    from repairs.services.access import end_following
    from repairs.services.rating import RatingCache
    from repairs.services.sweep import sweep

    on_claim_ended(end_following)
    from app.places.models import Estate, HomeClaim, Household
    from app.scopes import register_chain_part, register_expansion, register_scope
    from repairs.services.management import company_scope, estates_of_companies

    # Staff may be property managers for a whole company: its estates (and their homes and
    # claims) name the company managing them today, its reports the company they were made to.
    register_scope(models.PropertyCompany)
    register_chain_part((Estate, Household, HomeClaim), company_scope)
    register_expansion("company", "estate", estates_of_companies)
    from repairs import imports

    imports.init_app(app)  # the estates and companies kinds of the bulk import (app/imports)
    # The monthly rating is kept REPAIRS_RATING_CACHE_SECONDS per node (app/config.py).
    app.extensions["repairs_rating_cache"] = RatingCache(
        int(app.config["REPAIRS_RATING_CACHE_SECONDS"])
    )
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    from repairs import admin_views

    admin_views.init_app(app)  # property companies and who manages an estate (/admin/companies)
    from app.extensions import csrf

    csrf.exempt(api.bp)  # machine clients authenticate with api_key, not a session
    api.init_limits(app)  # filing: per account and per client address
    from app.ratelimit import limit_public_lists

    limit_public_lists(app, "open311.services", "open311.list_requests")
    register_service(
        app,
        Service(
            key="repairs",
            title=_l("Repairs"),
            summary=_l(
                "Report a repair at home or in your estate in one step; "
                "your property manager responds within 30 minutes."
            ),
            endpoint="repairs.index",
            icon="repairs.svg",
        ),
    )
    register_seeder(app, seed_repairs)
    from repairs.demo_jinshan import seed_repairs_jinshan  # a second district (issue 15)

    register_seeder(app, seed_repairs_jinshan)
    from app.registry import register_mine
    from repairs.mine import open_reports

    register_mine(app, open_reports)  # the home page's "我的" block
    register_sweeper(app, sweep)
    from app.sms.replies import register_reply_handler
    from repairs.services import sms_reply

    register_reply_handler(app, sms_reply.REPLY_KINDS, sms_reply.answer)  # "1" acknowledges
    from repairs.services import personal_data

    register_personal_data(app, "repairs", personal_data.export, personal_data.erase)
    register_workspace_links(
        app, Role.RESIDENT, lambda user, a: [Link(_l("Report a repair"), url_for("repairs.report"))]
    )
    register_workspace_links(
        app,
        Role.PROPERTY_MANAGER,
        lambda user, a: [Link(_l("Repair queue"), url_for("repairs.queue"))],
    )
    register_workspace_links(
        app,
        Role.DISTRICT_SUPERVISOR,
        lambda user, a: [
            Link(_l("Property companies' response settings"), url_for("repairs.companies"))
        ],
    )
    for role in (Role.TOWN_SUPERVISOR, Role.DISTRICT_SUPERVISOR):
        register_workspace_links(
            app,
            role,
            lambda user, a: [
                Link(_l("Repair dashboard"), url_for("repairs.supervise")),
                Link(_l("Property company rating"), url_for("repairs.rating")),
            ],
        )
