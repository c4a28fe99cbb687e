"""The catalog's error codes (the one error shape: apps.core.errors)."""

from rest_framework import status

from apps.core.errors import ApplicationError


class ImageInvalid(ApplicationError):
    """An upload that is not an acceptable image; `details.image` says why for humans and
    `details.reason` for programs: too_large, type, too_many_pixels, unreadable."""

    code = "image_invalid"
    status_code = status.HTTP_400_BAD_REQUEST
    default_message = "The file is not an acceptable image."


class GalleryFull(ApplicationError):
    code = "gallery_full"
    status_code = status.HTTP_409_CONFLICT
    default_message = "This variant's gallery is full."
