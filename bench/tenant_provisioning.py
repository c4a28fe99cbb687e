"""Benchmark: provision N tenants by cloning the base schema; print seconds per tenant.

    DATABASE_URL=postgres://... .venv/bin/python -m bench.tenant_provisioning [-n 20]

Uses the database DATABASE_URL names (the local development one by default), makes sure the
base schema exists, creates `bench_<run>_<i>` tenants through the same service the admin and the
command use, and drops them again afterwards. Target: median <= 0.5 s per tenant.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--tenants", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="do not drop the tenants afterwards")
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.db import connection

    from apps.core.audit import system_actor
    from apps.tenants.models import Tenant
    from apps.tenants.services import base_schema_ensure, tenant_create

    with system_actor("bench:tenant_provisioning"):
        started = time.perf_counter()
        base_schema_ensure()
        print(f"base schema ready in {time.perf_counter() - started:.2f} s")

        run = uuid.uuid4().hex[:6]
        timings: list[float] = []
        created: list[Tenant] = []
        for i in range(args.tenants):
            t0 = time.perf_counter()
            tenant = tenant_create(name=f"Bench {run} {i}", schema_name=f"bench_{run}_{i}")
            timings.append(time.perf_counter() - t0)
            created.append(tenant)

        if not args.keep:
            for tenant in created:
                tenant.domains.all().delete()
                tenant.delete(force_drop=True)
            connection.set_schema_to_public()

    ordered = sorted(timings)
    p90 = ordered[max(0, int(len(ordered) * 0.9) - 1)]
    print(f"tenants created: {len(timings)} (cloned from {os.environ.get('TENANT_BASE_SCHEMA', 'tenant_base')})")
    print(f"median s/tenant: {statistics.median(timings):.3f}")
    print(f"p90 s/tenant:    {p90:.3f}")
    print(f"min / max:       {ordered[0]:.3f} / {ordered[-1]:.3f}")
    print(f"target <= 0.5 s: {'met' if statistics.median(timings) <= 0.5 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
