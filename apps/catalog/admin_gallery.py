"""The variant gallery in the admin: an inline on the variant page (thumbnail, alt text, primary,
position, upload of new pictures), saved through the gallery services (apps.catalog.gallery) like
the API, so uploads are checked and re-encoded the same way and the one-primary rule holds."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.html import format_html

from apps.catalog import gallery
from apps.catalog.errors import ImageInvalid
from apps.catalog.images import prepare_upload
from apps.catalog.models import VariantImage
from apps.core.errors import ApplicationError


class VariantImageForm(forms.ModelForm):
    upload = forms.FileField(
        required=False, label="New picture", help_text="JPEG, PNG or WebP, at most 5 MB and 6000 px a side."
    )

    class Meta:
        model = VariantImage
        fields = ["upload", "alt_text", "is_primary", "position"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prepared = None
        self.asked_position: int | None = None
        self.fields["position"].required = False
        if self.instance.pk:  # an existing picture's file is not replaced: remove it and add another
            self.fields["upload"].disabled = True
            self.fields["upload"].help_text = ""

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        # An empty position means "at the end"; the gallery services number the rows themselves.
        self.asked_position = data.get("position")
        if data.get("position") is None:
            data["position"] = self.instance.position or 0
        upload = data.get("upload")
        if not self.instance.pk and upload is not None:
            try:
                self.prepared = prepare_upload(upload)  # checked and re-encoded once, saved by the service
            except ImageInvalid as exc:
                self.add_error("upload", exc.message)
        elif not self.instance.pk and self.has_changed() and not data.get("DELETE"):
            self.add_error("upload", "Choose the picture to upload.")
        return data

    def _get_validation_exclusions(self) -> set[str]:
        # One primary per variant is the gallery services' rule (they unset the old one first);
        # the formset checks the boxes, the database constraint backs it.
        exclude = set(super()._get_validation_exclusions())
        exclude.add("is_primary")
        return exclude


class VariantImageFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        kept = [
            form
            for form in self.forms
            if form.cleaned_data
            and not form.cleaned_data.get("DELETE")
            and (form.instance.pk or form.cleaned_data.get("upload"))
        ]
        checked = [form for form in kept if form.cleaned_data.get("is_primary")]
        if len(checked) > 1:
            raise forms.ValidationError("Only one picture can be the primary.")
        unchecked_primary = [
            form for form in kept if form.instance.pk and form.initial.get("is_primary") and form not in checked
        ]
        if unchecked_primary and not checked:
            raise forms.ValidationError("A gallery keeps one primary picture: mark the one that replaces it.")


class VariantImageInline(admin.TabularInline):
    model = VariantImage
    form = VariantImageForm
    formset = VariantImageFormSet
    extra = 1
    max_num = gallery.MAX_IMAGES
    fields = ["preview", "upload", "alt_text", "is_primary", "position", "dimensions"]
    readonly_fields = ["preview", "dimensions"]
    ordering = ["position", "id"]
    verbose_name = "gallery picture"
    verbose_name_plural = "gallery (the primary is what customers see first; lower positions come first)"

    @admin.display(description="Picture")
    def preview(self, image: VariantImage) -> str:
        if not image.pk or not image.thumb:
            return "-"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">'
            '<img src="{}" alt="{}" style="max-height:80px;max-width:80px"></a>',
            image.full.url,
            image.thumb.url,
            image.alt_text,
        )

    @admin.display(description="Size")
    def dimensions(self, image: VariantImage) -> str:
        return f"{image.width} x {image.height} px" if image.pk else "-"


class GalleryAdminMixin:
    """For the variant admin: the gallery inline is saved through the gallery services."""

    def save_formset(self, request: HttpRequest, form, formset, change) -> None:  # noqa: ANN001
        if formset.model is not VariantImage:
            super().save_formset(request, form, formset, change)
            return
        variant = form.instance
        try:
            formset.save(commit=False)  # sorts the rows into deleted / changed / new; saves nothing
            for image in formset.deleted_objects:
                gallery.variant_image_delete(image=image)
            placed: list[tuple[int, int, VariantImage]] = []  # (position asked, row, picture)
            for row, item in enumerate(formset.forms):
                data = getattr(item, "cleaned_data", None) or {}
                if not data or data.get("DELETE"):
                    continue
                if item.instance.pk:
                    image = gallery.variant_image_update(
                        image=item.instance,
                        alt_text=data.get("alt_text", ""),
                        is_primary=True if data.get("is_primary") and not item.initial.get("is_primary") else None,
                    )
                elif item.prepared is not None:
                    image = gallery.variant_image_add(
                        variant=variant,
                        upload=item.prepared,
                        alt_text=data.get("alt_text", ""),
                        is_primary=bool(data.get("is_primary")),
                    )
                else:
                    continue
                asked = item.asked_position
                placed.append((asked if asked is not None else 10**6 + row, row, image))
            if placed:
                ordered = [image.pk for _, _, image in sorted(placed, key=lambda p: (p[0], p[1]))]
                gallery.variant_images_reorder(variant=variant, image_ids=ordered)
        except ApplicationError as exc:
            self.message_user(request, f"Gallery not fully saved: {exc.message}", messages.ERROR)
