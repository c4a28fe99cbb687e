from django.db import models


class IdempotencyKey(models.Model):
    """A client's `Idempotency-Key` and, once the request completed, its response.

    One row per (principal, key) in the tenant's schema. While the first request runs the row
    is `in_flight` (a duplicate gets 409); afterwards it holds the status and body to replay
    for 24 hours. Rows are written with raw SQL in `apps.core.idempotency` (one statement per
    step); this model is for the admin, the purge task and tests.
    """

    class State(models.TextChoices):
        IN_FLIGHT = "in_flight", "In flight"
        COMPLETED = "completed", "Completed"

    principal = models.CharField(max_length=100)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=2048)
    state = models.CharField(max_length=16, choices=State.choices, default=State.IN_FLIGHT)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField()
    locked_until = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["principal", "key"], name="idempotency_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.principal} {self.key}"


class OutboxEvent(models.Model):
    """Transactional outbox: domain events written in the same transaction as the change they
    describe (`stock.changed`, `stock.low`, ...), published later by the integrations (webhooks,
    live streams), so an event exists if and only if its change committed."""

    topic = models.CharField(max_length=64, db_index=True)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The writing transaction's id (set by PostgreSQL). Readers page by (txid, id) and only up to
    # the oldest transaction still in flight, so a cursor never skips a late-committing event
    # (apps.integrations.selectors.outbox_changes).
    txid = models.BigIntegerField(
        db_default=models.Func(function="txid_current", output_field=models.BigIntegerField())
    )

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["txid", "id"], name="outbox_txid_id")]

    def __str__(self) -> str:
        return f"{self.topic} #{self.pk}"
