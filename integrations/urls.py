from django.urls import path

from . import views, webhooks

app_name = "integrations"

urlpatterns = [
    path("", views.integration_list, name="list"),
    path("new/", views.integration_new, name="new"),
    path("alerts/", views.alert_settings, name="alerts"),
    path("<int:integration_id>/", views.integration_detail, name="detail"),
    path("<int:integration_id>/setup/<int:step>/", views.integration_setup, name="setup"),
    path("<int:integration_id>/connect/", views.integration_connect, name="connect"),
    path("<int:integration_id>/import/", views.integration_import_missing, name="import_missing"),
    path("<int:integration_id>/share/", views.setup_link_share, name="share"),
    path("<int:integration_id>/live/", views.integration_live, name="live"),
    path("<int:integration_id>/links/<int:link_id>/revoke/", views.setup_link_revoke, name="revoke_link"),
    path("link/<str:token>/", views.setup_link_page, name="setup_link"),
    path("<int:integration_id>/<slug:action>/", views.integration_action, name="action"),
    path("confirmations/<int:confirmation_id>/resend/", views.confirmation_resend, name="confirmation_resend"),
    path("<slug:marketplace>/callback/", views.oauth_callback, name="callback"),
    path("etsy/webhooks/<str:shop_id>/", webhooks.etsy_webhook, name="etsy_webhook"),
]
