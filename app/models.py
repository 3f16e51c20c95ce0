"""Every frame table, imported in one place so Alembic's autogenerate sees them all.
Service packages import their own models from their `init_app`."""

from app.accounts.models import ApiToken, HelperConsent, Role, RoleAssignment, User  # noqa: F401
from app.audit.models import AuditEntry  # noqa: F401
from app.desk.models import SigninCard  # noqa: F401
from app.identity.models import ExternalIdentity, RealName, SignInRequest  # noqa: F401
from app.imports.models import ImportJob  # noqa: F401
from app.notifications.models import Notification  # noqa: F401
from app.notifications.outbox import SystemMessage  # noqa: F401  (opendata: city push)
from app.places.models import (  # noqa: F401
    District,
    Estate,
    HomeClaim,
    Household,
    HouseholdContact,
    Town,
)
from app.scopes import register_scope

register_scope(District)
register_scope(Town)
register_scope(Estate)
