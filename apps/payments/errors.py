from rest_framework import status

from apps.core.errors import ApplicationError


class PaymentNotPossible(ApplicationError):
    code = "payment_not_possible"
    status_code = status.HTTP_409_CONFLICT
    default_message = "This order cannot be paid now."


class PaymentProviderError(ApplicationError):
    code = "payment_provider_error"
    status_code = status.HTTP_502_BAD_GATEWAY
    default_message = "The payment provider did not answer as expected. Try again."


class InvalidWebhook(ApplicationError):
    code = "invalid_webhook_signature"
    status_code = status.HTTP_400_BAD_REQUEST
    default_message = "The webhook signature is not valid."


class RefundNotPossible(ApplicationError):
    code = "refund_not_possible"
    status_code = status.HTTP_409_CONFLICT
    default_message = "This refund cannot be made."


class InvoicePaymentNotPossible(ApplicationError):
    code = "invoice_payment_not_possible"
    status_code = status.HTTP_409_CONFLICT
    default_message = "A payment cannot be recorded against this invoice."


class Overpayment(ApplicationError):
    code = "overpayment"
    status_code = status.HTTP_409_CONFLICT
    default_message = "The payment is more than the invoice still owes."
