from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Marketplace integrations"

    def ready(self) -> None:
        from warehouse.events import outbound_order_dispatched
        from warehouse.hooks import register_order_describer

        from .receivers import on_order_dispatched
        from .services.order_status import order_marketplace_status

        # The warehouse publishes after commit; we only queue the confirmation task here.
        outbound_order_dispatched.connect(on_order_dispatched, dispatch_uid="integrations.confirm_on_dispatch")

        from warehouse import order_filters

        from .selectors import order_filter_by_integration

        order_filters.register(order_filter_by_integration())
        # The order page and the dispatch answers show each package's marketplace confirmation.
        register_order_describer(order_marketplace_status)

        from warehouse import dashboard

        from .selectors import dashboard_panel

        dashboard.register(dashboard_panel())
