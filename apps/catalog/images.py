"""Variant gallery images: checked by content, safe against decompression bombs, re-encoded.

An upload is accepted when it is JPEG, PNG or WebP by content (not by name), at most 5 MB and at
most 6000 px a side (the catalog's rules, apps.catalog.validators). The header's size is checked
before any pixel is decoded and Pillow's decompression-bomb limit is an error here, not a warning.
Then the picture is decoded, turned upright by its EXIF orientation, converted to sRGB when it
carries a colour profile, and written anew as WebP (alpha kept) in these renditions:

* `original`: the sanitised master, at most 2400 px a side (what later renditions are made from);
* `full` 1200 px, `card` 480 px, `thumb` 160 px (the longest side; never enlarged).

Nothing of the upload is kept: no EXIF (camera, GPS), no XMP, no ICC profile, no comments, no
trailing bytes. Every file is named by the SHA-256 of its own bytes under the tenant's folder
(`variant-images/<schema>/<2 hex>/<64 hex>.webp`), so a name always means the same bytes and the
files can be served as immutable (apps.catalog.media).
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage
from django.db import connection

from apps.catalog.errors import ImageInvalid
from apps.catalog.validators import ALLOWED_IMAGE_FORMATS, MAX_IMAGE_BYTES

MAX_SIDE = 6000  # pixels, on the upload's longest side
MAX_PIXELS = MAX_SIDE * MAX_SIDE
# Longest side of each stored rendition, largest first (each is made from the one before).
RENDITIONS: dict[str, int] = {"original": 2400, "full": 1200, "card": 480, "thumb": 160}
WEBP_QUALITY = {"original": 90, "full": 82, "card": 80, "thumb": 78}
# libwebp effort (0 fast .. 6 slow): measured here on a 2400 px master, method 2 took 123 ms for
# 105 KB against 329 ms for 107 KB with method 4; the small renditions cost little either way.
WEBP_METHOD = {"original": 2, "full": 2, "card": 4, "thumb": 4}
FOLDER = "variant-images"
CONTENT_TYPE = "image/webp"
# What the served files' names look like: <schema>/<2 hex>/<64 hex>.webp
FILE_NAME = re.compile(r"^(?P<shard>[0-9a-f]{2})/(?P<digest>[0-9a-f]{64})\.webp$")


@dataclass(frozen=True)
class Rendition:
    data: bytes
    width: int
    height: int

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class PreparedImage:
    """A checked, re-encoded upload: one Rendition per RENDITIONS key."""

    renditions: dict[str, Rendition]

    @property
    def width(self) -> int:
        return self.renditions["original"].width

    @property
    def height(self) -> int:
        return self.renditions["original"].height


def _refuse(message: str, reason: str) -> ImageInvalid:
    return ImageInvalid(message, details={"image": [message], "reason": reason})


def _to_srgb(image):  # noqa: ANN001, ANN202 - PIL images
    """The picture in sRGB without its embedded profile (a broken profile is ignored)."""
    from PIL import ImageCms

    icc = image.info.get("icc_profile")
    if not icc or image.mode not in {"RGB", "RGBA", "CMYK"}:
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        srgb = ImageCms.createProfile("sRGB")
        if image.mode == "RGBA":
            alpha = image.getchannel("A")
            rgb = ImageCms.profileToProfile(image.convert("RGB"), source, srgb, outputMode="RGB")
            rgb.putalpha(alpha)
            return rgb
        return ImageCms.profileToProfile(image, source, srgb, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image


def _normalised(image):  # noqa: ANN001, ANN202 - PIL images
    """RGB, or RGBA when the picture has transparency."""
    if image.mode in {"RGB", "RGBA"}:
        return image
    if image.mode in {"I;16", "I;16B", "I;16L", "I"}:  # 16-bit greyscale PNG
        return image.point(lambda value: value / 256).convert("L").convert("RGB")
    has_alpha = image.mode in {"LA", "PA", "La"} or (image.mode == "P" and "transparency" in image.info)
    if has_alpha:
        return image.convert("RGBA")
    return image.convert("RGB")


def prepare_bytes(data: bytes) -> PreparedImage:
    """Check and re-encode image bytes; ImageInvalid (400 `image_invalid`, `details.reason`) when
    they are not an acceptable image."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    too_large = f"Images may be at most {MAX_IMAGE_BYTES // (1024 * 1024)} MB."
    if len(data) > MAX_IMAGE_BYTES:
        raise _refuse(too_large, "too_large")
    if not data:
        raise _refuse("The file is empty.", "unreadable")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as probe:  # reads the header only
                kind, (width, height) = probe.format, probe.size
                if kind not in ALLOWED_IMAGE_FORMATS:
                    raise _refuse("Images must be JPEG, PNG or WebP.", "type")
                if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
                    raise _refuse(f"Images may be at most {MAX_SIDE} pixels on a side.", "too_many_pixels")
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                if image.format == "JPEG":
                    # Decode at the smallest DCT scale still covering the master: much less work.
                    image.draft("RGB", (RENDITIONS["original"], RENDITIONS["original"]))
                image.load()
                picture = _normalised(_to_srgb(ImageOps.exif_transpose(image)))
                picture = picture.copy() if picture is image else picture
                picture.info = {}  # no EXIF, XMP, ICC profile or comment can ride along
                renditions: dict[str, Rendition] = {}
                for name, side in RENDITIONS.items():
                    picture.thumbnail((side, side), Image.Resampling.LANCZOS, reducing_gap=3.0)
                    out = io.BytesIO()
                    # No exif=, xmp= or icc_profile= argument: the file carries no metadata.
                    picture.save(out, format="WEBP", quality=WEBP_QUALITY[name], method=WEBP_METHOD[name])
                    renditions[name] = Rendition(out.getvalue(), picture.width, picture.height)
        except ImageInvalid:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise _refuse(f"Images may be at most {MAX_SIDE} pixels on a side.", "too_many_pixels") from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
            raise _refuse("The file is not a readable image.", "unreadable") from exc
    return PreparedImage(renditions)


def prepare_upload(upload) -> PreparedImage:  # noqa: ANN001 - an UploadedFile or any file object
    """Check and re-encode an uploaded file (read at most 5 MB + 1 byte of it)."""
    size = getattr(upload, "size", None)
    if size is not None and size > MAX_IMAGE_BYTES:
        raise _refuse(f"Images may be at most {MAX_IMAGE_BYTES // (1024 * 1024)} MB.", "too_large")
    if hasattr(upload, "seek"):
        upload.seek(0)
    return prepare_bytes(upload.read(MAX_IMAGE_BYTES + 1))


def storage_name(rendition: Rendition, schema: str | None = None) -> str:
    digest = rendition.digest
    return f"{FOLDER}/{schema or connection.schema_name}/{digest[:2]}/{digest}.webp"


def store(prepared: PreparedImage, *, schema: str | None = None, storage: Storage | None = None) -> dict[str, str]:
    """Write the renditions under the tenant's folder (a file already there has these very bytes:
    kept) and answer their storage names by rendition."""
    storage = storage or default_storage
    names: dict[str, str] = {}
    for key, rendition in prepared.renditions.items():
        name = storage_name(rendition, schema)
        if not storage.exists(name):
            name = storage.save(name, ContentFile(rendition.data))
        names[key] = name
    return names
