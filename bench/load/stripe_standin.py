"""localstripe for the harness: `python -m bench.load.stripe_standin --port P --state FILE`.

Stock localstripe pickles its whole store to /tmp/localstripe.pickle on *every* write: quadratic
over a load run (each PaymentIntent rewrites all earlier ones) and one file shared with every
other localstripe on the machine. Here the store is saved to the run's own file once, when the
process is stopped (SIGTERM/SIGINT), and loaded from it on start, so a "Stripe is down" fault can
stop it and start it again without losing the intents Stripe already holds.
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
    if state.exists():
        with state.open("rb") as fh:
            dict.update(store, pickle.load(fh))  # noqa: S301 - our own file from the previous start

    def save(*_: object) -> None:
        tmp = state.with_suffix(".tmp")
        with tmp.open("wb") as fh:
            pickle.dump(dict(store), fh, protocol=pickle.HIGHEST_PROTOCOL)
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
