"""Signatures as a receiver verifies them, with the standardwebhooks library."""

import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from apps.integrations import signing


def test_a_signature_verifies_with_the_standardwebhooks_library():
    secret = signing.secret_generate()
    body = b'{"type":"order.paid"}'
    ts = int(time.time())
    headers = {
        "webhook-id": "evt_1",
        "webhook-timestamp": str(ts),
        "webhook-signature": signing.signature_header([secret], "evt_1", ts, body),
    }
    assert Webhook(secret).verify(body, headers) == {"type": "order.paid"}


def test_a_tampered_body_or_another_secret_is_refused_by_the_receiver():
    secret = signing.secret_generate()
    ts = int(time.time())
    headers = {
        "webhook-id": "evt_1",
        "webhook-timestamp": str(ts),
        "webhook-signature": signing.signature_header([secret], "evt_1", ts, b"{}"),
    }
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"x":1}', headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.secret_generate()).verify(b"{}", headers)
