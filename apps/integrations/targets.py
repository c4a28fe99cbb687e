"""SSRF guard: webhook URLs must resolve to public addresses (unless local settings allow private
ones) and, in production, use HTTPS. Checked when an endpoint is saved and again before each request
(the name may resolve elsewhere later); requests never follow redirects."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from apps.integrations.errors import WebhookTargetRefused


def _refused(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def target_check(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise WebhookTargetRefused("The URL must be http(s)://host/...", details={"url": ["Not an http(s) URL."]})
    if settings.WEBHOOK_REQUIRE_HTTPS and parts.scheme != "https":
        raise WebhookTargetRefused("Webhook URLs must use HTTPS.", details={"url": ["Use https://."]})
    if settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except (socket.gaierror, UnicodeError) as exc:
        raise WebhookTargetRefused(
            "The host name does not resolve.", details={"url": [f"Cannot resolve {parts.hostname}."]}
        ) from exc
    bad = sorted({info[4][0] for info in infos if _refused(info[4][0])})
    if bad:
        raise WebhookTargetRefused(
            "Webhooks cannot be sent to private, loopback or link-local addresses.",
            details={"url": [f"{parts.hostname} resolves to {', '.join(bad)}."]},
        )
