"""The load client of `bench.order_placement --client wrk`: wrk (C, one thread, N connections)
instead of Python threads, so the client costs the shared cores little, as when the framework's
ceiling was measured (PERF-FACTS). wrk is Debian's `wrk` package (`apt-get install wrk`).

Each phase is one wrk run with a generated Lua script: the requests rotate over the clients' tokens
(one user per connection's turn, so the per-principal rate limit is shared as with the Python
clients), orders get a fresh Idempotency-Key and two random pool variants besides the hot one, and
every status is counted in the script and printed by its `done()`. Requests still in flight when
wrk stops may commit without being counted: the caller checks the database against the count with
that margin (at most one per connection).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

# The counters live in the (single) thread's Lua state; done() reads them through setup()'s handle.
_REPORT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
counts = {}
function response(status, headers, body) counts[status] = (counts[status] or 0) + 1 end
function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("counts")) do io.write(string.format("STATUS %d %d\\n", status, n)) end
  end
  io.write(string.format("LATENCY %d %d %d %d\\n", latency:percentile(50), latency:percentile(90),
                         latency:percentile(99), latency.max))
  io.write(string.format("SUMMARY %d %d %d\\n", summary.requests, summary.duration,
                         summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


@dataclass
class WrkResult:
    seconds: float
    requests: int
    statuses: dict[int, int] = field(default_factory=dict)
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    socket_errors: int = 0

    def count(self, status: int) -> int:
        return self.statuses.get(status, 0)

    def per_second(self, status: int = 200) -> float:
        return self.count(status) / self.seconds if self.seconds else 0.0


def available() -> str | None:
    return shutil.which("wrk")


def _lua_list(values: list) -> str:
    return "{" + ", ".join(json.dumps(v) for v in values) + "}"


def _run(script: str, url: str, *, connections: int, seconds: float) -> WrkResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-wrk-", delete=False) as handle:
        handle.write(script + _REPORT)
    try:
        command = [available() or "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-s", handle.name]
        out = subprocess.run(  # noqa: S603 - fixed argv: wrk, its options and our script
            [*command, url], capture_output=True, text=True, timeout=seconds + 120, check=False
        )
    finally:
        Path(handle.name).unlink(missing_ok=True)
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr.strip()[:300]}")
    result = WrkResult(seconds=0.0, requests=0)
    for status, n in re.findall(r"^STATUS (\d+) (\d+)$", out.stdout, re.M):
        result.statuses[int(status)] = int(n)
    if match := re.search(r"^LATENCY (\d+) (\d+) (\d+) (\d+)$", out.stdout, re.M):
        result.p50_ms, result.p90_ms, result.p99_ms, result.max_ms = (int(v) / 1000 for v in match.groups())
    if match := re.search(r"^SUMMARY (\d+) (\d+) (\d+)$", out.stdout, re.M):
        result.requests, duration_us, result.socket_errors = (int(v) for v in match.groups())
        result.seconds = duration_us / 1e6
    return result


def orders(
    base: str,
    *,
    host: str,
    tokens: list[str],
    location_id: int,
    hot_sku: str,
    pool_skus: list[str],
    connections: int,
    seconds: float,
    seed: int,
) -> WrkResult:
    script = f"""
local tokens = {_lua_list(tokens)}
local pool = {_lua_list(pool_skus)}
local n = 0
math.randomseed({seed})
request = function()
  n = n + 1
  local a = math.random(#pool)
  local b = math.random(#pool - 1)
  if b >= a then b = b + 1 end
  local body = '{{"fulfilment":"pickup","location_id":{location_id},"lines":[' ..
    '{{"sku":{json.dumps(hot_sku)},"quantity":1}},' ..
    '{{"sku":"' .. pool[a] .. '","quantity":1}},{{"sku":"' .. pool[b] .. '","quantity":1}}]}}'
  return wrk.format("POST", "/api/v1/orders", {{
    ["Host"] = {json.dumps(host)},
    ["Authorization"] = "Bearer " .. tokens[(n % #tokens) + 1],
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("wrk-{seed}-%d-%d", n, math.random(1000000000)),
  }}, body)
end
"""
    return _run(script, base, connections=connections, seconds=seconds)


def reads(base: str, *, host: str, tokens: list[str], order_ids: list[int], connections: int, seconds: float):
    """Each token reads its own order (GET /api/v1/orders/{id}), in turn."""
    script = f"""
local tokens = {_lua_list(tokens)}
local ids = {_lua_list(order_ids)}
local n = 0
request = function()
  n = n + 1
  local i = (n % #tokens) + 1
  return wrk.format("GET", "/api/v1/orders/" .. ids[i], {{
    ["Host"] = {json.dumps(host)}, ["Authorization"] = "Bearer " .. tokens[i],
  }})
end
"""
    return _run(script, base, connections=connections, seconds=seconds)


def get(url: str, *, connections: int, seconds: float) -> WrkResult:
    return _run("", url, connections=connections, seconds=seconds)
