"""Restock alerts that reach someone: the location's managers get one e-mail digest per run listing
their open alerts not yet notified.

* **Who.** A location's managers are its assigned staff (`Location.managers`, the same link that
  scopes store managers in the API and the admin). A location nobody is assigned to goes to the
  business's owners (staff in the Owner role) instead, so no alert is left unread. Only active
  staff with an e-mail address receive mail. An alert nobody can receive (no such manager and no
  such owner) is left out of the run's selection, un-notified: it waits for someone to be assigned
  and never takes a place in the batch from an alert that can be sent.
* **Once per alert.** The run locks the alerts it takes (`FOR UPDATE SKIP LOCKED`: a second worker
  skips them rather than waiting), claims them with a conditional update (`notified_at IS NULL`)
  and sends the e-mails in the same transaction: if sending fails, the claim rolls back and a later
  run sends them. An alert that closes and opens again is a new row, so it is notified again.
  Every opened alert also has its `stock.low` webhook event: recorded in the outbox by the same
  statement that opened the alert (apps.stock.services._alerts_and_events), so exactly once.
* **When.** Right after a commit that opened alerts (the outbox's `stock.low` events): the task is
  queued once per tenant per debounce window, a few seconds later, so a burst of movements gives
  one run. A sweep every five minutes (beat) catches anything the kick missed (Redis down, a
  worker restart).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.dispatch import receiver
from django.utils import timezone

from apps.core.redis import get_redis
from apps.core.services import outbox_committed
from apps.stock.locator import zone_of
from apps.stock.models import Location, RestockAlert

logger = logging.getLogger(__name__)

BATCH = 500  # alerts per run; a larger backlog is taken by the next runs
OWNER_GROUP = "Owner"


def kick_key(schema: str) -> str:
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "fnb")
    return f"{prefix}:restock-notify-kick:{schema}"


@dataclass(frozen=True)
class Recipient:
    user_id: int
    email: str
    name: str


def _manager_links() -> QuerySet:
    """Location-manager links of the managers who receive mail (active staff with an e-mail)."""
    return Location.managers.through.objects.filter(
        user__is_active=True, user__is_staff=True, user__email__isnull=False
    ).exclude(user__email="")


def _owners() -> QuerySet:
    """The owners who receive mail (active staff in the Owner role with an e-mail)."""
    return (
        get_user_model()
        .objects.filter(is_active=True, is_staff=True, groups__name=OWNER_GROUP, email__isnull=False)
        .exclude(email="")
    )


def _deliverable() -> Q:
    """An alert someone can be told about: its location has a manager who receives mail, or the
    business has an owner who does (what `_recipients` falls back to)."""
    return Q(Exists(_manager_links().filter(location_id=OuterRef("stock_item__location_id")))) | Q(Exists(_owners()))


def _recipients(location_ids: set[int]) -> dict[int, list[Recipient]]:
    """location id -> who is told about it (its managers, else the owners). Two queries."""
    links = (
        _manager_links()
        .filter(location_id__in=location_ids)
        .values_list("location_id", "user_id", "user__email", "user__full_name")
        .order_by("location_id", "user_id")
    )
    found: dict[int, list[Recipient]] = defaultdict(list)
    for location_id, user_id, email, name in links:
        found[location_id].append(Recipient(user_id, email, name))
    orphans = location_ids - set(found)
    if orphans:
        owners = [
            Recipient(user_id, email, name)
            for user_id, email, name in _owners().order_by("pk").values_list("pk", "email", "full_name").distinct()
        ]
        for location_id in orphans:
            found[location_id] = owners
    return found


def _line(alert: RestockAlert) -> str:
    item = alert.stock_item
    return (
        f"- {item.variant.sku} {item.variant.product.name} ({item.variant.name}): "
        f"{item.on_hand - item.reserved} available, reorder point {item.reorder_point}"
        + (f", reorder {item.reorder_quantity}" if item.reorder_quantity else "")
        # The location's clock (else the business's), not the worker's UTC: the manager reads local time.
        + f" (low since {alert.opened_at.astimezone(zone_of(item.location)):%Y-%m-%d %H:%M %Z})"
    )


def _digest(recipient: Recipient, alerts: list[RestockAlert]) -> EmailMessage:
    business = getattr(getattr(connection, "tenant", None), "name", "") or "your business"
    by_location: dict[str, list[RestockAlert]] = defaultdict(list)
    for alert in alerts:
        by_location[alert.stock_item.location.name].append(alert)
    places = ", ".join(sorted(by_location))
    subject = f"[{business}] Low stock: {len(alerts)} item{'s' if len(alerts) != 1 else ''} at {places}"
    body = [f"Hello {recipient.name or recipient.email},", "", "These items fell to their reorder point:"]
    for name in sorted(by_location):
        body += ["", f"{name}:"] + [_line(alert) for alert in by_location[name]]
    body += ["", "Restock them, or plan a transfer or a purchase order in the admin."]
    return EmailMessage(subject=subject[:200], body="\n".join(body), to=[recipient.email])


def restock_alerts_notify(*, batch: int = BATCH) -> int:
    """E-mail each location's managers one digest of their open alerts not yet notified, marking
    those alerts notified in the same transaction. Returns how many alerts were notified. Alerts
    nobody can receive are not taken (they stay un-notified, counted in a warning), so a backlog of
    them never fills the batch ahead of alerts that can be sent."""
    # The kick is cleared first: an alert that opens while this run works queues the next run.
    try:
        get_redis(settings.REDIS_URL).delete(kick_key(connection.schema_name))
    except Exception:  # Redis down: the sweep still runs, only the kick waits for its key to expire
        logger.exception("Clearing the restock notification kick failed")
    waiting = (
        RestockAlert.objects.filter(closed_at__isnull=True, notified_at__isnull=True).exclude(_deliverable()).count()
    )
    if waiting:  # no manager and no owner with an e-mail: kept for when someone is assigned
        logger.warning("%d restock alerts have nobody to notify (no managers, no owners)", waiting)
    with transaction.atomic():
        alerts = list(
            RestockAlert.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(_deliverable(), closed_at__isnull=True, notified_at__isnull=True)
            .select_related("stock_item__variant__product", "stock_item__location")
            .order_by("opened_at", "id")[:batch]
        )
        if not alerts:
            return 0
        # Who, read after the selection: an alert whose last manager was unassigned in between has
        # nobody; it is not claimed and waits like the others.
        recipients = _recipients({alert.stock_item.location_id for alert in alerts})
        ids = [alert.pk for alert in alerts if recipients.get(alert.stock_item.location_id)]
        if not ids:
            return 0
        # The claim: only rows still un-notified (the lock already keeps other runs off them).
        claimed = set(
            RestockAlert.objects.filter(pk__in=ids, notified_at__isnull=True, closed_at__isnull=True)
            .values_list("pk", flat=True)
            .order_by("pk")
        )
        RestockAlert.objects.filter(pk__in=claimed, notified_at__isnull=True).update(notified_at=timezone.now())
        per_user: dict[int, tuple[Recipient, list[RestockAlert]]] = {}
        for alert in alerts:
            if alert.pk not in claimed:
                continue
            for recipient in recipients[alert.stock_item.location_id]:
                per_user.setdefault(recipient.user_id, (recipient, []))[1].append(alert)
        messages = [_digest(recipient, mine) for recipient, mine in per_user.values()]
        # Sent before the commit: a failure rolls the claim back and a later run sends them.
        get_connection(fail_silently=False).send_messages(messages)
    logger.info("Notified %d restock alerts in %d e-mails", len(claimed), len(messages))
    return len(claimed)


def restock_notify_kick(*, schema: str) -> bool:
    """Queue one notification run for the tenant a few seconds from now, unless one is queued."""
    seconds = settings.RESTOCK_NOTIFY_DEBOUNCE_SECONDS
    if not get_redis(settings.REDIS_URL).set(kick_key(schema), "1", nx=True, ex=max(int(seconds) * 2, 1)):
        return False
    from apps.stock.tasks import restock_alerts_notify_task

    restock_alerts_notify_task.apply_async(countdown=seconds)
    return True


@receiver(outbox_committed, dispatch_uid="stock.restock_notify_kick")
def _on_outbox_committed(sender: object, events: list, **kwargs: object) -> None:
    """A committed `stock.low` event means an alert opened: kick the notification run."""
    if not any(event.topic == "stock.low" for event in events):
        return
    try:
        restock_notify_kick(schema=connection.schema_name)
    except Exception:  # the change is committed; the five-minute sweep sends the e-mail instead
        logger.exception("Kicking the restock notifications failed")
