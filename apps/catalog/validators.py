from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

MAX_IMAGE_BYTES = 5 * 1024 * 1024
ALLOWED_IMAGE_FORMATS = {"JPEG", "PNG", "WEBP"}


def validate_image(file: UploadedFile) -> None:
    """Images: JPEG, PNG or WebP by content (not by name), at most 5 MB and 6000 px a side."""
    from PIL import Image, UnidentifiedImageError

    if file.size and file.size > MAX_IMAGE_BYTES:
        raise ValidationError("Images may be at most 5 MB.", code="image_too_large")
    position = file.tell() if hasattr(file, "tell") else 0
    try:
        with Image.open(file) as image:
            kind, (width, height) = image.format, image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValidationError("The file is not a readable image.", code="image_invalid") from exc
    finally:
        if hasattr(file, "seek"):
            file.seek(position)
    if kind not in ALLOWED_IMAGE_FORMATS:
        raise ValidationError("Images must be JPEG, PNG or WebP.", code="image_type")
    if max(width, height) > 6000:
        raise ValidationError("Images may be at most 6000 pixels on a side.", code="image_dimensions")
