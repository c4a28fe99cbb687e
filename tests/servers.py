"""The real web server for tests that need one over HTTP: gunicorn (gthread, as the Procfile runs it)
as a subprocess on a free port, against the test database and test Redis. Not pytest-django's
`live_server`: that flushes every table after each test, the public schema's tenants too."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from django.conf import settings
from django.db import connection

GUNICORN = ["--workers", "1", "--threads", "4", "--worker-class", "gthread", "--timeout", "60", "--no-control-socket"]


def database_url() -> str:
    """The test database as a URL, for the server process."""
    db = connection.settings_dict
    user, password = quote(db["USER"] or ""), quote(str(db["PASSWORD"] or ""))
    credentials = f"{user}:{password}@" if password else f"{user}@"
    if (db["HOST"] or "").startswith("/"):  # a Unix socket (the embedded server)
        return f"postgres://{credentials}/{db['NAME']}?host={quote(db['HOST'])}"
    return f"postgres://{credentials}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextlib.contextmanager
def gunicorn_server(log_path: Path, *, settings_module: str = "config.settings.test", **env: str) -> Iterator[int]:
    """Start the server, wait until it answers, yield its port; stop it (SIGTERM, then SIGKILL)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    environment = os.environ | {
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DATABASE_URL": database_url(),
        "TEST_REDIS_URL": settings.REDIS_URL,
        "PYTHONWARNINGS": "ignore",
        **env,
    }
    log = log_path.open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}", *GUNICORN],
        env=environment,
        cwd=settings.BASE_DIR,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/health/live", timeout=10)
                break
            except requests.RequestException:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the server did not start (see {log.name})")
                time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
