"""Load and fault harness: the whole platform under a realistic multi-tenant mix and under failures.

    .venv/bin/python -m bench.load run --seconds 60 --users 20 --tenants 3
    .venv/bin/python -m bench.load fault worker-kill --seconds 60
    .venv/bin/python -m bench.load list                       # the fault scenarios

What one run does (bench/load/harness.py):

1. Services of its own, so that breaking them breaks nothing else on the machine: a private
   PostgreSQL cluster (initdb with /usr/lib/postgresql/*/bin into /tmp/fnb-load/pg-<port>, port
   55432, run as `nobody` when root; restored once from the migrated `fnb_load` database on
   127.0.0.1:5432 and brought up to date by `manage.py release`), a private `redis-server` on a
   free port, the Stripe stand-in (localstripe, bench/load/stripe_standin.py) on a free port, and
   the webhook receiver (bench/load/receiver.py). `--database-url` / `--redis-url` use external
   ones instead (the test suite's smoke does; the PostgreSQL and Redis faults need the private ones).
2. The platform's processes exactly as the Procfile starts them — web (gunicorn gthread), stream
   (gunicorn + uvicorn worker), worker (celery prefork), beat (database scheduler) — with
   `config.settings.production` (bench/load/stack.py). Only the webhook retry and lease timings
   are compressed (stack.HARNESS_SETTINGS) so minutes of load see hours of retries.
3. `--tenants` premium tenants cloned from the base schema, each tagged in every name and SKU
   (bench/load/seed.py): catalogue with reviews, a store with pickup and curbside, a warehouse,
   stock with one scarce variant that sells out, customers with points, a store manager, a
   partner API key, a webhook endpoint at the receiver.
4. locust, headless, for `--seconds` with `--users` (bench/load/locustfile.py): shoppers (browse,
   search, product detail with reviews, prices, cart quotes, loyalty, orders with payment and
   Stripe's webhook, curbside arrivals), staff moving orders, store screens holding the curbside
   stream open, partners bulk-syncing stock and reading the changes feed. A fault
   (bench/load/faults.py) is injected while it runs.
5. Stripe's guarantees played out (dropped webhooks sent again, every succeeded intent notified),
   then the platform is left to drain on its own (relay, worker, beat), then the invariants are
   checked (bench/load/invariants.py) over every tenant schema, the receiver's records and
   localstripe's state.
6. Throughput, p50/p95/p99 per endpoint, errors by status, the stream's arrival-to-screen time and
   the invariants are printed; `report.json`, locust's CSVs and every process's log stay in the
   run directory. The tenants are dropped (unless `--keep`). Exit status 0 when everything held.

Figures and what each fault showed: docs/performance.md. The one-minute smoke (short load plus a
worker SIGKILL) is tests/load/test_smoke.py.
"""
