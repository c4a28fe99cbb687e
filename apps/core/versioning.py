"""Versioned writes: an `ETag` from each row's integer `version`, and `If-Match` on writes.

Every resource staff or partners edit (products, variants, price lists and their entries,
locations, stock-item settings, orders, purchase orders, transfers) has a `version` column that
every write bumps by one. The API answers single-resource reads and writes with

    ETag: W/"<version>"

(always weak: the tag names the version of the row, not the bytes of one representation, which
also carries live data such as stock quantities or nested variants). A write may send the tag
back as `If-Match`; the write then applies only if the row is still at that version:

* `If-Match` names another version: 412 `precondition_failed`, nothing changed, the current
  version in `details` (`current_version`, `current_etag`).
* `If-Match: *`: any current version (the write is unconditional, as without the header).
* `W/"3"` and `"3"` both name version 3 (the comparison is on the version: weak comparison; a
  list `W/"3", W/"4"` matches either). A value that is not an entity tag is 400.
* No `If-Match`: accepted, unless the tenant turned on `require_if_match`, in which case staff
  and partner (API key) writes answer 428 `precondition_required`. Customers' own actions
  (cancel my order, "I'm here") never require it.

Two edits that both read version 3 cannot both win: the conditional write is one statement
(`UPDATE ... SET version = version + 1 WHERE id = %s AND version = %s`, see `bump`) or, for a
row the service already locked with `SELECT ... FOR UPDATE`, a comparison under that lock
(`bump_locked`). PostgreSQL re-checks the WHERE clause of a blocked UPDATE once the first
transaction commits, so the second writer finds 0 rows and gets 412.

The pieces:
* `VersionedView`: the API views' mixin (`if_match(request, obj)`, `versioned(data, obj)`).
* `bump(instance, expected_version=...)`, `bump_locked(instance, expected_version=...)`,
  `NEXT_VERSION` (for bulk `.update(version=NEXT_VERSION)`): the services' writes.
* `VERSIONED_READ` / `VERSIONED_WRITE`: the OpenAPI parameters (the `ETag` response header and
  the `If-Match` request header); apps.core.openapi adds the 412 and 428 responses.
* `VersionedAdminMixin`: admin saves (and their inlines) bump the version too.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import connection
from django.db.models import F, Model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.errors import ApplicationError, InvalidInput, NotFound, PreconditionFailed

NEXT_VERSION = F("version") + 1  # for bulk updates: `.update(..., version=NEXT_VERSION)`

_TAG = re.compile(r'\s*(?:W/)?"([^"]*)"\s*(?:,|$)')
_ANY = object()


class PreconditionRequired(ApplicationError):
    code = "precondition_required"
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_message = "Send If-Match with the ETag you read: this business requires it for edits."


def etag(version: int) -> str:
    """The `ETag` of a row at `version`."""
    return f'W/"{version}"'


def stale(current_version: int) -> PreconditionFailed:
    return PreconditionFailed(
        "The resource changed since you read it; read it again and re-apply your change.",
        details={"current_version": current_version, "current_etag": etag(current_version)},
    )


def parse_if_match(value: str | None) -> object | set[str] | None:
    """None (no header), `_ANY` (`*`) or the set of versions (as text) the header names."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value == "*":
        return _ANY
    tags, position = set(), 0
    while position < len(value):
        match = _TAG.match(value, position)
        if match is None:
            raise InvalidInput(
                'If-Match must be "*" or entity tags such as W/"3".',
                code="malformed_request",
                details={"If-Match": ['Send the ETag as read, e.g. W/"3".']},
            )
        tags.add(match.group(1))
        position = match.end()
    return tags


def _requires_if_match(request: Request) -> bool:
    tenant = getattr(request._request, "tenant", None) or getattr(connection, "tenant", None)
    if not getattr(tenant, "require_if_match", False):
        return False
    from apps.accounts.policy import principal_of  # accounts builds on core, not the reverse

    return principal_of(request).kind in {"staff", "api_key"}


def expected_version(request: Request, current_version: int) -> int | None:
    """The version a write from this request must find (None: unconditional), or the 412/428.

    `current_version` is the version the view just read; the service's conditional write checks
    it again, so an edit that lands between the read and the write still loses with 412."""
    tags = parse_if_match(request.headers.get("If-Match"))
    if tags is None:
        if _requires_if_match(request):
            raise PreconditionRequired(
                details={"current_version": current_version, "current_etag": etag(current_version)}
            )
        return None
    if tags is _ANY:
        return None
    if str(current_version) not in tags:
        raise stale(current_version)
    return current_version


def bump(instance: Model, *, expected_version: int | None = None) -> int:
    """Bump the row's version in one statement, conditional on `expected_version` when given
    (412 when the row is at another version). Sets and returns the new version. Inside the
    service's transaction the statement also locks the row until it commits, so a later
    `save()` of the instance writes the version it now carries."""
    model = type(instance)
    table = connection.ops.quote_name(model._meta.db_table)
    pk = connection.ops.quote_name(model._meta.pk.column)
    sql = f"UPDATE {table} SET version = version + 1 WHERE {pk} = %s"  # table and column names from the model
    params: list[Any] = [instance.pk]
    if expected_version is not None:
        sql += " AND version = %s"
        params.append(expected_version)
    with connection.cursor() as cursor:
        cursor.execute(sql + " RETURNING version", params)
        row = cursor.fetchone()
    if row is None:
        current = model._default_manager.filter(pk=instance.pk).values_list("version", flat=True).first()
        if current is None:
            raise NotFound()
        raise stale(current)
    instance.version = row[0]
    return row[0]


def bump_locked(instance: Model, *, expected_version: int | None = None) -> list[str]:
    """For a row the caller locked (`select_for_update`) in this transaction: check it is at
    `expected_version` (412 otherwise) and bump it in memory. Returns ["version"] for the
    caller's `save(update_fields=...)`, so the bump costs no statement of its own."""
    if expected_version is not None and instance.version != expected_version:
        raise stale(instance.version)
    instance.version += 1
    return ["version"]


# ---------------------------------------------------------------------------------------------
# The API views


class VersionedView:
    """Mixin for GenericAPIView subclasses serving one versioned resource."""

    def if_match(self, request: Request, obj: Model) -> int | None:
        return expected_version(request, obj.version)

    def versioned(self, data: Any, obj: Model, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(data, status=status_code, headers={"ETag": etag(obj.version)})


ETAG_RESPONSE_HEADER = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=True,
    description='The version of the resource, weak: `W/"<version>"`. Send it back as `If-Match` when editing.',
)
IF_MATCH_HEADER = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description='The `ETag` read before (`W/"3"` or `"3"`; `*` for any version). A stale one answers 412 '
    "`precondition_failed` and changes nothing. Required (428 `precondition_required` without it) "
    "for staff and partner writes when the business turned on `require_if_match`.",
)
VERSIONED_READ = [ETAG_RESPONSE_HEADER]
VERSIONED_WRITE = [IF_MATCH_HEADER, ETAG_RESPONSE_HEADER]


# ---------------------------------------------------------------------------------------------
# The admin


class VersionedAdminMixin:
    """ModelAdmin mixin: a staff edit in the admin bumps the version like an API write, so an API
    client holding the old ETag gets 412 instead of overwriting it. Inline rows that are
    versioned (e.g. price-list entries) are bumped too."""

    def save_model(self, request: Any, obj: Model, form: Any, change: bool) -> None:
        if change and obj.pk is not None:
            bump(obj)
        super().save_model(request, obj, form, change)  # type: ignore[misc]

    def save_formset(self, request: Any, form: Any, formset: Any, change: bool) -> None:
        instances = formset.save(commit=False)
        for obj in instances:
            if obj.pk is not None and hasattr(obj, "version"):
                bump(obj)
            obj.save()
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()
