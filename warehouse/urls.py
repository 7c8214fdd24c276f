from django.urls import path

from . import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("customers/", views.customer_list, name="customer_list"),
    path("orders/", views.order_list, name="order_list"),
    path("orders/<int:order_id>/", views.order_detail, name="order_detail"),
    path("orders/<int:order_id>/dispatch/", views.order_dispatch, name="order_dispatch"),
    path("orders/<int:order_id>/tracking/", views.order_add_tracking, name="order_add_tracking"),
    path("orders/<int:order_id>/<slug:action>/", views.order_action, name="order_action"),
    path("consignments/", views.consignment_list, name="consignment_list"),
]
