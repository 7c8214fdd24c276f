"""The OpenAPI schema and Swagger UI: open in development; in production the schema needs a login or an
API key and the docs page a login (API_DOCS_PUBLIC)."""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny, IsAuthenticated


class SchemaView(SpectacularAPIView):
    def get_permissions(self):
        return [AllowAny()] if settings.API_DOCS_PUBLIC else [IsAuthenticated()]


# The split view serves Swagger UI's start-up script as a file of its own: no inline script for the CSP.
_swagger = SpectacularSwaggerSplitView.as_view(url_name="api-schema")


def swagger_ui(request, *args, **kwargs):
    if not settings.API_DOCS_PUBLIC and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    return _swagger(request, *args, **kwargs)
