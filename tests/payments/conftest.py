"""The Stripe stand-in: localstripe (it speaks Stripe's HTTP API) started once for the session."""

import hashlib
import hmac
import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def stripe_server():
    port = _free_port()
    # --from-scratch: localstripe keeps its objects in /tmp/localstripe.pickle across runs; start empty.
    binary = shutil.which("localstripe") or str(Path(sys.executable).parent / "localstripe")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--from-scratch"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("localstripe did not start")
    previous = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{port}"
    yield settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = previous
    process.terminate()
    process.wait(timeout=10)


def signed(event: dict, secret: str | None = None) -> tuple[bytes, str]:
    """A webhook body and its `Stripe-Signature` header, as Stripe computes them."""
    payload = json.dumps(event).encode()
    timestamp = int(time.time())
    digest = hmac.new(
        (secret or settings.DJSTRIPE_WEBHOOK_SECRET).encode(), f"{timestamp}.".encode() + payload, hashlib.sha256
    ).hexdigest()
    return payload, f"t={timestamp},v1={digest}"
