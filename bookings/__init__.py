"""The capacity engine every service books through (see ARCHITECTURE.md and services.py)."""


def init_app(app) -> None:
    from bookings import cli, models  # noqa: F401  (tables known to Alembic)

    cli.init_app(app)
