"""Variant galleries: uploads re-encoded into WebP renditions without metadata, one primary per
variant, reordering, removal promoting the next picture, refusals in the error shape, access and
tenant isolation, immutable cached files, primaries inline in product answers at a constant query
count, the admin inline, and the data migration of the old single image."""

from __future__ import annotations

import io
import struct
import types
import zlib

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context
from PIL import Image

from apps.accounts.models import User
from apps.catalog.models import Product, Variant, VariantImage
from tests import factories as f
from tests.accounts import principals as p
from tests.conftest import TENANT_A, TENANT_B


@pytest.fixture
def in_a(tenant_a, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    with tenant_context(tenant_a):
        yield tenant_a


@pytest.fixture
def owner(in_a):
    return Client(HTTP_HOST=TENANT_A.domain, **p.staff_headers(in_a, "owner"))


def _jpeg(size=(3000, 2000), *, orientation: int | None = None, colour="red") -> bytes:
    """A JPEG from a camera: EXIF with make, GPS and (optionally) an orientation tag."""
    image = Image.new("RGB", size, colour)
    image.paste("blue", (0, 0, size[0] // 2, size[1] // 4))  # so the orientation is visible
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (52.0, 22.0, 0.0)}  # GPS IFD: latitude
    if orientation:
        exif[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, quality=90)
    return out.getvalue()


def _png(size=(40, 30), mode="RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (0, 200, 0, 128) if mode == "RGBA" else "green").save(out, format="PNG")
    return out.getvalue()


def _gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (8, 8)).save(out, format="GIF")
    return out.getvalue()


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge size (what a decompression bomb looks like)."""
    data = bytearray(_png((1, 1), "RGB"))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    return bytes(data)


def _upload(client, sku, data, name="photo.jpg", **fields):
    return client.post(f"/api/v1/variants/{sku}/images", {"image": ContentFile(data, name=name), **fields})


def _open(client, url) -> Image.Image:
    response = client.get(url)
    assert response.status_code == 200, url
    return Image.open(io.BytesIO(b"".join(response.streaming_content)))


def _primary_ids(variant) -> list[int]:
    return list(VariantImage.objects.filter(variant=variant, is_primary=True).values_list("id", flat=True))


def test_an_upload_is_re_encoded_as_upright_webp_renditions_without_exif(in_a, owner):
    variant = f.variant(sku="MANGO-250")
    # 3000 x 2000 stored sideways: EXIF orientation 6 says "rotate 90° clockwise to view".
    response = _upload(owner, "MANGO-250", _jpeg((3000, 2000), orientation=6), alt_text="Mango  sauce bottle")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["is_primary"] is True and body["position"] == 0 and body["alt_text"] == "Mango sauce bottle"
    assert (body["width"], body["height"]) == (1600, 2400)  # upright, master capped at 2400 px
    expected = {"original": (1600, 2400), "full": (800, 1200), "card": (320, 480), "thumb": (107, 160)}
    for rendition, (width, height) in expected.items():
        url = body["urls"][rendition]
        assert url.startswith(f"/media/variant-images/{TENANT_A.schema}/") and url.endswith(".webp")
        picture = _open(owner, url)
        assert picture.format == "WEBP", rendition
        assert abs(picture.width - width) <= 1 and picture.height == height, (rendition, picture.size)
        assert not picture.getexif(), rendition  # no camera, no GPS, no orientation left
        assert "exif" not in picture.info and "icc_profile" not in picture.info and "xmp" not in picture.info
    # The top-left blue band of the sideways original is now on the right: the pixels were turned.
    full = _open(owner, body["urls"]["full"]).convert("RGB")
    assert full.getpixel((full.width - 5, 5))[2] > 200 and full.getpixel((5, 5))[0] > 200
    assert VariantImage.objects.get().variant == variant


def test_an_embedded_colour_profile_is_applied_and_not_kept(in_a, owner):
    from PIL import ImageCms

    f.variant(sku="WIDE")
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    Image.new("RGB", (300, 200), (200, 30, 30)).save(out, format="JPEG", icc_profile=profile, comment=b"secret")
    assert Image.open(io.BytesIO(out.getvalue())).info.get("icc_profile")
    body = _upload(owner, "WIDE", out.getvalue()).json()
    for url in body["urls"].values():
        picture = _open(owner, url)
        assert "icc_profile" not in picture.info and "comment" not in picture.info
        red, green, blue = picture.convert("RGB").getpixel((10, 10))
        assert red > 180 and green < 60 and blue < 60  # sRGB into sRGB: the colour is unchanged


def test_transparent_png_keeps_its_alpha_and_small_pictures_are_not_enlarged(in_a, owner):
    f.variant(sku="SMALL")
    body = _upload(owner, "SMALL", _png((40, 30)), name="logo.png").json()
    thumb = _open(owner, body["urls"]["thumb"])
    assert thumb.format == "WEBP" and thumb.size == (40, 30) and thumb.mode == "RGBA"
    assert thumb.getpixel((10, 10))[3] == 128


def test_files_are_named_by_their_content_and_shared_until_the_last_user_goes(
    in_a, owner, django_capture_on_commit_callbacks
):
    f.variant(sku="A-1")
    f.variant(sku="B-1")
    data = _jpeg((800, 600))
    first = _upload(owner, "A-1", data).json()
    second = _upload(owner, "B-1", data).json()
    assert first["urls"] == second["urls"]  # same bytes, same names: one set of files
    name = VariantImage.objects.get(pk=first["id"]).card.name
    assert name.endswith(".webp") and len(name.rsplit("/", 1)[1]) == 64 + 5
    with django_capture_on_commit_callbacks(execute=True):
        assert owner.delete(f"/api/v1/variants/A-1/images/{first['id']}").status_code == 204
    assert default_storage.exists(name)  # B-1 still shows it
    with django_capture_on_commit_callbacks(execute=True):
        assert owner.delete(f"/api/v1/variants/B-1/images/{second['id']}").status_code == 204
    assert not default_storage.exists(name)


def test_one_primary_per_variant_and_a_second_primary_unsets_the_first(in_a, owner):
    variant = f.variant(sku="PRIM")
    first = _upload(owner, "PRIM", _jpeg((400, 300), colour="red")).json()
    second = _upload(owner, "PRIM", _jpeg((400, 300), colour="green")).json()
    third = _upload(owner, "PRIM", _jpeg((400, 300), colour="yellow"), is_primary="true").json()
    assert first["is_primary"] and not second["is_primary"] and third["is_primary"]
    assert _primary_ids(variant) == [third["id"]]  # the upload marked primary took it over
    made = owner.patch(
        f"/api/v1/variants/PRIM/images/{second['id']}", {"is_primary": True}, content_type="application/json"
    )
    assert made.status_code == 200 and made.json()["is_primary"] is True
    assert _primary_ids(variant) == [second["id"]]
    unset = owner.patch(
        f"/api/v1/variants/PRIM/images/{second['id']}", {"is_primary": False}, content_type="application/json"
    )
    assert unset.status_code == 400 and unset.json()["error"]["code"] == "validation_error"
    assert "is_primary" in unset.json()["error"]["details"]
    alt = owner.patch(
        f"/api/v1/variants/PRIM/images/{first['id']}", {"alt_text": "Front label"}, content_type="application/json"
    )
    assert alt.json()["alt_text"] == "Front label" and alt.json()["is_primary"] is False
    assert _primary_ids(variant) == [second["id"]]
    # The database refuses a second primary even when the services are bypassed.
    with pytest.raises(IntegrityError), transaction.atomic():
        VariantImage.objects.filter(pk=first["id"]).update(is_primary=True)


def test_reorder_takes_every_id_once_in_the_new_order(in_a, owner):
    f.variant(sku="ORD")
    other = f.variant(sku="OTHER")
    ids = [_upload(owner, "ORD", _jpeg((200, 200), colour=c)).json()["id"] for c in ("red", "green", "blue")]
    foreign = VariantImage.objects.create(variant=other, position=0, is_primary=True)
    url = "/api/v1/variants/ORD/images/order"
    done = owner.put(url, {"ids": [ids[2], ids[0], ids[1]]}, content_type="application/json")
    assert done.status_code == 200, done.content
    assert [(i["id"], i["position"]) for i in done.json()] == [(ids[2], 0), (ids[0], 1), (ids[1], 2)]
    listed = owner.get("/api/v1/variants/ORD/images").json()
    assert [i["id"] for i in listed] == [ids[2], ids[0], ids[1]]
    assert listed[1]["is_primary"] is True  # reordering does not move the primary flag
    for bad in ([ids[0], ids[1]], [ids[0], ids[0], ids[1], ids[2]], [*ids, foreign.pk], ["x"]):
        refused = owner.put(url, {"ids": bad}, content_type="application/json")
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "validation_error", bad
        assert "ids" in refused.json()["error"]["details"]
    assert [i["id"] for i in owner.get("/api/v1/variants/ORD/images").json()] == [ids[2], ids[0], ids[1]]


def test_deleting_the_primary_promotes_the_next_and_closes_the_gap(in_a, owner, django_capture_on_commit_callbacks):
    variant = f.variant(sku="DEL")
    ids = [_upload(owner, "DEL", _jpeg((200, 200), colour=c)).json()["id"] for c in ("red", "green", "blue")]
    gone = VariantImage.objects.get(pk=ids[0])
    with django_capture_on_commit_callbacks(execute=True):
        assert owner.delete(f"/api/v1/variants/DEL/images/{ids[0]}").status_code == 204
    listed = owner.get("/api/v1/variants/DEL/images").json()
    assert [(i["id"], i["position"], i["is_primary"]) for i in listed] == [(ids[1], 0, True), (ids[2], 1, False)]
    assert not any(default_storage.exists(getattr(gone, field).name) for field in VariantImage.FILE_FIELDS)
    assert owner.delete(f"/api/v1/variants/DEL/images/{ids[2]}").status_code == 204  # not the primary
    assert _primary_ids(variant) == [ids[1]]
    assert owner.delete(f"/api/v1/variants/DEL/images/{ids[2]}").status_code == 404
    assert owner.delete(f"/api/v1/variants/DEL/images/{ids[1]}").status_code == 204
    assert not VariantImage.objects.filter(variant=variant).exists()


def test_a_picture_removed_while_an_edit_or_removal_waited_for_the_lock_answers_404_not_500(in_a, owner):
    """Two owners remove (or edit) the same picture at once: both requests find it, the second waits
    for the variant lock and, once it has it, the picture is gone. It re-reads the row under the
    lock; that must be a 404 in the error shape, not DoesNotExist (500)."""
    from apps.catalog import gallery
    from apps.core.errors import NotFound

    f.variant(sku="RACE")
    ids = [_upload(owner, "RACE", _jpeg((120, 120), colour=c)).json()["id"] for c in ("red", "green")]
    seen_by_second = VariantImage.objects.select_related("variant").get(pk=ids[1])  # read before the lock
    gallery.variant_image_delete(image=VariantImage.objects.select_related("variant").get(pk=ids[1]))
    with pytest.raises(NotFound):
        gallery.variant_image_delete(image=seen_by_second)
    with pytest.raises(NotFound):
        gallery.variant_image_update(image=seen_by_second, alt_text="late", is_primary=True)
    assert list(VariantImage.objects.filter(variant__sku="RACE").values_list("id", "is_primary")) == [(ids[0], True)]


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (b"<?php echo 'pwned'; ?>", "evil.jpg", "unreadable"),
        (_png()[:60], "truncated.png", "unreadable"),
        (_gif(), "anim.gif", "type"),
        (_png_claiming(50_000, 50_000), "bomb.png", "too_many_pixels"),
        (_png_claiming(6001, 10), "wide.png", "too_many_pixels"),
        (b"", "empty.jpg", "unreadable"),
    ],
    ids=["not-an-image", "truncated", "gif", "decompression-bomb", "over-6000-px", "empty"],
)
def test_a_file_that_is_not_an_acceptable_image_is_400_in_the_error_shape(in_a, owner, data, name, reason):
    f.variant(sku="BAD")
    response = _upload(owner, "BAD", data, name=name)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "image_invalid" and error["message"] and error["request_id"]
    assert error["details"]["reason"] == reason and error["details"]["image"]
    assert not VariantImage.objects.exists()


def test_a_missing_file_and_a_bad_alt_text_are_400(in_a, owner):
    f.variant(sku="MISS")
    missing = owner.post("/api/v1/variants/MISS/images", {"alt_text": "x"})
    assert missing.status_code == 400 and missing.json()["error"]["details"] == {"image": ["Required."]}
    long_alt = _upload(owner, "MISS", _jpeg((100, 100)), alt_text="x" * 251)
    assert long_alt.status_code == 400 and "alt_text" in long_alt.json()["error"]["details"]
    assert owner.post("/api/v1/variants/NOPE/images", {"image": ContentFile(_png(), name="a.png")}).status_code == 404


def test_oversized_uploads_are_refused_before_decoding(in_a, owner, settings):
    f.variant(sku="BIG")
    big = _jpeg((64, 64)) + b"\0" * (5 * 1024 * 1024)  # a valid JPEG followed by 5 MB of padding
    too_large = _upload(owner, "BIG", big)
    assert too_large.status_code == 400
    assert too_large.json()["error"]["code"] == "image_invalid"
    assert too_large.json()["error"]["details"]["reason"] == "too_large"
    # Past the multipart body limit the request is refused before the view runs: 413, same shape.
    settings.REQUEST_MAX_UPLOAD_BYTES = 1024 * 1024
    refused = _upload(owner, "BIG", big)
    assert refused.status_code == 413 and refused.json()["error"]["code"] == "request_too_large"
    assert not VariantImage.objects.exists()


def test_a_full_gallery_refuses_more(in_a, owner, monkeypatch):
    from apps.catalog import gallery

    monkeypatch.setattr(gallery, "MAX_IMAGES", 2)
    f.variant(sku="FULL")
    for colour in ("red", "green"):
        assert _upload(owner, "FULL", _jpeg((50, 50), colour=colour)).status_code == 201
    refused = _upload(owner, "FULL", _jpeg((50, 50), colour="blue"))
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "gallery_full"


@pytest.mark.parametrize("role", ["store_manager", "warehouse"])
def test_only_catalog_editors_change_galleries(in_a, owner, role):
    f.variant(sku="PERM")
    image = _upload(owner, "PERM", _jpeg((100, 100))).json()
    customer = Client(HTTP_HOST=TENANT_A.domain, **p.customer_headers(in_a, "retail"))
    staff = Client(HTTP_HOST=TENANT_A.domain, **p.staff_headers(in_a, role))
    anonymous = Client(HTTP_HOST=TENANT_A.domain)
    for client, refused in ((customer, 403), (staff, 403), (anonymous, 401)):
        assert _upload(client, "PERM", _jpeg((100, 100))).status_code == refused
        url = f"/api/v1/variants/PERM/images/{image['id']}"
        assert client.patch(url, {"alt_text": "x"}, content_type="application/json").status_code == refused
        assert client.delete(url).status_code == refused
        order = {"ids": [image["id"]]}
        assert client.put(
            "/api/v1/variants/PERM/images/order", order, content_type="application/json"
        ).status_code == (refused)
        # Everybody may look at a live variant's gallery (it is catalog content).
        assert [i["id"] for i in client.get("/api/v1/variants/PERM/images").json()] == [image["id"]]
    assert VariantImage.objects.get().alt_text == ""


def test_customers_do_not_find_an_archived_variants_gallery(in_a, owner):
    variant = f.variant(sku="OLD")
    _upload(owner, "OLD", _jpeg((100, 100)))
    Variant.objects.filter(pk=variant.pk).update(is_archived=True)
    assert Client(HTTP_HOST=TENANT_A.domain).get("/api/v1/variants/OLD/images").status_code == 404
    assert len(owner.get("/api/v1/variants/OLD/images").json()) == 1


def test_another_tenant_sees_neither_the_gallery_nor_its_files(in_a, owner, tenant_b):
    f.variant(sku="SECRET")
    body = _upload(owner, "SECRET", _jpeg((300, 300))).json()
    with tenant_context(tenant_b):
        other_owner = Client(HTTP_HOST=TENANT_B.domain, **p.staff_headers(tenant_b, "owner"))
    assert other_owner.get("/api/v1/variants/SECRET/images").status_code == 404
    assert (
        other_owner.patch(
            f"/api/v1/variants/SECRET/images/{body['id']}", {"alt_text": "x"}, content_type="application/json"
        ).status_code
        == 404
    )
    for url in body["urls"].values():
        assert Client(HTTP_HOST=TENANT_A.domain).get(url).status_code == 200
        assert Client(HTTP_HOST=TENANT_B.domain).get(url).status_code == 404  # same path, other host
    # Nor by naming its own folder: the name leads to tenant B's folder, where the file is not.
    leaked = body["urls"]["card"].replace(f"/{TENANT_A.schema}/", f"/{TENANT_B.schema}/")
    assert Client(HTTP_HOST=TENANT_B.domain).get(leaked).status_code == 404


def test_served_files_are_immutable_with_a_year_of_cache_and_revalidate_to_304(in_a, owner):
    f.variant(sku="CACHE")
    url = _upload(owner, "CACHE", _jpeg((300, 300))).json()["urls"]["card"]
    anonymous = Client(HTTP_HOST=TENANT_A.domain)
    response = anonymous.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/webp"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    digest = url.rsplit("/", 1)[1].removesuffix(".webp")
    assert response["ETag"] == f'"{digest}"'
    assert b"".join(response.streaming_content)[:4] == b"RIFF"
    again = anonymous.get(url, HTTP_IF_NONE_MATCH=f'"{digest}"')
    assert again.status_code == 304 and again["Cache-Control"].endswith("immutable")
    assert anonymous.head(url).status_code == 200
    assert anonymous.post(url).status_code == 405
    folder = url.rsplit("/", 2)[0]
    for bad in (f"{folder}/{'0' * 64}.webp", f"{folder}/../../etc.webp", f"{folder}/{digest}.png"):
        assert anonymous.get(bad).status_code == 404, bad


def test_products_show_each_variants_primary_at_a_constant_query_count(in_a, owner):
    def product_with(n_variants: int, n_images: int) -> Product:
        variants = [f.variant() for _ in range(n_variants)]
        Variant.objects.filter(pk__in=[v.pk for v in variants[1:]]).update(product=variants[0].product)
        for v in variants:
            for colour in ["red", "green", "blue"][:n_images]:
                assert _upload(owner, v.sku, _jpeg((120, 80), colour=colour)).status_code == 201
        return variants[0].product

    small, large = product_with(1, 1), product_with(4, 3)
    bare = f.variant()  # a variant without pictures answers null
    anonymous = Client(HTTP_HOST=TENANT_A.domain)

    def count(url: str) -> tuple[int, dict]:
        with CaptureQueriesContext(connection) as queries:
            response = anonymous.get(url)
        assert response.status_code == 200
        return len([q for q in queries.captured_queries if not q["sql"].startswith("SET ")]), response.json()

    small_count, _ = count(f"/api/v1/products/{small.pk}")
    large_count, detail = count(f"/api/v1/products/{large.pk}")
    assert small_count == large_count <= 3, (small_count, large_count)  # tenant, product, its variants
    assert len(detail["variants"]) == 4
    for variant in detail["variants"]:
        primary = VariantImage.objects.get(variant_id=variant["id"], is_primary=True)
        shown = variant["primary_image"]
        assert shown["id"] == primary.pk and shown["is_primary"] is True and shown["position"] == 0
        assert shown["urls"]["card"] == primary.card.url and shown["urls"]["thumb"] == primary.thumb.url
    list_counts = {size: count(f"/api/v1/products?page_size={size}")[0] for size in (1, 3)}
    assert list_counts[1] == list_counts[3] <= 4, list_counts
    listed = {row["id"]: row for row in count("/api/v1/products?page_size=10")[1]["results"]}
    assert listed[bare.product_id]["variants"][0]["primary_image"] is None
    assert all(v["primary_image"]["urls"]["thumb"] for v in listed[large.pk]["variants"])
    variants_page = count("/api/v1/variants?page_size=10")[1]["results"]
    assert {v["sku"]: bool(v["primary_image"]) for v in variants_page}[bare.sku] is False


def test_the_variant_admin_shows_the_gallery_and_saves_it_through_the_services(in_a, owner):
    variant = f.variant(sku="ADMIN")
    first = _upload(owner, "ADMIN", _jpeg((300, 200), colour="red")).json()
    second = _upload(owner, "ADMIN", _jpeg((300, 200), colour="green")).json()
    staff = User.objects.create_superuser("admin-gallery@example.com", "pw-Owner-Long-1")
    client = Client(HTTP_HOST=TENANT_A.domain)
    client.force_login(staff)
    url = f"/admin/catalog/variant/{variant.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert first["urls"]["thumb"] in html and 'enctype="multipart/form-data"' in html
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    prefix = "images"
    data.update(
        {
            f"{prefix}-TOTAL_FORMS": "3",
            f"{prefix}-INITIAL_FORMS": "2",
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "20",
            f"{prefix}-0-id": str(first["id"]),
            f"{prefix}-0-variant": str(variant.pk),
            f"{prefix}-0-alt_text": "Red label",
            f"{prefix}-0-position": "2",
            f"{prefix}-1-id": str(second["id"]),
            f"{prefix}-1-variant": str(variant.pk),
            f"{prefix}-1-alt_text": "",
            f"{prefix}-1-is_primary": "on",
            f"{prefix}-1-position": "0",
            f"{prefix}-2-variant": str(variant.pk),
            f"{prefix}-2-alt_text": "Back",
            f"{prefix}-2-position": "1",
            f"{prefix}-2-upload": ContentFile(_jpeg((200, 300), orientation=3, colour="blue"), name="back.jpg"),
        }
    )
    saved = client.post(url, data)
    assert saved.status_code == 302, saved.context and saved.context["inline_admin_formsets"][0].formset.errors
    gallery = list(VariantImage.objects.filter(variant=variant).order_by("position"))
    assert [(g.pk == second["id"], g.is_primary) for g in gallery] == [(True, True), (False, False), (False, False)]
    assert gallery[1].alt_text == "Back" and gallery[1].card.name.endswith(".webp")
    assert (gallery[2].pk, gallery[2].alt_text) == (first["id"], "Red label")
    # Two primaries ticked: the form says so and nothing changes.
    data.update({f"{prefix}-TOTAL_FORMS": "2", f"{prefix}-0-is_primary": "on"})
    data.pop(f"{prefix}-2-upload")
    refused = client.post(url, data)
    assert refused.status_code == 200 and "Only one picture can be the primary." in refused.content.decode()
    assert _primary_ids(variant) == [second["id"]]


def test_the_migration_moves_the_old_single_image_into_the_gallery_as_primary(in_a):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("apps.catalog.migrations.0004_variant_image_into_gallery")
    with_image, broken, without = f.variant(sku="LEGACY"), f.variant(sku="BROKEN"), f.variant(sku="NONE")
    with_image.image.save("legacy.jpg", ContentFile(_jpeg((1600, 1200))), save=True)
    Variant.objects.filter(pk=broken.pk).update(image="variants/missing.jpg")
    editor = types.SimpleNamespace(connection=connection)
    migration.copy_into_gallery(apps, editor)
    migration.copy_into_gallery(apps, editor)  # run again (a retried deploy): nothing doubles
    moved = VariantImage.objects.get(variant=with_image)
    assert moved.is_primary and moved.position == 0 and (moved.width, moved.height) == (1600, 1200)
    assert moved.full.name.startswith(f"variant-images/{TENANT_A.schema}/")
    assert not VariantImage.objects.filter(variant__in=[broken, without]).exists()
    assert Variant.objects.get(pk=broken.pk).image.name == "variants/missing.jpg"  # kept, not lost


def test_concurrent_uploads_and_primary_changes_keep_one_primary_and_dense_positions(committed_db, settings, tmp_path):
    """Real threads against PostgreSQL: the variant lock serialises gallery writes, so eight
    uploads at once get positions 0..7 and racing "make primary" calls never break the index."""
    import threading

    from apps.catalog import gallery
    from apps.catalog.images import prepare_bytes
    from apps.tenants.models import Tenant

    settings.MEDIA_ROOT = str(tmp_path)
    tenant = Tenant.objects.get(schema_name=TENANT_A.schema)
    with tenant_context(tenant):
        variant = f.variant(sku="RACE")
    colours = ["red", "green", "blue", "yellow", "purple", "orange", "white", "black"]
    prepared = [prepare_bytes(_jpeg((64, 64), colour=c)) for c in colours]  # decoding is not what races
    barrier, errors, made = threading.Barrier(len(prepared)), [], []

    def run(work):
        def target(*args):
            try:
                with tenant_context(tenant):
                    barrier.wait(timeout=10)
                    work(*args)
            except Exception as exc:  # reported below
                errors.append(repr(exc))
            finally:
                connection.close()

        return target

    threads = [
        threading.Thread(
            target=run(lambda p: made.append(gallery.variant_image_add(variant=variant, upload=p))), args=(p,)
        )
        for p in prepared
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    with tenant_context(tenant):
        rows = list(VariantImage.objects.filter(variant=variant).values_list("position", "is_primary"))
    assert sorted(position for position, _ in rows) == list(range(8))
    assert sum(primary for _, primary in rows) == 1

    barrier = threading.Barrier(len(made))
    threads = [
        threading.Thread(target=run(lambda i: gallery.variant_image_update(image=i, is_primary=True)), args=(image,))
        for image in made
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    with tenant_context(tenant):
        assert VariantImage.objects.filter(variant=variant, is_primary=True).count() == 1


def test_every_gallery_change_moves_the_variants_etag(in_a, owner):
    # The variant's representation shows its primary picture: its ETag must change with the gallery.
    f.variant(sku="ETAG-GAL")

    def etag():
        response = owner.get("/api/v1/variants/ETAG-GAL")
        assert response.status_code == 200
        return response["ETag"]

    tags = [etag()]
    first = _upload(owner, "ETAG-GAL", _jpeg((300, 200), colour="red")).json()
    tags.append(etag())
    second = _upload(owner, "ETAG-GAL", _jpeg((300, 200), colour="blue")).json()
    tags.append(etag())
    patched = owner.patch(
        f"/api/v1/variants/ETAG-GAL/images/{second['id']}", {"is_primary": True}, content_type="application/json"
    )
    assert patched.status_code == 200
    tags.append(etag())
    assert owner.delete(f"/api/v1/variants/ETAG-GAL/images/{first['id']}").status_code == 204
    tags.append(etag())
    assert len(set(tags)) == len(tags), tags
