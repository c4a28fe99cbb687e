from rest_framework import status

from apps.core.errors import ApplicationError


class WebhookTargetRefused(ApplicationError):
    code = "webhook_target_refused"
    status_code = status.HTTP_400_BAD_REQUEST
    default_message = "This address cannot receive webhooks."


class EndpointDisabled(ApplicationError):
    code = "webhook_endpoint_disabled"
    status_code = status.HTTP_409_CONFLICT
    default_message = "The endpoint is disabled; enable it first."


class SyncRejected(ApplicationError):
    code = "validation_error"
    status_code = status.HTTP_400_BAD_REQUEST
    default_message = "Some lines are not valid; nothing was applied."


class StreamRefused(ApplicationError):
    code = "not_found"
    status_code = status.HTTP_404_NOT_FOUND
    default_message = "No such stream."
