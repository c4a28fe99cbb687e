from typing import Any

from django.conf import settings
from rest_framework.pagination import PageNumberPagination


class DefaultPagination(PageNumberPagination):
    """`?page=N&page_size=M` with a ceiling on the page size (MAX_PAGE_SIZE). A page past the end
    (or not a page number) answers 404 `not_found`, as DRF does; the schema documents both."""

    page_size_query_param = "page_size"
    max_page_size = settings.MAX_PAGE_SIZE

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            self.page_query_param: {"type": "integer", "minimum": 1},
            self.page_size_query_param: {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
        }
        for parameter in parameters:
            if parameter["name"] in bounds:
                parameter["schema"] = bounds[parameter["name"]]
        return parameters
