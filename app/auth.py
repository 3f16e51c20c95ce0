"""Authorization: the one way views check roles, and objects, before acting.

`require_role` guards a whole view; `authorize` checks a role on a loaded object inside it (read
arguments, check access, process). Visitors are sent to sign in; signed-in people without the
role get 403. Someone else's private object answers 404 from the service that loads it.
"""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from app.accounts.models import Role


def has_any_role(user, roles, obj=None) -> bool:
    return user.is_authenticated and any(user.has_role(role, obj) for role in roles)


def authorize(user, *roles: Role, obj=None) -> None:
    """Abort with 403 unless `user` holds one of `roles` (for `obj`, when given)."""
    if not has_any_role(user, roles, obj):
        abort(403)


def require_role(*roles: Role):
    """View decorator: the signed-in user must hold one of `roles` (for any object)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            authorize(current_user, *roles)
            return view(*args, **kwargs)

        return wrapped

    return decorator
