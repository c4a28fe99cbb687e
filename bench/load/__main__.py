"""Command line of the load and fault harness (see bench/load/__init__.py)."""

from __future__ import annotations

import argparse
import sys

from bench.load import faults


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description="Load and fault harness.")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--seconds", type=float, default=60, help="duration of the load (default 60)")
        p.add_argument("--users", type=int, default=20, help="locust users in all (default 20)")
        p.add_argument("--tenants", type=int, default=3, help="tenants (default 3)")
        p.add_argument("--database-url", help="an external, migrated database instead of the private cluster")
        p.add_argument("--redis-url", help="an external Redis instead of the private redis-server")
        p.add_argument("--pg-port", type=int, default=55432, help="port of the private PostgreSQL (default 55432)")
        p.add_argument(
            "--template-url",
            default="postgres://root@127.0.0.1:5432/fnb_load",
            help="a migrated database a new private cluster is restored from (then `release` runs)",
        )
        p.add_argument("--web-workers", type=int, default=2, help="WEB_CONCURRENCY (default 2)")
        p.add_argument("--web-threads", type=int, default=4, help="WEB_THREADS (default 4)")
        p.add_argument("--worker-concurrency", type=int, default=2, help="CELERY_CONCURRENCY (default 2)")
        p.add_argument("--drain", type=float, default=150, help="seconds to wait for the platform to drain")
        p.add_argument("--run-dir", help="where logs, CSVs and report.json go (default: a new temp dir)")
        p.add_argument("--keep", action="store_true", help="keep the tenants (and the run directory)")
        p.add_argument("--json", help="also write the report to this path")

    run = sub.add_parser("run", help="the realistic mix, no fault")
    common(run)
    fault = sub.add_parser("fault", help="the mix with one fault injected")
    fault.add_argument("name", choices=faults.NAMES)
    common(fault)
    sub.add_parser("list", help="the fault scenarios")
    args = parser.parse_args(argv)

    if args.command == "list":
        for name in faults.NAMES:
            f = faults.make(name, 60)
            print(f"{name:<18}{f.summary}")
        return 0
    chosen = faults.make(args.name, args.seconds) if args.command == "fault" else None
    if chosen and chosen.needs_private_redis and args.redis_url:
        parser.error(f"{chosen.name} restarts Redis: use the private one (no --redis-url)")
    if chosen and chosen.needs_private_postgres and args.database_url:
        parser.error(f"{chosen.name} restarts PostgreSQL: use the private cluster (no --database-url)")
    if args.users < 4 * args.tenants:
        parser.error("--users must be at least 4 x --tenants (staff, screen, partner and a shopper per tenant)")

    from bench.load.harness import Harness

    report = Harness(args, chosen).execute()
    if args.json:
        import json

        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=1, default=str)
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
