"""Authentication overhead: requests/s of `GET /api/v1/me` against `GET /health/live`.

Starts ONE uvicorn process of the app (`python -m course_supporter serve`) on a migrated
database, creates a tenant and a key whose limits cannot trip, and drives it from a load
generator in another process (asyncio, raw keep-alive HTTP/1.1 connections: cheap enough that
the server, not the client, is the bottleneck). Each path is measured for a fixed time after a
warm-up, interleaved over several rounds to even out noise, on SQLite and on PostgreSQL (a
throwaway `cs_bench_<hex>` database, dropped afterwards).

    .venv/bin/python benchmarks/auth_overhead.py [--backends sqlite,postgres]
        [--postgres-url postgresql://postgres@127.0.0.1:5432/postgres] [--redis-url URL]
        [--duration 5] [--warmup 1] [--rounds 4] [--connections 16]

The target is a ratio (me / live) of at least 0.8; the exit status is 1 below it with
`--check`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from http_load import (
    DEFAULT_POSTGRES_URL,
    LIVE,
    ME,
    LoadResult,
    measure,
    postgres_database,
    running_server,
)

TARGET_RATIO = 0.8


# --- load generator (runs in its own process) ------------------------------------------------


# --- the benchmark ------------------------------------------------------------------------------


def bench_backend(label: str, database_url: str, options: argparse.Namespace) -> float:
    workdir = Path(tempfile.mkdtemp(prefix="cs_bench_"))
    try:
        with running_server(database_url, options.redis_url, workdir) as (server, port, key, _):
            totals: dict[str, list[LoadResult]] = {LIVE: [], ME: []}
            for round_number in range(1, options.rounds + 1):
                for path, headers in ((LIVE, {}), (ME, {"X-API-Key": key})):
                    result = measure(server, port, path, headers, options)
                    totals[path].append(result)
                    print(
                        f"  {label:<8} round {round_number}  {path:<13} {result.rps:8.1f} req/s"
                        f"  server CPU {result.cpu_us_per_request:6.0f} us/request"
                        + (f"  non-200: {result.statuses}" if result.errors else ""),
                        flush=True,
                    )
        rates, cpu = {}, {}
        for path, results in totals.items():
            requests = sum(r.requests + r.errors for r in results)
            rates[path] = sum(r.requests for r in results) / sum(r.seconds for r in results)
            cpu[path] = sum(r.server_cpu for r in results) / max(1, requests) * 1e6
        errors = sum(r.errors for results in totals.values() for r in results)
        ratio = rates[ME] / rates[LIVE]
        cpu_ratio = cpu[LIVE] / cpu[ME]
        verdict = "ok" if ratio >= TARGET_RATIO else f"below target {TARGET_RATIO}"
        print(
            f"{label:<8} {LIVE} {rates[LIVE]:8.1f} req/s  {ME} {rates[ME]:8.1f} req/s  "
            f"ratio {ratio:.2f} ({verdict})\n"
            f"{'':<8} server CPU per request: {LIVE} {cpu[LIVE]:.0f} us, {ME} {cpu[ME]:.0f} us, "
            f"ratio {cpu_ratio:.2f} (throughput a CPU-bound server would reach)",
            flush=True,
        )
        if errors:
            raise RuntimeError(f"{errors} non-200 responses during the {label} run")
        return ratio
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    )
    parser.add_argument("--redis-url", default=None, help="Share limits through Redis")
    parser.add_argument("--duration", type=float, default=5.0, help="Seconds measured per run")
    parser.add_argument("--warmup", type=float, default=1.0, help="Seconds discarded first")
    parser.add_argument("--rounds", type=int, default=4, help="Interleaved rounds per path")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--check", action="store_true", help="Exit 1 when a ratio is < 0.8")
    options = parser.parse_args()

    print(
        f"{options.rounds} interleaved rounds x {options.duration:g} s "
        f"(after {options.warmup:g} s warm-up), "
        f"{options.connections} keep-alive connections, limits "
        + ("in Redis" if options.redis_url else "in process"),
        flush=True,
    )
    ratios: dict[str, float] = {}
    for backend in options.backends.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory(prefix="cs_bench_db_") as directory:
                ratios[backend] = bench_backend(backend, f"sqlite:///{directory}/bench.db", options)
        elif backend == "postgres":
            with postgres_database(options.postgres_url) as url:
                ratios[backend] = bench_backend(backend, url, options)
        else:
            parser.error(f"unknown backend {backend!r}")
    if options.check and any(ratio < TARGET_RATIO for ratio in ratios.values()):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
