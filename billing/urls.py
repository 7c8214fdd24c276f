from django.urls import path

from . import views

app_name = "billing"

urlpatterns = [
    path("", views.statement_page, name="statement"),
    path("statement.csv", views.statement_csv, name="statement_csv"),
]
