"""Load benchmark of the final endpoint: throughput and latency percentiles.

Two modes, both against ``GET /users/{user_id}/recommendations?k=`` on the final service:

* ``closed``: a fixed number of concurrent clients, each sending its next request as soon
  as the previous one returns (throughput at that concurrency).
* ``open``: requests sent on a fixed schedule (e.g. 100 req/s) whatever the responses do;
  latency is measured from the *scheduled* send time, so a stall is not hidden by the client
  waiting (no coordinated omission).

Users are drawn (seeded) from the served warehouse: a mix of users with history and unknown
(cold) ids. With ``--write-share`` that share of the requests are listens written to the
events service instead (``POST /put`` with the API key and a fresh ``Idempotency-Key``), the
realistic mix of an app that reads recommendations and reports plays. Usage::

    python -m benchmarks.loadtest --mode open --rate 200 --duration 60 --write-share 0.1
    python -m benchmarks.loadtest --mode closed --concurrency 16 --duration 30
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
from urllib.parse import urlsplit

import duckdb
import numpy as np
import orjson

from music_recs.config import get_settings
from services.clients import HttpError, KeepAliveHttp


@dataclass
class Result:
    mode: str
    target: str
    concurrency: int | None
    rate: float | None
    duration_s: float
    requests: int
    writes: int
    errors: int
    degraded: int  # answers that named a dependency as down (still 200, still k items)
    throughput_rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    build_id: str | None
    error_samples: list[str]


def pick_tracks(warehouse: Path, n: int, seed: int) -> list[int]:
    """``n`` canonical track ids of the served build (what the events service accepts)."""
    con = duckdb.connect(str(warehouse.resolve()), read_only=True)
    try:
        tracks = [
            r[0] for r in con.execute("SELECT DISTINCT canonical_id FROM map_tracks ORDER BY 1").fetchall()
        ]
    finally:
        con.close()
    rng = random.Random(seed)
    return [rng.choice(tracks) for _ in range(n)]


@dataclass
class Writes:
    """Where and how the ``--write-share`` of requests writes listens."""

    share: float
    url: str
    api_key: str
    tracks: list[int]


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
    return [
        top + 1 + rng.randrange(1_000_000) if rng.random() < cold_share else rng.choice(known)
        for _ in range(n)
    ]


def _summary(
    mode: str, target: str, runner: Runner, elapsed: float, concurrency: int | None, rate: float | None
) -> Result:
    latencies = runner.latencies
    lat = np.asarray(latencies) * 1000 if latencies else np.zeros(1)
    return Result(
        mode=mode,
        target=target,
        concurrency=concurrency,
        rate=rate,
        duration_s=round(elapsed, 2),
        requests=len(latencies),
        writes=runner.writes_sent,
        errors=runner.errors,
        degraded=runner.degraded,
        throughput_rps=round(len(latencies) / elapsed, 1),
        p50_ms=round(float(np.percentile(lat, 50)), 2),
        p90_ms=round(float(np.percentile(lat, 90)), 2),
        p99_ms=round(float(np.percentile(lat, 99)), 2),
        max_ms=round(float(lat.max()), 2),
        build_id=runner.build_id,
        error_samples=runner.error_samples,
    )


class Runner:
    """Sends the requests and records latencies (raw keep-alive client: the generator's own
    CPU per request stays far below the services', unlike httpx whose pool slows down with
    thousands of queued requests)."""

    def __init__(
        self,
        base_url: str,
        users: list[int],
        k: int,
        timeout_s: float,
        writes: Writes | None = None,
        seed: int = 0,
    ) -> None:
        self.host, self.port = _host_port(base_url, "--url")
        self.writes_cfg = writes
        if writes is not None:
            self.events_host, self.events_port = _host_port(writes.url, "--events-url")
        self.rng = random.Random(seed)
        self.users = users
        self.k = k
        self.timeout_s = timeout_s
        self.http = KeepAliveHttp(max_idle_per_host=1024)
        self.latencies: list[float] = []
        self.errors = 0
        self.writes_sent = 0
        self.degraded = 0
        self.error_samples: list[str] = []
        self.build_id: str | None = None
        self._i = 0

    def _next_user(self) -> int:
        user = self.users[self._i % len(self.users)]
        self._i += 1
        return user

    async def _write(self, started: float) -> None:
        """One listen written to the events service (a fresh idempotency key per write)."""
        w = self.writes_cfg
        self.writes_sent += 1
        target = f"/put?user_id={self._next_user()}&track_id={w.tracks[self.writes_sent % len(w.tracks)]}"
        headers = f"X-API-Key: {w.api_key}\r\nIdempotency-Key: load-{self.rng.getrandbits(64):x}\r\n"
        try:
            async with asyncio.timeout(self.timeout_s):
                status, body = await self.http.request(
                    "POST", self.events_host, self.events_port, target, headers
                )
            problem = "" if status == 200 else f"write {status} {body[:200]!r}"
        except (TimeoutError, OSError, HttpError, asyncio.IncompleteReadError) as exc:
            problem = f"write {exc!r}"
        self.latencies.append(time.perf_counter() - started)
        if problem:
            self.errors += 1
            if len(self.error_samples) < 5:
                self.error_samples.append(problem)

    async def _one(self, started: float) -> None:
        if self.writes_cfg is not None and self.rng.random() < self.writes_cfg.share:
            await self._write(started)
            return
        target = f"/users/{self._next_user()}/recommendations?k={self.k}"
        ok = False
        try:
            async with asyncio.timeout(self.timeout_s):
                status, body = await self.http.get(self.host, self.port, target)
            if status == 200:
                parsed = orjson.loads(body)
                ok = len(parsed["items"]) > 0
                self.build_id = parsed["build_id"]
                self.degraded += bool(parsed.get("degraded"))
            problem = f"{status} {body[:200]!r}"
        except (
            TimeoutError,
            OSError,
            HttpError,
            asyncio.IncompleteReadError,
            orjson.JSONDecodeError,
            KeyError,
            TypeError,
        ) as exc:
            problem = repr(exc)
        self.latencies.append(time.perf_counter() - started)
        if not ok:
            self.errors += 1
            if len(self.error_samples) < 5:
                self.error_samples.append(problem)

    async def closed(self, concurrency: int, duration_s: float) -> float:
        end = time.perf_counter() + duration_s

        async def worker() -> None:
            while time.perf_counter() < end:
                await self._one(time.perf_counter())

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - t0

    async def open(self, rate: float, duration_s: float) -> float:
        n = int(rate * duration_s)
        t0 = time.perf_counter()
        tasks = []
        for i in range(n):
            scheduled = t0 + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self._one(scheduled)))
        await asyncio.gather(*tasks)
        return time.perf_counter() - t0


def _host_port(base_url: str, option: str) -> tuple[str, int]:
    url = urlsplit(base_url)
    if url.scheme != "http" or not url.hostname:
        raise ValueError(f"{option} must be http://host:port, got {base_url!r}")
    return url.hostname, url.port or 80


async def run(args: argparse.Namespace, users: list[int], writes: Writes | None = None) -> Result:
    """Warm up (connections, first-touch costs; reads only), then measure."""
    warm = Runner(args.url, users, args.k, args.timeout)
    await warm.closed(4, 1.0)
    runner = Runner(args.url, users, args.k, args.timeout, writes, args.seed)
    runner.http = warm.http  # keep the warmed connections
    if args.mode == "closed":
        elapsed = await runner.closed(args.concurrency, args.duration)
    else:
        elapsed = await runner.open(args.rate, args.duration)
    runner.http.close()
    return _summary(
        args.mode,
        args.url,
        runner,
        elapsed,
        args.concurrency if args.mode == "closed" else None,
        args.rate if args.mode == "open" else None,
    )


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.loadtest",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
    parser.add_argument(
        "--write-share",
        type=float,
        default=0.0,
        help="share of requests that write a listen to the events service",
    )
    parser.add_argument("--events-url", default=settings.url("events"), help="events service base URL")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.concurrency < 1 or args.duration <= 0:
        parser.error("--rate, --concurrency and --duration must be positive")
    if not 0 <= args.write_share <= 1:
        parser.error("--write-share must be in [0, 1]")

    users = pick_users(args.warehouse, args.users, args.cold_share, args.seed)
    writes = None
    if args.write_share > 0:
        from services.security import ClientKey

        key = ClientKey(settings).get()
        if not key:
            parser.error(
                "--write-share needs the events API key: set MUSIC_RECS_EVENTS_API_KEYS or start "
                "the events service once (it writes data/events/api_key)"
            )
        writes = Writes(args.write_share, args.events_url, key, pick_tracks(args.warehouse, 5000, args.seed))
    result = asyncio.run(run(args, users, writes))
    if args.json:
        print(json.dumps(asdict(result)))
    else:
        for key, value in asdict(result).items():
            print(f"{key:>15}: {value}")
    return 0 if result.errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
