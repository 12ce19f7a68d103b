"""The admin API: ``AdminService`` (the actions) and ``AdminApi`` (their HTTP front)."""

from .api import ROUTES, AdminApi
from .service import AdminService
from .views import parse_payload, partner_view, session_view

__all__ = ["ROUTES", "AdminApi", "AdminService", "parse_payload", "partner_view",
           "session_view"]
