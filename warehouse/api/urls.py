from rest_framework.routers import DefaultRouter

from . import views

# No format suffixes (`/1.json`): the API speaks JSON only, and a suffix only reached views that take no
# `format` argument.
class _Router(DefaultRouter):
    include_format_suffixes = False


router = _Router()
router.register("customers", views.CustomerViewSet, basename="customer")
router.register("warehouses", views.WarehouseViewSet, basename="warehouse")
router.register("products", views.ProductViewSet, basename="product")
router.register("stock-levels", views.StockLevelViewSet, basename="stock-level")
router.register("outbound-orders", views.OutboundOrderViewSet, basename="outbound-order")
router.register("consignments", views.ConsignmentViewSet, basename="consignment")

urlpatterns = router.urls
