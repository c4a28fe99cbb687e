"""Adds tenant, request id and user to every log record (the JSON formatter prints them)."""

import logging

from django.db import connection

from apps.core.context import request_id_var


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        from apps.core.audit import current_actor

        record.request_id = request_id_var.get() or "-"
        record.tenant = getattr(connection, "schema_name", None) or "-"
        try:
            actor = current_actor(evaluate=False)
        except Exception:  # a log line must never fail because of its context
            actor = None
        record.user = actor.label if actor else "-"
        return True
