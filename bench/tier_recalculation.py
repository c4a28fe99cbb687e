"""Benchmark: the loyalty nightly recalculation over 1,000,000 accounts and 10,000,000 ledger rows.

    DATABASE_URL=postgres://... .venv/bin/python -m bench.tier_recalculation [--accounts 1000000]
        [--entries-per-account 10] [--scenario nightly|backlog] [--keep] [--seed-only]

Scenarios: `nightly` (default) is an ordinary night: yesterday's run finished, so tonight has one
day's approvals (~3 % of accounts), the batches that expire today, today's anniversaries and
warnings, and a Monday's week close. `backlog` is the first run ever over two years of history:
every batch older than 12 months expires (~99 % of accounts), five days of approvals (~17 %),
a month of anniversaries, streaks up to five weeks stale.

Creates a `bench_loy_<run>` tenant (cloned from the base schema) and fills it with COPY (psycopg 3
`cursor.copy`, never the ORM), in a child process so the figures below are the recalculation's
own: 1M customers and their accounts (tiers spread over scoops/silver/gold/diamond, anniversaries
from a month ago to a year ahead, streaks to close) and 10 ledger rows per account — posted
earnings of the last 24 months (the older ones past their 12-month expiry), one bonus, one
redemption, one pending earning (about a seventh of them past their return window). The
balance and pending columns are seeded equal to the ledger's sums.

It then runs the whole nightly job once (`loyalty_nightly`: approve, tier upgrades, expiry,
anniversaries, warnings, referrals, week close), printing each step's seconds, the total,
ledger rows per second and the process's peak RSS, checks that every account still equals its
ledger, runs the job a second time (the run marker makes it a no-op) and drops the tenant
unless --keep. Target: <= 60 s for the recalculation on the 2-core machine.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing as mp
import resource
import sys
import time
import uuid

from bench._common import django_setup

ACTOR = "bench:tier_recalculation"
DAY = 86_400
TIERS = ("scoops", "silver", "gold", "diamond")


def _ts(epoch: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S+00")


def _copy(cursor: object, table: str, columns: list[str], rows: object, chunk: int = 200_000) -> int:
    """COPY the text rows (an iterator of tab-separated lines) in chunks; returns the row count."""
    n = 0
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        buffer = io.StringIO()
        for line in rows:
            buffer.write(line)
            n += 1
            if n % chunk == 0:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())
    return n


def _drop_secondary(cursor: object, table: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Drop the table's non-primary indexes and its foreign keys (re-created after the load)."""
    cursor.execute(
        """SELECT i.indexname, i.indexdef FROM pg_indexes i
           WHERE i.schemaname = current_schema() AND i.tablename = %s
             AND i.indexname NOT IN (SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'))""",
        [table],
    )
    indexes = cursor.fetchall()
    cursor.execute(
        """SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
           WHERE conrelid = (current_schema() || '.' || %s)::regclass AND contype = 'f'""",
        [table],
    )
    fks = cursor.fetchall()
    for name, _ in fks:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    return [definition for _, definition in indexes], fks


def _restore(cursor: object, table: str, indexes: list[str], fks: list[tuple[str, str]]) -> None:
    for definition in indexes:
        cursor.execute(definition)
    for name, definition in fks:
        cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def seed(schema_name: str, accounts: int, per_account: int, now_epoch: float, steady: bool) -> None:
    """Child process: fill the bench tenant with COPY."""
    django_setup()
    from django.db import connection, transaction
    from django_tenants.utils import schema_context

    t0 = time.perf_counter()
    current_monday = now_epoch - ((now_epoch // DAY + 3) % 7) * DAY  # 1970-01-01 was a Thursday
    days = {d: _ts(now_epoch - d * DAY) for d in range(-400, 800)}
    dates = {w: _ts(current_monday - w * 7 * DAY)[:10] for w in range(0, 6)}
    stamp = _ts(now_epoch - 800 * DAY)
    with schema_context(schema_name):
        from apps.loyalty.services import storage_ensure

        storage_ensure()  # what the tenant's first nightly run does (a cloned schema lacks it)
    with schema_context(schema_name), transaction.atomic(), connection.cursor() as wrapper:
        cursor = wrapper.cursor  # the psycopg 3 cursor
        saved = {t: _drop_secondary(cursor, t) for t in ("loyalty_ledgerentry", "loyalty_account")}

        def users():
            for i in range(1, accounts + 1):
                yield f"{i}\t!\tf\tretail\tbench{i}@example.com\tBench {i}\t\tf\tf\t0\tt\t{stamp}\n"

        n_users = _copy(
            cursor,
            "accounts_user",
            [
                "id",
                "password",
                "is_superuser",
                "kind",
                "email",
                "full_name",
                "phone",
                "marketing_consent",
                "is_staff",
                "session_epoch",
                "is_active",
                "date_joined",
            ],
            users(),
        )
        cursor.execute("SELECT setval(pg_get_serial_sequence('accounts_user', 'id'), %s)", [accounts])

        balances, pendings = [0] * (accounts + 1), [0] * (accounts + 1)
        # + one bonus, one redemption, one reversal, one pending earning (+ steady: last nights' expiry)
        earned_posts = per_account - (5 if steady else 4)

        def entries():
            for a in range(1, accounts + 1):
                total = expired_before = 0
                for k in range(earned_posts):
                    d = (a * 7919 + k * 104_729) % 730  # posted d days ago, over two years
                    points = 10 + (a * 31 + k * 17) % 490
                    total += points
                    if d >= 366:  # its batch expired before last night's run
                        expired_before += points
                    yield (
                        f"{a}\tearned\tposted\t{points}\t{points}\t0\t\\N\torder\t\tbench\tbench\t\\N\t"
                        f"{days[d - 365]}\t{days[d + 30]}\t{days[d]}\n"
                    )
                bonus_day = (a * 13) % 500
                total += 50
                yield (
                    f"{a}\tbonus\tposted\t50\t0\t0\t\\N\tachievement\t\tbench\tbench\t\\N\t"
                    f"{days[bonus_day - 365]}\t{days[bonus_day]}\t{days[bonus_day]}\n"
                )
                spent = total * ((a % 4) * 10) // 100
                total -= spent
                rd = (a * 3) % 200
                at = days[rd]
                yield f"{a}\tredeemed\tposted\t{-spent}\t0\t0\t\\N\tcheckout\t\tbench\tbench\t\\N\t\\N\t{at}\t{at}\n"
                taken = min(total, 5 + a % 20)
                total -= taken
                yield f"{a}\treversed\tposted\t{-taken}\t{-taken}\t0\t\\N\trefund\t\tbench\tbench\t\\N\t\\N\t{at}\t{at}\n"  # noqa: E501
                if steady:  # what the earlier nights expired (oldest first), so tonight finds only its own
                    gone = max(0, expired_before - spent - taken)
                    total -= gone
                    yield f"{a}\texpired\tposted\t{-gone}\t0\t0\t\\N\texpiry\t\tbench\tbench\t\\N\t\\N\t{days[1]}\t{days[1]}\n"  # noqa: E501
                pending = 20 + a % 300
                # backlog: due for 6 of 35 days' worth (about a seventh); steady: one day's worth.
                available = (a * 11) % 35 if steady else (a * 11) % 35 - 5
                yield (
                    f"{a}\tearned\tpending\t{pending}\t{pending}\t0\t\\N\torder\t\tbench\tbench\t"
                    f"{days[-available]}\t\\N\t{days[30 - available]}\t\\N\n"
                )
                balances[a], pendings[a] = total, pending

        n_entries = _copy(
            cursor,
            "loyalty_ledgerentry",
            [
                "account_id",
                "kind",
                "state",
                "points",
                "qualifying",
                "debt_change",
                "order_id",
                "source",
                "reference",
                "reason",
                "created_by",
                "available_at",
                "expires_at",
                "created_at",
                "posted_at",
            ],
            entries(),
        )

        def account_rows():
            for a in range(1, accounts + 1):
                r = (a * 2_654_435_761) % 100
                tier = "scoops" if r < 70 else "silver" if r < 90 else "gold" if r < 98 else "diamond"
                warned = "\\N"
                if steady:  # anniversaries from tonight to a year ahead; those within 30 days warned before
                    ahead = (a * 7) % 365
                    hold, reached = days[-ahead], days[365 - ahead]
                    warned = stamp if 1 <= ahead <= 29 else "\\N"
                    week = 2 if a % 10 == 0 else a % 2  # a Monday: a tenth missed last week
                else:  # backlog: anniversaries from a month ago to a year ahead, streaks up to 5 weeks stale
                    hold, reached = days[-((a * 7) % 395) + 30], days[(a * 7) % 395 + 335]
                    week = (a * 5) % 6
                if tier == "scoops":
                    hold = reached = warned = "\\N"
                streak = 0 if a % 3 == 0 else 1 + a % 20
                yield (
                    f"{a}\t{a}\t{balances[a]}\t{pendings[a]}\t0\t{tier}\t{reached}\t{hold}\t{warned}\tbench{a:016d}\t{stamp}\t"
                    f"{streak}\t{streak}\t\\N\t{dates[week]}\t{'t' if a % 2 else 'f'}\t\\N\t{stamp}\n"
                )

        n_accounts = _copy(
            cursor,
            "loyalty_account",
            [
                "id",
                "user_id",
                "balance",
                "pending",
                "debt",
                "tier",
                "tier_reached_at",
                "tier_hold_until",
                "tier_warned_at",
                "share_token",
                "share_token_created_at",
                "streak_current",
                "streak_best",
                "streak_start_week",
                "streak_last_week",
                "streak_grace_available",
                "streak_grace_used_week",
                "created_at",
            ],
            account_rows(),
        )
        cursor.execute("SELECT setval(pg_get_serial_sequence('loyalty_account', 'id'), %s)", [accounts])
        if steady:  # last night's run, finished
            cursor.execute(
                "INSERT INTO loyalty_nightlyrun (run_date, as_of, steps_done, counts, started_at, finished_at) "
                "VALUES (%s::timestamptz::date, %s, '[]', '{}', %s, %s)",
                [days[1], days[1], days[1], days[1]],
            )
        copied = time.perf_counter() - t0
        for table, (indexes, fks) in saved.items():
            _restore(cursor, table, indexes, fks)
        cursor.execute("ANALYZE accounts_user")
        cursor.execute("ANALYZE loyalty_account")
        cursor.execute("ANALYZE loyalty_ledgerentry")
    print(
        f"seed: {n_users:,} users, {n_accounts:,} accounts, {n_entries:,} ledger rows by COPY in {copied:.1f} s, "
        f"indexes, keys and ANALYZE in {time.perf_counter() - t0 - copied:.1f} s",
        flush=True,
    )


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _mismatches() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*) FROM loyalty_account a LEFT JOIN (
                   SELECT account_id,
                       coalesce(sum(points) FILTER (WHERE state = 'posted'), 0) AS b,
                       coalesce(sum(points) FILTER (WHERE state = 'pending'), 0) AS p,
                       sum(debt_change) AS d
                   FROM loyalty_ledgerentry GROUP BY account_id) s ON s.account_id = a.id
               WHERE (a.balance, a.pending, a.debt) IS DISTINCT FROM
                     (coalesce(s.b, 0), coalesce(s.p, 0), coalesce(s.d, 0))
                  OR a.balance < 0"""
        )
        return cursor.fetchone()[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--entries-per-account", type=int, default=10, help="ledger rows per account (>= 5)")
    parser.add_argument("--keep", action="store_true", help="do not drop the bench tenant afterwards")
    parser.add_argument("--seed-only", action="store_true", help="seed and keep the tenant, do not run the job")
    parser.add_argument(
        "--scenario",
        choices=("nightly", "backlog"),
        default="nightly",
        help="nightly: yesterday's run finished, tonight's share of approvals, expiries and anniversaries; "
        "backlog: the first run ever over two years of history (every expired batch, 5 days of approvals)",
    )
    args = parser.parse_args()
    args.keep = args.keep or args.seed_only
    if args.entries_per_account < 5 or args.accounts < 1:
        parser.error("--entries-per-account must be >= 5 and --accounts >= 1")

    django_setup()
    from django.db import connection
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from apps.core.audit import system_actor
    from apps.loyalty import services
    from apps.tenants.services import base_schema_ensure, tenant_create

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    print(
        f"machine: Python {sys.version.split()[0]}, PostgreSQL {server}, database {connection.settings_dict['NAME']}"
    )
    ok = True
    with system_actor(ACTOR):
        base_schema_ensure()
        schema_name = f"bench_loy_{uuid.uuid4().hex[:8]}"
        tenant = tenant_create(name=f"Bench loyalty {schema_name[10:]}", schema_name=schema_name, timezone_name="UTC")
        connection.set_schema_to_public()
        try:
            now = timezone.now()
            child = mp.get_context("spawn").Process(
                target=seed,
                args=(
                    schema_name,
                    args.accounts,
                    args.entries_per_account,
                    now.timestamp(),
                    args.scenario == "nightly",
                ),
            )
            child.start()
            child.join()
            if child.exitcode != 0:
                print("seeding failed")
                return 1
            if args.seed_only:
                return 0
            rss_before = _peak_rss_mb()
            with tenant_context(tenant):
                timings: dict[str, float] = {}
                steps = list(services.NIGHTLY_STEPS)

                def timed(name, step):
                    def run(t):
                        t0 = time.perf_counter()
                        try:
                            return step(t)
                        finally:
                            timings[name] = time.perf_counter() - t0

                    return run

                services.NIGHTLY_STEPS[:] = [(name, timed(name, step)) for name, step in steps]
                services.programme()
                t0 = time.perf_counter()
                run = services.loyalty_nightly(now=now, force=True)
                elapsed = time.perf_counter() - t0
                services.NIGHTLY_STEPS[:] = steps
                rows = args.accounts * args.entries_per_account
                for name, seconds in timings.items():
                    print(f"  {name:<14} {seconds:7.2f} s   {run.counts.get(name, 0):>9,} rows changed")
                print(
                    f"recalculation ({args.scenario}): {elapsed:.2f} s for {args.accounts:,} accounts / "
                    f"{rows:,} ledger rows "
                    f"({rows / elapsed:,.0f} ledger rows/s); peak RSS {_peak_rss_mb():.0f} MB "
                    f"(before the run {rss_before:.0f} MB); target <= 60 s: {'met' if elapsed <= 60 else 'NOT met'}"
                )
                bad = _mismatches()
                print(f"check: accounts whose balance/pending/debt differ from their ledger: {bad}")
                t1 = time.perf_counter()
                again = services.loyalty_nightly(now=now, force=True)
                outcome = "no-op" if again is None else "RAN AGAIN"
                print(f"second run the same day: {outcome} in {time.perf_counter() - t1:.3f} s")
                ok = bad == 0 and again is None
        finally:
            connection.set_schema_to_public()
            if args.keep:
                print(f"kept tenant {schema_name}")
            else:
                tenant.domains.all().delete()
                tenant.delete(force_drop=True)
                connection.set_schema_to_public()
    print(f"result: {'all checks passed' if ok else 'CHECKS FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
