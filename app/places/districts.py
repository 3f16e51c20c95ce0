"""Districts (区): which towns a district-scoped person sees, and which districts are offered.

An installation may serve several districts (issue 15). A district supervisor or a district
administrator holds their role for a district (app/accounts/models.py ROLE_SCOPES); the lists
they see (repair dashboards, ratings, the audit log, crowd levels) are narrowed to the towns of
that district here, in one query, rather than by asking every row's scope chain.
"""

from __future__ import annotations

from sqlalchemy import and_, or_, select

from app.accounts.models import Role, RoleAssignment, User
from app.places.models import District, Town


def offered(session) -> list[District]:
    """The districts residents may choose between (not archived), by code (the order the city
    numbers them in)."""
    return list(
        session.scalars(
            select(District).where(District.archived_at.is_(None)).order_by(District.code)
        )
    )


def town_ids_of(session, district_ids) -> list[int]:
    """The ids of the towns of the districts named."""
    district_ids = list(district_ids)
    if not district_ids:
        return []
    return list(session.scalars(select(Town.id).where(Town.district_id.in_(district_ids))))


def supervised_town_ids(session, user: User) -> list[int] | None:
    """The towns a supervisor oversees: their towns (town supervisor) and every town of their
    districts (district supervisor). None: the whole installation (an unscoped,
    city-level district supervisor)."""
    if user.holds_everywhere(Role.DISTRICT_SUPERVISOR):
        return None
    towns = set(user.scopes(Role.TOWN_SUPERVISOR))
    towns.update(town_ids_of(session, user.scopes(Role.DISTRICT_SUPERVISOR, "district")))
    return sorted(towns)


def supervisors_of(session, district_id: int) -> set[int]:
    """The accounts that supervise the district: its district supervisors and the city-level
    (unscoped) ones. Who a repair's late escalation goes to."""
    return set(
        session.scalars(
            select(RoleAssignment.user_id).where(
                RoleAssignment.role == Role.DISTRICT_SUPERVISOR,
                or_(
                    RoleAssignment.scope_kind.is_(None),
                    and_(
                        RoleAssignment.scope_kind == "district",
                        RoleAssignment.scope_id == district_id,
                    ),
                ),
            )
        )
    )


def overseen_district_ids(user: User, *roles: Role) -> list[int] | None:
    """The districts whose records (the audit log, lists of places) `user` may read through
    `roles` (by default: district supervisor and administrator); None: every district."""
    return user.district_ids(*(roles or (Role.DISTRICT_SUPERVISOR, Role.ADMINISTRATOR)))


def district_of(obj) -> int | None:
    """The district an object (anything with a scope chain) belongs to, or None."""
    chain = getattr(obj, "scope_chain", None)
    if chain is None:
        return None
    return next((scope_id for kind, scope_id in chain if kind == "district"), None)
