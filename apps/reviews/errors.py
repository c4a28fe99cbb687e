from rest_framework import status

from apps.core.errors import ApplicationError


class NotABuyer(ApplicationError):
    code = "review_not_allowed"
    status_code = status.HTTP_403_FORBIDDEN
    default_message = "Only customers who bought this product (or picked up there) can review it."


class ReviewExists(ApplicationError):
    code = "review_exists"
    status_code = status.HTTP_409_CONFLICT
    default_message = "You have already reviewed this; edit your review instead."


class ReviewNotEditable(ApplicationError):
    code = "review_not_editable"
    status_code = status.HTTP_409_CONFLICT
    default_message = "This review can no longer be changed."


class AlreadyReported(ApplicationError):
    code = "review_already_reported"
    status_code = status.HTTP_409_CONFLICT
    default_message = "You have already reported this review."


class OwnReview(ApplicationError):
    code = "review_own"
    status_code = status.HTTP_400_BAD_REQUEST
    default_message = "You cannot do this with your own review."


class PhotoInvalid(ApplicationError):
    code = "photo_invalid"
    status_code = status.HTTP_400_BAD_REQUEST
    default_message = "The photo is not acceptable."


class TooManyPhotos(ApplicationError):
    code = "photo_limit"
    status_code = status.HTTP_409_CONFLICT
    default_message = "A review has at most 5 photos."
