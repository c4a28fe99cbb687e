"""A CSV upload page for the admin that hands the file to a service (all rows or none)."""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse

from apps.core.errors import ApplicationError


class CsvUploadForm(forms.Form):
    file = forms.FileField(help_text="UTF-8 CSV with a header row, at most 5 MB.")


def csv_import_view(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    *,
    title: str,
    help_text: str,
    handle: Callable[[HttpRequest, str], str],
    extra_fields: dict[str, forms.Field] | None = None,
) -> HttpResponse:
    form_class = type("Form", (CsvUploadForm,), dict(extra_fields or {}))
    form = form_class(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "help": help_text,
        "form": form,
        "opts": model_admin.model._meta,
    }
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload.size > 5 * 1024 * 1024:
                raise ApplicationError("The file is larger than 5 MB.")
            text = upload.read().decode("utf-8-sig")
            request.csv_form = form  # type: ignore[attr-defined]
            done = handle(request, text)
        except UnicodeDecodeError:
            context.update(message="The file must be UTF-8 CSV.", errors={})
        except ApplicationError as exc:
            context.update(message=exc.message, errors=exc.details if isinstance(exc.details, dict) else {})
        else:
            model_admin.message_user(request, done, messages.SUCCESS)
            return HttpResponseRedirect("../")
    return TemplateResponse(request, "admin/csv_import.html", context)
