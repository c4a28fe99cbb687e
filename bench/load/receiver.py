"""The webhook receiver of every tenant's endpoint: records each delivery and dedupes by id.

One threaded HTTP server; each endpoint posts to its own path (`/<schema>/<n>`). Every request is
recorded (path, `webhook-id`, when, what we answered); `accepted` holds, per path, the ids that
were answered 2xx at least once — what a receiver that dedupes by id has processed. The signature
is checked with `standardwebhooks` (a receiver must), against the secret registered per path.

`mode` switches the answer for every path at once: `ok` (200), `error` (500), `hang` (no answer
for `hang_seconds`, then the connection is dropped unprocessed — the platform's timeout fires long
before). `delay` makes every answer slow (a receiver that takes its time).
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self) -> None:
        self.mode = "ok"
        self.hang_seconds = 60.0
        self.delay = 0.0  # seconds before every answer (a slow receiver)
        self.lock = threading.Lock()
        self.secrets: dict[str, str] = {}
        self.requests = 0
        self.answered: Counter = Counter()  # status -> count
        self.bad_signatures = 0
        self.accepted: dict[str, dict[str, float]] = defaultdict(dict)  # path -> id -> first accepted at
        self.seen: dict[str, Counter] = defaultdict(Counter)  # path -> id -> requests
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.handle(self, body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        path = handler.path
        msg_id = handler.headers.get("webhook-id", "")
        mode = self.mode
        with self.lock:
            self.requests += 1
            self.seen[path][msg_id] += 1
        if mode == "hang":  # the sender gives up long before; what arrives while hanging is never processed
            time.sleep(self.hang_seconds)
            with self.lock:
                self.answered["hung"] += 1
            return
        if self.delay:
            time.sleep(self.delay)
        status = 500 if mode == "error" else 200
        secret = self.secrets.get(path)
        if status == 200 and secret:
            from standardwebhooks import Webhook

            try:
                Webhook(secret).verify(body, {k.lower(): v for k, v in handler.headers.items()})
            except Exception:
                status = 400
        with self.lock:
            self.answered[status] += 1
            if status == 400:
                self.bad_signatures += 1
            if status == 200:
                self.accepted[path].setdefault(msg_id, time.time())
        try:
            handler.send_response(status)
            handler.send_header("Content-Length", "2")
            handler.end_headers()
            handler.wfile.write(b"ok")
        except OSError:
            pass

    def snapshot(self) -> dict:
        with self.lock:
            return {
                "requests": self.requests,
                "answered": dict(self.answered),
                "bad_signatures": self.bad_signatures,
                "accepted": {path: dict(ids) for path, ids in self.accepted.items()},
                "redelivered": sum(n - 1 for ids in self.seen.values() for n in ids.values() if n > 1),
            }
