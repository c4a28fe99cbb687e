"""Every variant's single `image` becomes the primary picture of its new gallery.

The file is checked and re-encoded like any gallery upload (apps.catalog.images); a file that is
missing from storage or is not an acceptable image is skipped (and reported), never fatal: the
variant keeps its deprecated `image` value, so nothing is lost and an operator can upload it again.
Runs in each tenant's schema (django-tenants' migrate_schemas), so the files land in that tenant's
folder. Reversing it removes the gallery rows it made (the files stay; they are content-addressed
and harmless).
"""

from django.core.files.storage import default_storage
from django.db import migrations


def copy_into_gallery(apps, schema_editor) -> None:
    from apps.catalog.errors import ImageInvalid
    from apps.catalog.images import prepare_bytes, store

    Variant = apps.get_model("catalog", "Variant")
    VariantImage = apps.get_model("catalog", "VariantImage")
    schema = schema_editor.connection.schema_name
    skipped = []
    for variant in Variant.objects.exclude(image="").filter(images__isnull=True).order_by("pk").iterator():
        try:
            with default_storage.open(variant.image.name, "rb") as handle:
                prepared = prepare_bytes(handle.read())
        except (OSError, ImageInvalid) as exc:
            skipped.append(f"{variant.sku}: {exc}")
            continue
        names = store(prepared, schema=schema)
        VariantImage.objects.create(
            variant=variant,
            position=0,
            is_primary=True,
            width=prepared.width,
            height=prepared.height,
            **names,
        )
    if skipped:
        print(f"\n  [{schema}] variant images not copied into the gallery: " + "; ".join(skipped))


def remove_copies(apps, schema_editor) -> None:
    VariantImage = apps.get_model("catalog", "VariantImage")
    VariantImage.objects.filter(variant__image__gt="", position=0, is_primary=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0003_variant_image_gallery"),
    ]

    operations = [
        migrations.RunPython(copy_into_gallery, remove_copies),
    ]
