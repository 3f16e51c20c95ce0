"""Command-line tools: `flask --app wsgi create-user | create-token | revoke-token | seed-demo |
sweep | import` (and Flask-Migrate's `db upgrade`). Commands call services, which open their
own units of work."""

from __future__ import annotations

import click
from flask import current_app

from app.accounts import services
from app.accounts.models import Role, TokenScope
from app.errors import DomainError
from app.extensions import db


def init_app(app) -> None:
    app.cli.add_command(create_user)
    app.cli.add_command(create_token)
    app.cli.add_command(revoke_token)
    app.cli.add_command(seed_demo)
    app.cli.add_command(sweep)
    app.cli.add_command(import_group)


def _fail(error: DomainError):
    """A service's refusal as the command's error; its unit of work has already rolled back."""
    raise click.ClickException(str(error))


@click.command("create-user")
@click.argument("username")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice([r.value for r in Role]),
    help="Repeat for several roles.",
)
@click.option("--password", required=True, help="At least 8 characters.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    metavar="KIND:ID",
    help="The object a scoped role is held for, e.g. estate:3, company:1, town:1, venue:2.",
)
@click.option("--name", default=None, help="Display name (defaults to the username).")
@click.option("--phone", default=None, help="Mobile number, if the person signs in with it.")
def create_user(username, roles, password, scopes, name, phone):
    """Create a user with ROLE(s); scoped roles take the --scope of their kind."""
    pairs = []
    for role in map(Role, roles):
        matching = [s for s in scopes if s.split(":", 1)[0] in role.scope_kinds]
        pairs.extend((role, s) for s in matching) if matching else pairs.append((role, None))
    try:
        user = services.create_user(
            db.session, username=username, password=password, name=name, phone=phone, roles=pairs
        )
    except DomainError as error:
        _fail(error)
    click.echo(
        f"created user {user.id} {username}: "
        + ", ".join(
            f"{a.role.value}{':' + a.scope_kind + ':' + str(a.scope_id) if a.scope_kind else ''}"
            for a in user.roles
        )
    )


@click.command("create-token")
@click.argument("username")
@click.option("--name", default="cli", help="A label for the token.")
@click.option(
    "--scope",
    type=click.Choice([TokenScope.PERSONAL.value, TokenScope.OPEN311.value]),
    default=TokenScope.PERSONAL.value,
    help="personal (the JSON API as USERNAME) or open311 (an Open311 api_key, nothing else). "
    "Gate tokens are made on the car park's operator page.",
)
@click.option("--days", type=click.IntRange(1, 3660), default=None, help="Days until it expires.")
def create_token(username, name, scope, days):
    """Print a new API token for USERNAME (or mobile number). Shown only once."""
    try:
        user = services.get_user(db.session, username)
        token = services.issue_token(db.session, user, name, scope=TokenScope(scope), days=days)
    except DomainError as error:
        _fail(error)
    click.echo(token)


@click.command("revoke-token")
@click.argument("username")
@click.option("--name", default=None, help="Revoke the tokens with this name.")
@click.option("--all", "revoke_all", is_flag=True, help="Revoke every token of USERNAME.")
def revoke_token(username, name, revoke_all):
    """Revoke USERNAME's API tokens (personal, gate and Open311): those called --name, or
    --all. Prints each token revoked."""
    from app.accounts import tokens

    if (name is None) == (not revoke_all):
        raise click.UsageError("give either --name NAME or --all")
    try:
        user = services.get_user(db.session, username)
        revoked = tokens.revoke_named(db.session, user, name)
    except DomainError as error:
        _fail(error)
    for row in revoked:
        where = f" car park {row.scope_id}" if row.scope_id is not None else ""
        click.echo(
            f"revoked token {row.id} {row.name!r} ({row.scope.value}{where}, made "
            f"{row.created_at:%Y-%m-%d}, last used "
            f"{row.last_used_at.strftime('%Y-%m-%d %H:%M') if row.last_used_at else 'never'})"
        )
    if not revoked:
        click.echo(f"{username} had no tokens to revoke")


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Only when the database has no users yet.")
def seed_demo(if_empty):
    """Add the demo data (towns, estates, accounts of every role, and each service's own).
    Safe to run again: existing rows are kept."""
    from sqlalchemy import select

    from app.accounts.models import User
    from app.demo import seed_all
    from app.registry import registry

    if if_empty and db.session.scalar(select(User.id).limit(1)) is not None:
        click.echo("database already has data; demo data not loaded")
        return
    seed_all(db.session, registry(current_app).seeders)
    click.echo("demo data ready")


@click.command("sweep")
def sweep():
    """Run every service's periodic work once (cron: every minute). Safe on several nodes."""
    from app.registry import registry

    for sweeper in registry(current_app).sweepers:
        for name, count in sweeper(db.session).items():
            click.echo(f"{name}: {count}")


@click.command("import")
@click.argument("kind")
@click.argument("file", type=click.File("rb"))
@click.option(
    "--dry-run", is_flag=True, help="Check every row and say what would change; write nothing."
)
@click.option(
    "--actor",
    default="",
    help="The administrator (username or mobile number) the import acts as: named in the audit "
    "log; needed for staff.",
)
def import_group(kind, file, dry_run, actor):
    """Load a district's own data from a CSV or XLSX file: KIND is towns, estates, households,
    companies, carparks, venues or staff (the README lists each kind's columns). Prints one
    line per row and exits non-zero when any row has an error (then nothing is written)."""
    from app.imports.kinds import kind_of, kinds
    from app.imports.services import run_import, settings_from

    chosen = kind_of(kind)
    if chosen is None:
        names = ", ".join(k.key for k in kinds())
        raise click.BadParameter(f"no kind called {kind!r}; the kinds are: {names}")
    acting = None
    if actor:
        from sqlalchemy import or_, select

        from app.accounts.models import User

        acting = db.session.scalar(
            select(User).where(or_(User.username == actor, User.phone == actor))
        )
        if acting is None or not acting.has_role(Role.ADMINISTRATOR):
            raise click.BadParameter(f"{actor!r} is not an administrator's account")
    result = run_import(
        db.session,
        acting,
        chosen,
        file.read(),
        filename=getattr(file, "name", "") or "",
        dry_run=dry_run,
        settings=settings_from(current_app.config),
    )
    for outcome in result.outcomes:
        click.echo(str(outcome))
    counts = {name: n for name, n in result.counts.items() if n}
    summary = _import_summary(counts, done=result.ok and not dry_run)
    if not result.ok:
        raise click.ClickException(f"{summary}; nothing was written")
    if dry_run:
        click.echo(f"{summary}; dry run, nothing was written")
    else:
        click.echo(
            f"{summary}; " + ("saved" if counts.keys() - {"unchanged"} else "nothing to change")
        )


def _import_summary(counts: dict[str, int], *, done: bool) -> str:
    """ "2 errors, 3 to create" before saving; "3 created, 5 unchanged" once saved."""
    words = {
        "error": ("error", "errors"),
        "create": ("created",) * 2 if done else ("to create",) * 2,
        "update": ("updated",) * 2 if done else ("to update",) * 2,
        "unchanged": ("unchanged",) * 2,
    }
    parts = []
    order = list(words)  # errors first, as on the results page
    for name, n in sorted(counts.items(), key=lambda item: order.index(item[0])):
        one, many = words[name]
        parts.append(f"{n} {one if n == 1 else many}")
    return ", ".join(parts) or "no rows"
