"""Variant gallery writes: add, edit, reorder and remove a variant's pictures (VariantImage).

Rules kept here (the database backs the first with a partial unique index):

* a gallery that has pictures has exactly one primary: the first picture added becomes it,
  making another primary unsets the old one in the same transaction, the primary cannot simply
  be unset (make another one primary instead), and removing it promotes the next by position;
* positions run 0, 1, 2, ... in gallery order, with no gaps;
* at most MAX_IMAGES pictures per variant.

Every write locks the variant row first with `FOR NO KEY UPDATE`, so concurrent gallery edits of
one variant run one after the other, while orders (whose lines and ledger rows only take a
key-share lock on the variant) are never blocked by them. Decoding and re-encoding an upload
happens before the transaction (apps.catalog.images), so no lock is held while pixels are crunched.
Files are content-addressed and may be shared by pictures with the same bytes: a file is deleted,
after the commit, only when no picture of the tenant names it any more. Writing a picture's files
with its row and that check-then-delete both hold a transaction-scoped advisory lock per file name,
so an upload of the same bytes can never lose its file to a removal running beside it. A failed
upload may leave its files behind unreferenced; an identical upload later reuses them.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Q

from apps.catalog.errors import GalleryFull
from apps.catalog.images import PreparedImage, prepare_upload, storage_name, store
from apps.catalog.models import Variant, VariantImage
from apps.core.errors import InvalidInput, NotFound
from apps.core.versioning import bump

MAX_IMAGES = 20
ALT_TEXT_MAX = 250
_FILE_LOCK_CLASS = 7301  # first key of the gallery's advisory locks (the second: the name's hash)


def _lock(variant: Variant) -> Variant:
    """Lock the variant row for the gallery change and bump its version, so its ETag covers its
    pictures (the primary image is in its representation): one UPDATE, which takes the same row
    lock as SELECT ... FOR NO KEY UPDATE. A removed variant is a 404."""
    bump(variant)
    return variant


def _reread(image: VariantImage) -> VariantImage:
    """The picture as it is now, under the variant lock: a removal that committed while this
    request waited for the lock answers 404, not a DoesNotExist (500)."""
    current = VariantImage.objects.filter(pk=image.pk).first()
    if current is None:
        raise NotFound("No such image.")
    return current


def _gallery(variant: Variant) -> list[VariantImage]:
    return list(VariantImage.objects.filter(variant_id=variant.pk).order_by("position", "id"))


def _alt_text(value: str) -> str:
    text = " ".join(str(value).split())
    if len(text) > ALT_TEXT_MAX:
        message = f"At most {ALT_TEXT_MAX} characters."
        raise InvalidInput(message, code="validation_error", details={"alt_text": [message]})
    return text


def _renumber(images: Sequence[VariantImage]) -> None:
    """Positions 0..n-1 in this order; only the rows that moved are written."""
    for index, image in enumerate(images):
        if image.position != index:
            image.position = index
            image.save(update_fields=["position"])


def _lock_files(names: set[str]) -> None:
    """Transaction-scoped advisory locks on these file names, taken in one order (no deadlock)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(name)) FROM unnest(%s::text[]) AS name ORDER BY name",
            [_FILE_LOCK_CLASS, sorted(names)],
        )


@transaction.atomic
def _delete_unused_files(names: set[str]) -> None:
    """Delete the files no picture names any more (runs after the commit of the removal)."""
    if not names:
        return
    _lock_files(names)
    query = Q()
    for field in VariantImage.FILE_FIELDS:
        query |= Q(**{f"{field}__in": names})
    in_use: set[str] = set()
    for row in VariantImage.objects.filter(query).values_list(*VariantImage.FILE_FIELDS):
        in_use.update(row)
    for name in names - in_use:
        default_storage.delete(name)


def variant_image_add(
    *, variant: Variant, upload: object, alt_text: str = "", is_primary: bool = False
) -> VariantImage:
    """Add a picture at the end of the gallery. `upload` is an uploaded file (checked and
    re-encoded here) or an already PreparedImage. The first picture is the primary whatever
    `is_primary` says."""
    alt = _alt_text(alt_text)
    prepared = upload if isinstance(upload, PreparedImage) else prepare_upload(upload)
    with transaction.atomic():
        _lock(variant)
        gallery = _gallery(variant)
        if len(gallery) >= MAX_IMAGES:
            raise GalleryFull(f"A variant has at most {MAX_IMAGES} pictures; remove one first.")
        _lock_files({storage_name(rendition) for rendition in prepared.renditions.values()})
        names = store(prepared)
        make_primary = is_primary or not any(image.is_primary for image in gallery)
        for old in gallery:
            if make_primary and old.is_primary:
                old.is_primary = False
                old.save(update_fields=["is_primary"])
        image = VariantImage.objects.create(
            variant_id=variant.pk,
            position=len(gallery),
            alt_text=alt,
            is_primary=make_primary,
            width=prepared.width,
            height=prepared.height,
            **names,
        )
    return image


@transaction.atomic
def variant_image_update(
    *, image: VariantImage, alt_text: str | None = None, is_primary: bool | None = None
) -> VariantImage:
    """Change the alt text and/or make the picture the primary (which unsets the old one)."""
    _lock(image.variant)
    image = _reread(image)
    fields = []
    if alt_text is not None:
        image.alt_text = _alt_text(alt_text)
        fields.append("alt_text")
    if is_primary is False and image.is_primary:
        message = "A gallery keeps one primary picture: make another picture primary instead."
        raise InvalidInput(message, code="validation_error", details={"is_primary": [message]})
    if is_primary and not image.is_primary:
        # The old primary is unset first: the partial unique index allows one at a time.
        for old in VariantImage.objects.filter(variant_id=image.variant_id, is_primary=True):
            old.is_primary = False
            old.save(update_fields=["is_primary"])
        image.is_primary = True
        fields.append("is_primary")
    if fields:
        image.save(update_fields=fields)
    return image


@transaction.atomic
def variant_images_reorder(*, variant: Variant, image_ids: Sequence[int]) -> list[VariantImage]:
    """Put the gallery in this order: `image_ids` must name each of the variant's pictures once."""
    _lock(variant)
    gallery = {image.pk: image for image in _gallery(variant)}
    ids = list(image_ids)
    problems = []
    if len(set(ids)) != len(ids):
        problems.append("An id is listed more than once.")
    if unknown := [i for i in ids if i not in gallery]:
        problems.append(f"Not pictures of this variant: {', '.join(map(str, unknown))}.")
    if missing := sorted(set(gallery) - set(ids)):
        problems.append(f"Missing from the order: {', '.join(map(str, missing))}.")
    if problems:
        raise InvalidInput(
            "List every picture of the variant once, in the new order.",
            code="validation_error",
            details={"ids": problems},
        )
    ordered = [gallery[i] for i in ids]
    _renumber(ordered)
    return ordered


@transaction.atomic
def variant_image_delete(*, image: VariantImage) -> None:
    """Remove a picture; if it was the primary, the next one by position becomes the primary."""
    _lock(image.variant)
    image = _reread(image)
    names = {getattr(image, field).name for field in VariantImage.FILE_FIELDS}
    was_primary = image.is_primary
    image.delete()
    rest = _gallery(image.variant)
    if was_primary and rest:
        rest[0].is_primary = True
        rest[0].save(update_fields=["is_primary"])
    _renumber(rest)
    transaction.on_commit(lambda: _delete_unused_files(names))
