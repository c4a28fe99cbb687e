from rest_framework import status

from apps.core.errors import ApplicationError


class InsufficientStock(ApplicationError):
    code = "insufficient_stock"
    status_code = status.HTTP_409_CONFLICT
    default_message = "Not enough stock available."


class StockRuleViolation(ApplicationError):
    code = "stock_rule_violation"
    status_code = status.HTTP_409_CONFLICT
    default_message = "This change would break a stock rule (negative or over-reserved stock)."


class InvalidStockRequest(ApplicationError):
    code = "validation_error"
    status_code = status.HTTP_400_BAD_REQUEST
    default_message = "Invalid stock request."


class ReservationClosed(ApplicationError):
    code = "reservation_closed"
    status_code = status.HTTP_409_CONFLICT
    default_message = "This reservation was already released, committed or expired."
