"""Load benchmark of the final endpoint: throughput and latency percentiles.

Two modes, both against ``GET /users/{user_id}/recommendations?k=`` on the final service:

* ``closed``: a fixed number of concurrent clients, each sending its next request as soon
  as the previous one returns (throughput at that concurrency).
* ``open``: requests sent on a fixed schedule (e.g. 100 req/s) whatever the responses do;
  latency is measured from the *scheduled* send time, so a stall is not hidden by the client
  waiting (no coordinated omission).

Users are drawn (seeded) from the served warehouse: a mix of users with history and unknown
(cold) ids. Usage::

    python -m services.loadtest --mode open --rate 100 --duration 30
    python -m services.loadtest --mode closed --concurrency 16 --duration 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import httpx
import numpy as np

from music_recs.config import get_settings


@dataclass
class Result:
    mode: str
    target: str
    concurrency: int | None
    rate: float | None
    duration_s: float
    requests: int
    errors: int
    throughput_rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    build_id: str | None


def pick_users(warehouse: Path, n: int, cold_share: float, seed: int) -> list[int]:
    """``n`` user ids: known users of ``events`` plus a ``cold_share`` of unknown ids."""
    con = duckdb.connect(str(warehouse.resolve()), read_only=True)
    try:
        known = [r[0] for r in con.execute("SELECT DISTINCT user_id FROM events ORDER BY 1").fetchall()]
    finally:
        con.close()
    if not known:
        raise ValueError(f"{warehouse}: table events has no users")
    rng = random.Random(seed)
    top = max(known)
    return [top + 1 + rng.randrange(1_000_000) if rng.random() < cold_share else rng.choice(known)
            for _ in range(n)]


def _summary(mode: str, target: str, latencies: list[float], errors: int, elapsed: float,
             concurrency: int | None, rate: float | None, build_id: str | None) -> Result:
    lat = np.asarray(latencies) * 1000 if latencies else np.zeros(1)
    return Result(
        mode=mode, target=target, concurrency=concurrency, rate=rate,
        duration_s=round(elapsed, 2), requests=len(latencies), errors=errors,
        throughput_rps=round(len(latencies) / elapsed, 1),
        p50_ms=round(float(np.percentile(lat, 50)), 2),
        p90_ms=round(float(np.percentile(lat, 90)), 2),
        p99_ms=round(float(np.percentile(lat, 99)), 2),
        max_ms=round(float(lat.max()), 2),
        build_id=build_id,
    )


class Runner:
    def __init__(self, base_url: str, users: list[int], k: int, timeout_s: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.users = users
        self.k = k
        self.timeout_s = timeout_s
        self.latencies: list[float] = []
        self.errors = 0
        self.error_samples: list[str] = []
        self.build_id: str | None = None
        self._i = 0

    def _next_user(self) -> int:
        user = self.users[self._i % len(self.users)]
        self._i += 1
        return user

    async def _one(self, client: httpx.AsyncClient, started: float) -> None:
        user = self._next_user()
        try:
            resp = await client.get(f"{self.base_url}/users/{user}/recommendations",
                                    params={"k": self.k})
            ok = resp.status_code == 200 and len(resp.json()["items"]) > 0
            if ok:
                self.build_id = resp.json()["build_id"]
            elif len(self.error_samples) < 5:
                self.error_samples.append(f"{resp.status_code} {resp.text[:200]}")
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            ok = False
            if len(self.error_samples) < 5:
                self.error_samples.append(repr(exc))
        self.latencies.append(time.perf_counter() - started)
        self.errors += 0 if ok else 1

    def _client(self, connections: int) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=self.timeout_s,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )

    async def closed(self, concurrency: int, duration_s: float) -> float:
        async with self._client(concurrency) as client:
            end = time.perf_counter() + duration_s

            async def worker() -> None:
                while time.perf_counter() < end:
                    await self._one(client, time.perf_counter())

            t0 = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return time.perf_counter() - t0

    async def open(self, rate: float, duration_s: float) -> float:
        n = int(rate * duration_s)
        async with self._client(256) as client:
            t0 = time.perf_counter()
            tasks = []
            for i in range(n):
                scheduled = t0 + i / rate
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(self._one(client, scheduled)))
            await asyncio.gather(*tasks)
            return time.perf_counter() - t0


async def warm_up(base_url: str, users: list[int], k: int) -> None:
    """A few requests first, so connection setup and first-touch costs are not measured."""
    async with httpx.AsyncClient(timeout=10.0) as client:
        for user in users[:20]:
            await client.get(f"{base_url}/users/{user}/recommendations", params={"k": k})


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m services.loadtest", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=settings.url("final"), help="final service base URL")
    parser.add_argument("--mode", choices=("open", "closed"), default="open")
    parser.add_argument("--rate", type=float, default=100.0, help="open mode: requests per second")
    parser.add_argument("--concurrency", type=int, default=16, help="closed mode: clients")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--users", type=int, default=2000, help="distinct user draws")
    parser.add_argument("--cold-share", type=float, default=0.2)
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--warehouse", type=Path, default=settings.warehouse_path)
    parser.add_argument("--seed", type=int, default=settings.seed)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.concurrency < 1 or args.duration <= 0:
        parser.error("--rate, --concurrency and --duration must be positive")

    users = pick_users(args.warehouse, args.users, args.cold_share, args.seed)
    runner = Runner(args.url, users, args.k, args.timeout)
    asyncio.run(warm_up(args.url, users, args.k))
    if args.mode == "closed":
        elapsed = asyncio.run(runner.closed(args.concurrency, args.duration))
        result = _summary("closed", args.url, runner.latencies, runner.errors, elapsed,
                          args.concurrency, None, runner.build_id)
    else:
        elapsed = asyncio.run(runner.open(args.rate, args.duration))
        result = _summary("open", args.url, runner.latencies, runner.errors, elapsed,
                          None, args.rate, runner.build_id)
    if args.json:
        print(json.dumps(asdict(result)))
    else:
        for key, value in asdict(result).items():
            print(f"{key:>15}: {value}")
        for sample in runner.error_samples:
            print(f"  error: {sample}", file=sys.stderr)
    return 0 if result.errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
