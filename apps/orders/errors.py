from rest_framework import status

from apps.core.errors import ApplicationError


class InvalidTransition(ApplicationError):
    code = "invalid_transition"
    status_code = status.HTTP_409_CONFLICT
    default_message = "The order cannot move to that status from its current one."


class WholesaleNotApproved(ApplicationError):
    code = "wholesale_not_approved"
    status_code = status.HTTP_403_FORBIDDEN
    default_message = "Your business account is waiting for approval."


class FulfilmentUnavailable(ApplicationError):
    code = "fulfilment_unavailable"
    status_code = status.HTTP_400_BAD_REQUEST
    default_message = "This fulfilment method is not offered there."


class SplitRefused(ApplicationError):
    code = "split_refused"
    status_code = status.HTTP_409_CONFLICT
    default_message = "No single location can supply the whole order, and the order does not allow a split."
