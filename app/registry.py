"""What service packages plug into the frame: their entry on the home page, the links each role
sees in its workspace, and their demo data. Kept per app in `app.extensions`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app

from app.extensions import db
from app.scopes import _SCOPE_MODELS


@dataclass(frozen=True)
class Service:
    key: str
    title: object  # lazy string
    summary: object
    endpoint: str
    icon: str  # file name under static/icons


@dataclass(frozen=True)
class Link:
    label: object
    url: str


@dataclass(frozen=True)
class PersonalData:
    """What a service package holds about a person, for "my data" and account deletion (注销,
    app/accounts/mydata.py). `export(session, user) -> dict` gives everything the package holds
    about `user`, JSON-ready. `erase(session, user) -> dict` runs inside the deletion's unit of
    work: it cancels the person's future bookings through the package's own services (places
    released, waitlists offered), ends their contracts, removes their personal data, and keeps
    only anonymised records statistics or the law need; it answers what it did, in counts."""

    key: str
    export: Callable
    erase: Callable


@dataclass
class Registry:
    services: list[Service] = field(default_factory=list)
    # role -> functions (user, assignment) -> [Link]
    workspace_links: dict = field(default_factory=dict)
    seeders: list[Callable] = field(default_factory=list)
    sweepers: list[Callable] = field(default_factory=list)
    banners: list[Callable] = field(default_factory=list)
    named_places: list[type] = field(default_factory=list)
    personal_data: list[PersonalData] = field(default_factory=list)
    mine: list[Callable] = field(default_factory=list)


def registry(app=None) -> Registry:
    app = app or current_app
    return app.extensions.setdefault("portal_registry", Registry())


def register_service(app, service: Service) -> None:
    registry(app).services.append(service)


def register_workspace_links(app, role, links: Callable) -> None:
    registry(app).workspace_links.setdefault(role, []).append(links)


def register_seeder(app, seeder: Callable) -> None:
    """`seeder(session)` adds a package's demo data; it must be idempotent."""
    registry(app).seeders.append(seeder)


def register_sweeper(app, sweeper: Callable) -> None:
    """`sweeper(session) -> dict of counts`, run by `flask sweep`; idempotent and safe to run on
    several nodes at once."""
    registry(app).sweepers.append(sweeper)


def register_banner(app, banner: Callable) -> None:
    """`banner() -> Banner | None`, shown at the top of every page when it returns one."""
    registry(app).banners.append(banner)


def register_named_places(app, model: type) -> None:
    """`model` (with name_zh, name_en, latitude and longitude) holds places other services may
    find by name, such as parking's "near a place" search finding a venue."""
    registry(app).named_places.append(model)


def register_personal_data(app, key: str, export: Callable, erase: Callable) -> None:
    """A package's part of "my data" and of account deletion (see `PersonalData`)."""
    registry(app).personal_data.append(PersonalData(key, export, erase))


@dataclass(frozen=True)
class MineItem:
    """One line of the home page's "我的" block: what a service holds for the signed-in person
    now, one tap from the page that shows it. `count` is how many things wait (0: nothing);
    `text` says it in the reader's language ("2 open", "No bookings", a booking's place),
    after `when` (the next one's start) or `amount_fen` (money to pay) when given. `order`
    places the line (lower first)."""

    key: str
    label: object
    url: str
    count: int = 0
    when: object = None  # an aware datetime
    text: object = ""
    amount_fen: int | None = None
    order: int = 50


def register_mine(app, item: Callable) -> None:
    """`item(session, user) -> MineItem | None`, a line of the home page's "我的" block. The
    home page is a hot path: read only, in a statement or two."""
    registry(app).mine.append(item)


def mine_items(session, user) -> list[MineItem]:
    """Every service's "我的" line for `user`, in order."""
    items = [i for i in (fn(session, user) for fn in registry().mine) if i is not None]
    return sorted(items, key=lambda i: i.order)


def personal_data(app=None) -> list[PersonalData]:
    return registry(app).personal_data


def named_places() -> list[type]:
    return registry().named_places


@dataclass(frozen=True)
class Banner:
    message: str
    action_label: object
    action_url: str


def page_banners() -> list[Banner]:
    return [b for b in (fn() for fn in registry().banners) if b is not None]


def services() -> list[Service]:
    return registry().services


def scope_name(kind: str | None, scope_id: int | None) -> str | None:
    if kind is None:
        return None
    model = _SCOPE_MODELS.get(kind)
    obj = db.session.get(model, scope_id) if model is not None else None
    return getattr(obj, "name", None) or f"{kind} #{scope_id}"


def role_workspaces(user) -> list[dict]:
    """For each role the user holds: its label, the object it is for, and the tasks it has."""
    reg = registry()
    workspaces = []
    for assignment in sorted(
        user.roles, key=lambda a: (list(type(a.role)).index(a.role), a.scope_id or 0)
    ):
        links = [
            link
            for fn in reg.workspace_links.get(assignment.role, [])
            for link in fn(user, assignment)
        ]
        workspaces.append(
            {
                "role": assignment.role,
                "label": assignment.role.label,
                "scope": scope_name(assignment.scope_kind, assignment.scope_id),
                "links": links,
            }
        )
    return workspaces
