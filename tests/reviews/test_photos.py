"""Review photos: wrong type, too big, decompression bombs refused; accepted ones re-encoded as JPEG,
shrunk, upright and without EXIF; at most five per review."""

import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context
from PIL import Image

from apps.reviews import photos, services
from apps.reviews.errors import PhotoInvalid, TooManyPhotos


def image_bytes(fmt="JPEG", size=(64, 48), color=(200, 30, 30), **save):
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=fmt, **save)
    return out.getvalue()


def upload(data, name="photo.jpg", content_type="image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def png_claiming(width, height):
    """A tiny, valid PNG whose header claims width x height pixels (a decompression bomb's header)."""
    real = image_bytes("PNG", size=(1, 1))
    ihdr_at = real.index(b"IHDR")
    header = struct.pack(">II", width, height) + real[ihdr_at + 12 : ihdr_at + 17]
    chunk = b"IHDR" + header
    patched = real[: ihdr_at - 4] + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
    return patched + real[ihdr_at + 4 + 13 + 4 :]


def reason_of(data, **kwargs):
    with pytest.raises(PhotoInvalid) as caught:
        photos.photo_prepare(upload(data, **kwargs))
    return caught.value.details["reason"]


def test_a_file_that_is_not_an_allowed_image_is_refused():
    assert reason_of(b"GIF89a" + image_bytes("GIF")[6:], name="x.gif", content_type="image/gif") == "type"
    assert reason_of(b"<html>not an image</html>", name="x.jpg") == "unreadable"
    assert reason_of(image_bytes("BMP"), name="x.jpg") == "type"  # by content, not by name


def test_a_photo_over_5_mb_is_refused_before_it_is_decoded():
    big = image_bytes() + b"\0" * (5 * 1024 * 1024)
    assert reason_of(big) == "too_large"


def test_a_decompression_bomb_is_refused_from_its_header():
    with pytest.raises(Image.DecompressionBombError):  # what a plain Image.open does with it
        Image.open(io.BytesIO(png_claiming(50_000, 50_000)))
    assert reason_of(png_claiming(50_000, 50_000), name="bomb.png", content_type="image/png") == "too_many_pixels"
    # Above our 40 MP limit but below Pillow's own error threshold: still refused.
    assert reason_of(png_claiming(8_000, 6_000), name="big.png", content_type="image/png") == "too_many_pixels"


def test_a_truncated_image_is_refused():
    data = image_bytes(size=(400, 300))
    assert reason_of(data[: len(data) // 2]) == "unreadable"


def test_an_accepted_photo_is_re_encoded_shrunk_upright_and_stripped_of_exif():
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Inc."  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    data = image_bytes(size=(3200, 1600), exif=exif.tobytes())
    assert Image.open(io.BytesIO(data)).getexif()[0x010F] == "SpyCam Inc."
    clean = photos.photo_prepare(upload(data))
    with Image.open(io.BytesIO(clean.read())) as stored:
        assert stored.format == "JPEG"
        assert stored.size == (800, 1600)  # turned upright, then at most 1600 px a side
        assert dict(stored.getexif()) == {}
        assert "exif" not in stored.info


def test_a_png_with_transparency_becomes_a_jpeg_on_white():
    out = io.BytesIO()
    Image.new("RGBA", (10, 10), (0, 0, 0, 0)).save(out, format="PNG")
    clean = photos.photo_prepare(upload(out.getvalue(), name="t.png", content_type="image/png"))
    with Image.open(io.BytesIO(clean.read())) as stored:
        assert stored.mode == "RGB" and stored.getpixel((5, 5))[0] > 240


def test_a_review_has_at_most_five_photos_and_they_are_stored_under_the_tenant(shop, media_root):
    buyer = shop.buyer()
    with tenant_context(shop.tenant):
        review = services.review_create(customer=buyer, product=shop.product, rating=5, body="Pretty bottle, too.")
        added = [services.review_photo_add(review=review, upload=upload(image_bytes())) for _ in range(5)]
        with pytest.raises(TooManyPhotos):
            services.review_photo_add(review=review, upload=upload(image_bytes()))
        review.refresh_from_db()
        assert review.photo_count == 5
        assert added[0].image.name.startswith(f"reviews/{shop.tenant.schema_name}/{review.pk}/")
        assert (media_root / added[0].image.name).exists()
        assert (added[0].width, added[0].height) == (64, 48)
        services.review_photo_delete(photo=added[0])
        review.refresh_from_db()
        assert review.photo_count == 4
