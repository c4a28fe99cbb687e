"""localstripe for the harness: `python -m bench.load.stripe_standin --port P --state FILE`.

Stock localstripe pickles its whole store to /tmp/localstripe.pickle on *every* write: quadratic
over a load run (each PaymentIntent rewrites all earlier ones) and one file shared with every
other localstripe on the machine. Here the store is saved to the run's own file once, when the
process is stopped (SIGTERM/SIGINT), and loaded from it on start, so a "Stripe is down" fault can
stop it and start it again without losing the intents Stripe already holds.

Stock localstripe also ignores `Idempotency-Key`; Stripe replays the first answer to a POST with the
same key (for 24 h). The platform relies on that (a PaymentIntent created with the order's key
whose answer was lost, e.g. the database restarted before the intent was saved, is the same one on
the retry), so this stand-in does it too: the first answer per (API key, Idempotency-Key) is kept
and replayed, across restarts.
"""

from __future__ import annotations

import argparse
import pickle
import signal
import socket
import sys
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state", required=True)
    args = parser.parse_args()
    state = Path(args.state)

    import localstripe.resources as resources
    from aiohttp import web
    from localstripe.server import app

    store = resources.store
    resources.Store.dump_to_disk = lambda self: None
    replies: dict[tuple[str, str], tuple[int, bytes]] = {}
    if state.exists():
        with state.open("rb") as fh:
            saved = pickle.load(fh)  # noqa: S301 - our own file from the previous start
        dict.update(store, saved["store"])
        replies.update(saved["replies"])

    @web.middleware
    async def idempotency(request: web.Request, handler):
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key:
            return await handler(request)
        scope = (request.headers.get("Authorization", ""), key)
        if scope in replies:
            status, body = replies[scope]
            return web.Response(status=status, body=body, content_type="application/json")
        response = await handler(request)
        if response.status < 500 and isinstance(response.body, bytes):
            replies[scope] = (response.status, response.body)
        return response

    app.middlewares.append(idempotency)

    def save(*_: object) -> None:
        tmp = state.with_suffix(".tmp")
        with tmp.open("wb") as fh:
            pickle.dump({"store": dict(store), "replies": replies}, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(state)
        sys.exit(0)

    signal.signal(signal.SIGTERM, save)
    signal.signal(signal.SIGINT, save)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    web.run_app(app, sock=sock, access_log=None, handle_signals=False, print=None)


if __name__ == "__main__":
    main()
