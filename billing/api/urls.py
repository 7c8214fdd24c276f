from django.urls import path

from . import views

urlpatterns = [
    path("statements/", views.StatementView.as_view(), name="billing-statements"),
]
