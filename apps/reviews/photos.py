"""Review photos: checked by content, safe against decompression bombs, re-encoded without metadata.

Same limits as catalog images (apps.catalog.validators: JPEG, PNG or WebP by content, 5 MB) and
stricter on pixels: the header's size is checked before any pixel is decoded (Pillow's own
decompression-bomb limit is an error here, not a warning), then the image is verified, decoded,
turned upright by its EXIF orientation, shrunk to at most MAX_SIDE pixels a side and saved as a
new JPEG. Nothing of the upload is kept: no EXIF (camera, GPS), no ICC profile, no comments, no
trailing bytes.
"""

from __future__ import annotations

import io
import warnings

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile

from apps.catalog.validators import ALLOWED_IMAGE_FORMATS, MAX_IMAGE_BYTES
from apps.reviews.errors import PhotoInvalid

MAX_PIXELS = 40_000_000  # e.g. 8000 x 5000; far below Pillow's 89 M default
MAX_SIDE = 1600
JPEG_QUALITY = 85


def photo_prepare(upload: UploadedFile) -> ContentFile:
    """The upload as a clean JPEG, or PhotoInvalid with the reason in `details.image`."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    def refuse(message: str, reason: str) -> PhotoInvalid:
        return PhotoInvalid(message, details={"image": [message], "reason": reason})

    if upload.size is None or upload.size > MAX_IMAGE_BYTES:
        raise refuse(f"Photos may be at most {MAX_IMAGE_BYTES // (1024 * 1024)} MB.", "too_large")
    data = upload.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise refuse(f"Photos may be at most {MAX_IMAGE_BYTES // (1024 * 1024)} MB.", "too_large")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as probe:  # reads the header only
                kind, (width, height) = probe.format, probe.size
                if kind not in ALLOWED_IMAGE_FORMATS:
                    raise refuse("Photos must be JPEG, PNG or WebP.", "type")
                if width * height > MAX_PIXELS:
                    raise refuse(f"Photos may have at most {MAX_PIXELS:,} pixels.", "too_many_pixels")
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                upright = ImageOps.exif_transpose(image)
                if upright.mode not in {"RGB", "L"}:
                    rgba = upright.convert("RGBA")
                    upright = Image.new("RGB", rgba.size, (255, 255, 255))
                    upright.paste(rgba, mask=rgba.getchannel("A"))
                elif upright.mode == "L":
                    upright = upright.convert("RGB")
                upright.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
                out = io.BytesIO()
                upright.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
        except PhotoInvalid:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise refuse(f"Photos may have at most {MAX_PIXELS:,} pixels.", "too_many_pixels") from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise refuse("The file is not a readable image.", "unreadable") from exc
    return ContentFile(out.getvalue(), name="photo.jpg")
