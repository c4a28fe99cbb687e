from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed

from apps.core.errors import ApplicationError


class TokenRejected(AuthenticationFailed):
    """401 with a precise, stable code (the exception handler reads `stable_code`)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.stable_code = code


class InvalidCredentials(ApplicationError):
    code = "invalid_credentials"
    status_code = status.HTTP_401_UNAUTHORIZED
    default_message = "The e-mail address or password is wrong."


class AccountLocked(ApplicationError):
    code = "account_locked"
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_message = "Too many failed sign-ins. Try again later."


class EmailTaken(ApplicationError):
    code = "email_taken"
    status_code = status.HTTP_409_CONFLICT
    default_message = "An account with this e-mail address already exists."


class CreditLimitExceeded(ApplicationError):
    """An order on account would take the business's open balance above its credit limit."""

    code = "credit_limit_exceeded"
    status_code = status.HTTP_409_CONFLICT
    default_message = "This order would take the account over its credit limit."
