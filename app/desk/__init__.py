"""社区事务受理服务中心: the service desk. Clerks register residents in person (with a printed
sign-in card for those without a mobile phone), verify real names, and record written consents
for helpers and family members (帮办代办). Every desk action is in the audit log with the resident
as its subject, and listed to the resident."""


def init_app(app) -> None:
    """The desk's pages, the resident's "my data" and account closing, sign-in with a card, and
    their links in the role workspaces (called by app/__init__.py with the frame)."""
    from flask import url_for
    from flask_babel import lazy_gettext as _l

    from app.accounts.models import Role
    from app.accounts.mydata_views import bp as mydata_bp
    from app.desk.views import bp, resident_bp
    from app.ratelimit import limit_endpoints
    from app.registry import Link, register_workspace_links

    for blueprint in (bp, resident_bp, mydata_bp):
        app.register_blueprint(blueprint)
    # Card codes are 8 digits: guesses are limited per address (and per account signed in).
    limit_endpoints(
        app, "CARD_SIGNIN_RATE", "card-signin", ["desk_resident.card_signin"], methods=["POST"]
    )
    register_workspace_links(
        app,
        Role.SERVICE_DESK,
        lambda user, a: [
            Link(_l("Find a resident"), url_for("desk.index")),
            Link(_l("Register a resident in person"), url_for("desk.register")),
        ],
    )
    register_workspace_links(
        app, Role.RESIDENT, lambda user, a: [Link(_l("My data"), url_for("mydata.index"))]
    )
