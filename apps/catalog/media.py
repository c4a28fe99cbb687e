"""Serving gallery files: `GET <MEDIA_URL>variant-images/<schema>/<2 hex>/<64 hex>.webp`.

A file's name is the SHA-256 of its bytes (apps.catalog.images), so a URL always answers the
same bytes: it is served `Cache-Control: public, max-age=31536000, immutable` with the digest as
its `ETag` (a revalidation answers 304). A tenant's host serves only its own folder: another
tenant's file answers 404 as if it did not exist.

Django serves these itself, in development, tests and small installations alike (one `open` and a
streamed FileResponse, no database query). At scale put a CDN or the web server in front of
`MEDIA_URL`, or use object storage with the same Cache-Control; the URLs do not change.
"""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.db import connection
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.views.decorators.http import require_safe

from apps.catalog.images import CONTENT_TYPE, FILE_NAME, FOLDER

CACHE_CONTROL = "public, max-age=31536000, immutable"


@require_safe
def variant_image_file(request: HttpRequest, schema: str, name: str) -> HttpResponse:
    match = FILE_NAME.match(name)
    if match is None or schema != connection.schema_name or match["digest"][:2] != match["shard"]:
        raise Http404("No such image.")
    etag = f'"{match["digest"]}"'
    if etag in {tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")}:
        response = HttpResponseNotModified()
    else:
        try:
            handle = default_storage.open(f"{FOLDER}/{schema}/{name}", "rb")
        except (FileNotFoundError, OSError) as exc:
            raise Http404("No such image.") from exc
        response = FileResponse(handle, content_type=CONTENT_TYPE)
    response["Cache-Control"] = CACHE_CONTROL
    response["ETag"] = etag
    return response
