"""ServiceClient against small real socket servers: reuse, stale connections, every failure → None."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from svc_stack import free_port, service_settings

from services.clients import ServiceClient


class Server:
    """A raw asyncio HTTP server whose behaviour per request is scripted by ``mode``."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.connections = 0
        self.requests: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests.append(head)
                if self.mode == "slow":
                    await asyncio.sleep(5)
                body = {"500": b'{"detail":"boom"}', "html": b"<html>"}.get(self.mode, b'{"ok": 1}')
                status = b"500 Internal Server Error" if self.mode == "500" else b"200 OK"
                if self.mode == "no-length":
                    writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + body)
                    await writer.drain()
                    break
                writer.write(
                    b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
                    b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
                )
                await writer.drain()
                if self.mode == "close-silently":  # keep-alive promised, then dropped
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def _calls(
    tmp_path: Path, mode: str, n: int, pause_s: float = 0.0, timeout_s: float = 0.5
) -> tuple[list[object], Server, float]:
    port = free_port()
    settings = service_settings(tmp_path, offline_port=port, service_timeout_s=timeout_s)
    server = Server(mode)
    srv = await asyncio.start_server(server.handle, "127.0.0.1", port)
    client = ServiceClient(settings)
    results = []
    t0 = time.monotonic()
    try:
        for _ in range(n):
            results.append(await client.get_json("offline", "/x", k=3, user_id=7))
            await asyncio.sleep(pause_s)
    finally:
        await client.aclose()
        srv.close()
    return results, server, time.monotonic() - t0


def test_keep_alive_reuses_one_connection(tmp_path: Path) -> None:
    results, server, _ = asyncio.run(_calls(tmp_path, "ok", 5))
    assert results == [{"ok": 1}] * 5
    assert server.connections == 1
    assert server.requests[0].startswith(b"GET /x?k=3&user_id=7 HTTP/1.1\r\n")


def test_connection_closed_by_server_is_replaced(tmp_path: Path) -> None:
    results, server, _ = asyncio.run(_calls(tmp_path, "close-silently", 4, pause_s=0.05))
    assert results == [{"ok": 1}] * 4
    assert server.connections == 4


def test_response_without_length_is_read_to_the_end(tmp_path: Path) -> None:
    results, server, _ = asyncio.run(_calls(tmp_path, "no-length", 2))
    assert results == [{"ok": 1}] * 2 and server.connections == 2


def test_failures_are_none(tmp_path: Path) -> None:
    assert asyncio.run(_calls(tmp_path, "500", 1))[0] == [None]
    assert asyncio.run(_calls(tmp_path, "html", 1))[0] == [None]
    results, _, elapsed = asyncio.run(_calls(tmp_path, "slow", 2, timeout_s=0.2))
    assert results == [None, None] and elapsed < 2.0  # the deadline, not the 5 s sleep


def test_refused_port_is_none(tmp_path: Path) -> None:
    settings = service_settings(tmp_path, online_port=free_port())

    async def call() -> object:
        client = ServiceClient(settings)
        try:
            return await client.get_json("online", "/health/ready")
        finally:
            await client.aclose()

    assert asyncio.run(call()) is None
