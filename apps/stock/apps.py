from django.apps import AppConfig


class StockConfig(AppConfig):
    name = "apps.stock"
    label = "stock"
    verbose_name = "Stock"

    def ready(self) -> None:
        from apps.stock import notifications  # noqa: F401  (restock alerts: the on-commit kick)
