from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from warehouse.api.docs import SchemaView, swagger_ui

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/billing/", include("billing.api.urls")),
    path("api/v1/", include("warehouse.api.urls")),
    path("api/schema/", SchemaView.as_view(), name="api-schema"),
    path("api/docs/", swagger_ui, name="api-docs"),
    path("integrations/", include("integrations.urls")),
    path("billing/", include("billing.urls")),
    path("", include("warehouse.urls")),
]

# Under /api/ every error is JSON, including unknown URLs and crashes; pages keep their templates.
handler400 = "warehouse.api.errors.handler400"
handler403 = "warehouse.api.errors.handler403"
handler404 = "warehouse.api.errors.handler404"
handler500 = "warehouse.api.errors.handler500"
