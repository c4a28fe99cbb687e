"""The platform's processes, started the way production runs them, and the services under them.

`Stack` owns every process of one harness run:

* PostgreSQL: a private cluster (initdb with the machine's /usr/lib/postgresql/*/bin, its own
  port on 127.0.0.1, run as `nobody` when we are root, data kept under /tmp/fnb-load/pg-<port> so
  it is migrated once) — or an external database given by URL (no PostgreSQL fault then);
* Redis: a private `redis-server` on its own port (append-only file, as a production Redis) — or an
  external URL;
* localstripe on its own port (bench/load/stripe_standin.py: its state in the run directory);
* web, stream, worker, beat: the Procfile's command lines, with `config.settings.production`;
* the webhook receiver (bench/load/receiver.py), in this process.

Each process can be stopped, killed (any signal) and started again by name, which is what the
fault scenarios do. Logs go to files in the run directory.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# Throw-away values for the harness's own processes (not secrets: nothing outside the run uses them).
SECRET_KEY = "load-harness-secret-key-not-a-secret-but-at-least-fifty-characters-long"  # noqa: S105
STRIPE_KEY = "sk_test_" + "loadharness" * 3
WEBHOOK_SECRET = "whsec_load_harness"  # noqa: S105
METRICS_TOKEN = "load-harness-metrics"  # noqa: S105

# The harness compresses the platform's clock for retries and leases so that a run of minutes
# sees what production sees in hours; every other setting is production's.
HARNESS_SETTINGS = {
    "WEBHOOK_TIMEOUT_SECONDS": "3",
    "WEBHOOK_LEASE_SECONDS": "8",
    "WEBHOOK_RETRY_BASE_SECONDS": "1",
    "WEBHOOK_RETRY_MAX_SECONDS": "8",
    "WEBHOOK_MAX_ATTEMPTS": "60",
    "IDEMPOTENCY_LOCK_TIMEOUT_SECONDS": "30",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        socket.create_connection((host, port), timeout=0.3).close()
        return True
    except OSError:
        return False


def wait_for(predicate, timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except Exception:  # noqa: S110 - a probe that fails is a "not yet"
            pass
        time.sleep(step)
    return False


# ---------------------------------------------------------------------------------------------
# PostgreSQL


class PrivatePostgres:
    """A cluster of our own: restarting it affects this harness only."""

    def __init__(self, port: int, data: Path | None = None) -> None:
        versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not versions:
            raise RuntimeError("no /usr/lib/postgresql/*/bin/initdb on this machine: pass --database-url")
        self.bin = Path(versions[-1]).parent
        self.port = port
        self.data = data or Path(f"/tmp/fnb-load/pg-{port}")  # noqa: S108 - must be reachable by `nobody`
        self.owner = pwd.getpwnam("nobody") if os.geteuid() == 0 else None
        self.log = self.data.parent / f"pg-{port}.log"

    def url(self, dbname: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        kw: dict = {}
        if self.owner:
            kw.update(user=self.owner.pw_uid, group=self.owner.pw_gid, extra_groups=[], cwd="/")
        res = subprocess.run([str(self.bin / args[0]), *args[1:]], capture_output=True, text=True, **kw)  # noqa: S603
        if check and res.returncode:
            raise RuntimeError(f"{args[0]} failed: {res.stdout}{res.stderr}")
        return res

    def initialised(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def init(self) -> None:
        self.data.parent.mkdir(parents=True, exist_ok=True)
        self.data.parent.chmod(0o777)
        self.data.mkdir(mode=0o700, exist_ok=True)
        if self.owner:
            os.chown(self.data, self.owner.pw_uid, self.owner.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-locale")

    def start(self) -> None:
        if not self.initialised():
            self.init()
        if self.running():
            return
        # Production's durability (fsync, synchronous commit): the restart fault kills it like a
        # crash, and a commit the client was told about must survive that.
        opts = f"-p {self.port} -h 127.0.0.1 -k /tmp -c max_connections=120"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", opts, "start")

    def running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    def stop(self, mode: str = "fast") -> None:
        """`fast`: clean shutdown (clients disconnected); `immediate`: like a crash (recovery on start)."""
        if self.running():
            self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", check=False)

    def ensure_database(self, dbname: str) -> bool:
        """Create the database if missing; True if it was created (it then needs migrating)."""
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            if conn.execute("select 1 from pg_database where datname = %s", [dbname]).fetchone():
                return False
            conn.execute(f'create database "{dbname}"')
            return True


# ---------------------------------------------------------------------------------------------
# Processes


@dataclass
class Proc:
    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    ready: object = None  # a callable: True once the process serves
    popen: subprocess.Popen | None = None
    starts: int = 0
    history: list[tuple[float, str]] = field(default_factory=list)

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


class Stack:
    """Everything one run needs; `start()` brings it all up, `close()` takes it all down."""

    def __init__(
        self,
        run_dir: Path,
        *,
        database_url: str | None = None,
        redis_url: str | None = None,
        pg_port: int = 55432,
        web_workers: int = 2,
        web_threads: int = 4,
        worker_concurrency: int = 2,
        receiver=None,
    ) -> None:
        self.run_dir = run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        self.pg = None if database_url else PrivatePostgres(pg_port)
        self.database_url = database_url or self.pg.url("fnb_load")
        self.redis_port = None if redis_url else free_port()
        self.redis_url = redis_url or f"redis://127.0.0.1:{self.redis_port}/0"
        self.redis_proc: subprocess.Popen | None = None
        self.web_port, self.stream_port, self.stripe_port = free_port(), free_port(), free_port()
        self.web_workers, self.web_threads, self.worker_concurrency = web_workers, web_threads, worker_concurrency
        self.receiver = receiver
        self.procs: dict[str, Proc] = {}
        self.events: list[tuple[float, str]] = []  # (time, what happened) for the report

    # ------------------------------------------------------------------ environment

    @property
    def stripe_base(self) -> str:
        return f"http://127.0.0.1:{self.stripe_port}"

    @property
    def web_base(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def stream_base(self) -> str:
        return f"http://127.0.0.1:{self.stream_port}"

    def env(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "FNB_", "TEST_REDIS"))}
        return base | {
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(ROOT),
            "PYTHONWARNINGS": "ignore",
            "SECRET_KEY": SECRET_KEY,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "ALLOWED_HOSTS": "*",
            "METRICS_TOKEN": METRICS_TOKEN,
            "SECURE_SSL_REDIRECT": "false",  # no TLS proxy in front here
            "LOG_LEVEL": "WARNING",
            "STRIPE_API_BASE": self.stripe_base,
            "STRIPE_TEST_SECRET_KEY": STRIPE_KEY,
            "DJSTRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "WEBHOOK_REQUIRE_HTTPS": "false",
            "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
            "STREAM_PORT": str(self.stream_port),
            "STREAM_LIFETIME_SECONDS": "30",
            "CURBSIDE_STREAM_SECONDS": "30",
            "STREAM_HEARTBEAT_SECONDS": "5",
            **HARNESS_SETTINGS,
        }

    # ------------------------------------------------------------------ definitions

    def _define(self) -> None:
        env = self.env()
        gunicorn = [str(BIN / "gunicorn")]
        celery = [str(BIN / "celery"), "-A", "config"]
        self.procs = {
            "stripe": Proc(
                "stripe",
                [
                    sys.executable,
                    "-m",
                    "bench.load.stripe_standin",
                    "--port",
                    str(self.stripe_port),
                    "--state",
                    str(self.run_dir / "stripe.pickle"),
                ],
                env,
                self.run_dir / "localstripe.log",
                ready=lambda: port_open(self.stripe_port),
            ),
            # Procfile `web` (gthread, WEB_CONCURRENCY x WEB_THREADS, timeout 30)
            "web": Proc(
                "web",
                [
                    *gunicorn,
                    "config.wsgi:application",
                    "--bind",
                    f"127.0.0.1:{self.web_port}",
                    "--workers",
                    str(self.web_workers),
                    "--threads",
                    str(self.web_threads),
                    "--worker-class",
                    "gthread",
                    "--timeout",
                    "30",
                    "--no-control-socket",
                    "--access-logfile",
                    str(self.run_dir / "web-access.log"),
                ],
                env,
                self.run_dir / "web.log",
                ready=lambda: self._http_ok(f"{self.web_base}/health/live"),
            ),
            # Procfile `stream` (uvicorn worker under gunicorn)
            "stream": Proc(
                "stream",
                [
                    *gunicorn,
                    "config.asgi:application",
                    "--bind",
                    f"127.0.0.1:{self.stream_port}",
                    "--workers",
                    "1",
                    "--worker-class",
                    "uvicorn_worker.UvicornWorker",
                    "--timeout",
                    "30",
                    "--graceful-timeout",
                    "10",
                    "--no-control-socket",
                ],
                env,
                self.run_dir / "stream.log",
                ready=lambda: port_open(self.stream_port),
            ),
            # Procfile `worker` (prefork)
            "worker": Proc(
                "worker",
                [*celery, "worker", "--loglevel=WARNING", f"--concurrency={self.worker_concurrency}"],
                env,
                self.run_dir / "worker.log",
            ),
            # Procfile `beat` (database scheduler)
            "beat": Proc(
                "beat",
                [
                    *celery,
                    "beat",
                    "--loglevel=WARNING",
                    "--scheduler",
                    "django_celery_beat.schedulers:DatabaseScheduler",
                    "--pidfile=",
                ],
                env,
                self.run_dir / "beat.log",
            ),
        }

    @staticmethod
    def _http_ok(url: str) -> bool:
        import requests

        return requests.get(url, timeout=2).status_code == 200

    # ------------------------------------------------------------------ services

    def redis_start(self) -> None:
        if self.redis_port is None:
            return
        data = self.run_dir / "redis"
        data.mkdir(exist_ok=True)
        argv = [
            shutil.which("redis-server") or "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.redis_port),
            "--dir",
            str(data),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
        ]
        log = (self.run_dir / "redis.log").open("ab")
        self.redis_proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # noqa: S603
        if not wait_for(lambda: _redis_ping(self.redis_port), 15):
            raise RuntimeError("private redis-server did not start")
        self.note("redis up")

    def redis_kill(self, sig: int = signal.SIGKILL) -> None:
        if self.redis_proc is not None and self.redis_proc.poll() is None:
            self.redis_proc.send_signal(sig)
            self.redis_proc.wait(20)
            self.note(f"redis {signal.Signals(sig).name}")

    def postgres_start(self) -> bool:
        """Start the private cluster; True if the harness database was created (needs migrating)."""
        if self.pg is None:
            return False
        self.pg.start()
        self.note("postgres up")
        return self.pg.ensure_database("fnb_load")

    # ------------------------------------------------------------------ processes

    def start(self, name: str) -> None:
        proc = self.procs[name]
        if proc.alive():
            return
        log = proc.log.open("ab")
        # Fixed argv of our own, no shell; own session so a signal reaches the whole process tree.
        proc.popen = subprocess.Popen(  # noqa: S603
            proc.argv, cwd=ROOT, env=proc.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        proc.starts += 1
        self.note(f"{name} started (pid {proc.popen.pid})")

    def wait_ready(self, name: str, timeout: float = 90) -> None:
        proc = self.procs[name]
        if proc.ready is None:
            return
        if not wait_for(lambda: proc.ready() or not proc.alive(), timeout, 0.2) or not proc.alive():
            tail = proc.log.read_text(errors="replace")[-3000:] if proc.log.exists() else ""
            raise RuntimeError(f"{name} did not become ready:\n{tail}")

    def kill(self, name: str, sig: int = signal.SIGKILL, *, group: bool = True) -> None:
        """Signal the process (and with `group`, its children: a SIGKILLed celery master's
        children would otherwise live on)."""
        proc = self.procs[name]
        if not proc.alive():
            return
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(proc.popen.pid, sig)
            else:
                proc.popen.send_signal(sig)
        try:
            proc.popen.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.popen.pid, signal.SIGKILL)
            proc.popen.wait(10)
        self.note(f"{name} {signal.Signals(sig).name}")

    def stop(self, name: str) -> None:
        self.kill(name, signal.SIGTERM)

    def note(self, what: str) -> None:
        self.events.append((time.time(), what))

    def up(self, names=("stripe", "web", "stream", "worker", "beat")) -> None:
        if not self.procs:
            self._define()
        for name in names:
            self.start(name)
        for name in names:
            self.wait_ready(name)

    def close(self) -> None:
        for name in reversed(list(self.procs)):
            with contextlib.suppress(Exception):
                self.stop(name)
        if self.redis_proc is not None:
            with contextlib.suppress(Exception):
                self.redis_kill(signal.SIGTERM)
        if self.pg is not None:
            with contextlib.suppress(Exception):
                self.pg.stop()


def _redis_ping(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(64).startswith(b"+PONG")


def redis_db_url(url: str, db: int) -> str:
    parts = urlsplit(url)
    return parts._replace(path=f"/{db}").geturl()
