"""Which objects a role can be scoped to. Packages register their scopable models here, so the
frame can resolve "venue:3" without knowing about venues."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.errors import DomainError, NotFound
from app.urls import MAX_INT

_SCOPE_MODELS: dict[str, type] = {}


def register_scope(model: type) -> type:
    """Make `model` (which has `scope_kind` and `scope_chain`) usable as a role scope."""
    _SCOPE_MODELS[model.scope_kind] = model
    return model


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
