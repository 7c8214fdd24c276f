from rest_framework.permissions import BasePermission

from ..selectors import Scope
from .authentication import ApiKeyPrincipal


def scope_for_request(request) -> Scope:
    """A tenant API key sees its whole tenant; a logged-in person sees what their role allows."""
    if isinstance(request.user, ApiKeyPrincipal):
        return Scope(tenant=request.user.tenant)
    return Scope.for_user(request.user)


class HasTenantScope(BasePermission):
    message = "Authentication credentials were not provided or belong to no tenant."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if user is None or not user.is_authenticated:
            return False
        if isinstance(user, ApiKeyPrincipal):
            return True
        return getattr(user, "tenant_id", None) is not None
