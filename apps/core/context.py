"""Per-request (or per-task) context for logs, errors and the audit trail."""

from contextvars import ContextVar
from dataclasses import dataclass

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


@dataclass(frozen=True)
class Actor:
    """Who is changing things: a user, a partner API key, or the system (a task, a command)."""

    kind: str  # "user" | "api_key" | "system" | "anonymous"
    label: str
    user_id: int | None = None
    api_key_id: int | None = None


actor_var: ContextVar[Actor | None] = ContextVar("actor", default=None)


def get_request_id() -> str | None:
    return request_id_var.get()
