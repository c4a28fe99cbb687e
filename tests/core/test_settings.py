"""Production settings refuse to start without their secrets and turn on the secure options."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, "
    "s.SECURE_PROXY_SSL_HEADER[0], s.SECURE_SSL_REDIRECT, s.LOGGING['handlers']['console']['formatter'])"
)


def run(env_overrides: dict[str, str]) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS", "METRICS_TOKEN"}
    }
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings.production", **env_overrides})
    return subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_production_refuses_to_start_without_its_environment():
    result = run({})
    assert result.returncode != 0
    assert "SECRET_KEY, DATABASE_URL, REDIS_URL, ALLOWED_HOSTS, METRICS_TOKEN" in result.stderr


def test_production_refuses_a_short_secret_key():
    result = run(
        {
            "SECRET_KEY": "short",
            "DATABASE_URL": "postgres://db/x",
            "REDIS_URL": "redis://r:6379/0",
            "ALLOWED_HOSTS": ".example.com",
            "METRICS_TOKEN": "t",
        }
    )
    assert result.returncode != 0
    assert "at least 50 characters" in result.stderr


def test_production_turns_on_secure_cookies_hsts_and_proxy_settings():
    result = run(
        {
            "SECRET_KEY": "x" * 64,
            "DATABASE_URL": "postgres://db/x",
            "REDIS_URL": "redis://r:6379/0",
            "ALLOWED_HOSTS": ".example.com",
            "METRICS_TOKEN": "t",
        }
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "True", "31536000", "HTTP_X_FORWARDED_PROTO", "True", "json"]
