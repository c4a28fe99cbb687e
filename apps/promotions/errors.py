from rest_framework import status

from apps.core.errors import ApplicationError


class CouponNotValid(ApplicationError):
    """A wrong, unknown or foreign code: the answer never says which (codes are not enumerable)."""

    code = "coupon_not_valid"
    status_code = status.HTTP_400_BAD_REQUEST
    default_message = "This code is not valid."


class CouponUsedUp(ApplicationError):
    code = "coupon_used_up"
    status_code = status.HTTP_409_CONFLICT
    default_message = "This code has just been used up; place the order without it or use another code."


class CouponAttemptsExceeded(ApplicationError):
    code = "coupon_attempts_exceeded"
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_message = "Too many codes tried; wait a moment and try again."


class CouponNotApplicable(ApplicationError):
    """A valid code that cannot apply to this cart; `details.reason` says why (minimum spend, ...)."""

    code = "coupon_not_applicable"
    status_code = status.HTTP_400_BAD_REQUEST
    default_message = "This code does not apply to this order."
