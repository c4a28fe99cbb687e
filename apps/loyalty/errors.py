from rest_framework import status

from apps.core.errors import ApplicationError


class NoLoyaltyAccount(ApplicationError):
    code = "no_loyalty_account"
    status_code = status.HTTP_404_NOT_FOUND
    default_message = "This customer has no loyalty account (guests get one when they register)."


class InsufficientPoints(ApplicationError):
    code = "insufficient_points"
    status_code = status.HTTP_409_CONFLICT
    default_message = "Not enough points in the balance."


class RedemptionNotPossible(ApplicationError):
    code = "redemption_not_possible"
    status_code = status.HTTP_400_BAD_REQUEST
    default_message = "Points cannot be spent on this order."


class InvalidAdjustment(ApplicationError):
    code = "invalid_adjustment"
    status_code = status.HTTP_400_BAD_REQUEST
    default_message = "The adjustment is not valid."
