"""Which objects a role can be scoped to. Packages register their scopable models here, so the
frame can resolve "venue:3" without knowing about venues."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from flask_babel import lazy_gettext as _l

from app.errors import DomainError, NotFound
from app.urls import MAX_INT

_SCOPE_MODELS: dict[str, type] = {}
# More scopes that cover an object of a model, which its package cannot name itself: e.g. the
# property company managing an estate today (registered by repairs, which owns that history).
_CHAIN_PARTS: list[tuple[tuple[type, ...], Callable]] = []
_EXPANSIONS: dict[tuple[str, str], Callable] = {}


def register_scope(model: type) -> type:
    """Make `model` (which has `scope_kind` and `scope_chain`) usable as a role scope."""
    _SCOPE_MODELS[model.scope_kind] = model
    return model


def register_chain_part(models: tuple[type, ...], part: Callable) -> None:
    """`part(obj)` answers more (kind, id) scopes covering an `obj` of one of `models`; it is
    asked last (`chain_stages`), only when a role check still needs it. Registering the same
    part again (each app the process creates registers it) changes nothing."""
    if (models, part) not in _CHAIN_PARTS:
        _CHAIN_PARTS.append((models, part))


def register_expansion(kind: str, to_kind: str, expand: Callable) -> None:
    """A role held for a `kind` object also covers objects of `to_kind`: `expand(session, ids)`
    answers the ids of those the `kind` objects `ids` cover today (e.g. the estates a property
    company manages). What `covered_ids` adds to a holder's own scopes."""
    _EXPANSIONS[(kind, to_kind)] = expand


def covered_ids(session, user, role, kind: str) -> list[int]:
    """The ids of the `kind` objects `user` holds `role` for: those they hold it for directly,
    and those their other scopes cover (`register_expansion`). What lists filter by, e.g. a
    property manager's queue and household claims."""
    ids = set(user.scopes(role, kind))
    for (source, target), expand in _EXPANSIONS.items():
        held = user.scopes(role, source)
        if target == kind and held:
            ids.update(expand(session, held))
    return sorted(ids)


def held_objects(session, user, role, kind: str) -> list:
    """The `kind` objects `user` holds `role` for directly (e.g. a manager's companies), by id."""
    model = _SCOPE_MODELS.get(kind)
    ids = user.scopes(role, kind)
    if model is None or not ids:
        return []
    return [obj for obj in (session.get(model, i) for i in sorted(ids)) if obj is not None]


def chain_stages(obj) -> Iterator[list[tuple[str, int]]]:
    """The scopes that cover `obj`, cheapest first: its `local_scope_chain` (from the row's own
    columns, no statement) where it has one, its whole `scope_chain`, then the registered
    parts. User.has_role stops reading as soon as the held scopes are answered."""
    if hasattr(type(obj), "local_scope_chain"):
        yield obj.local_scope_chain
    yield obj.scope_chain
    for models, part in _CHAIN_PARTS:
        if isinstance(obj, models):
            yield part(obj)


def full_chain(obj) -> set[tuple[str, int]]:
    """Every scope that covers `obj` (all the stages)."""
    return {scope for stage in chain_stages(obj) for scope in stage}


def scope_kinds() -> list[str]:
    return sorted(_SCOPE_MODELS)


def resolve_scope(session, scope: str):
    """The object named by "kind:id", or a DomainError saying what is wrong with the name."""
    kind, _, raw_id = (scope or "").partition(":")
    model = _SCOPE_MODELS.get(kind)
    if model is None or not raw_id.isdigit():
        raise DomainError(
            _l("A scope is written kind:id, with kind one of %(kinds)s"),
            code="invalid_scope",
            kinds=", ".join(scope_kinds()),
        )
    # An id past what the column holds names nothing (PostgreSQL refused the lookup:
    # tests/test_fuzz.py).
    obj = session.get(model, int(raw_id)) if int(raw_id) <= MAX_INT else None
    if obj is None:
        raise NotFound(_l("There is no %(kind)s with id %(id)s"), kind=kind, id=raw_id)
    return obj
