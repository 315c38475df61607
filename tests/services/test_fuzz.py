"""Schemathesis fuzzes every route of every live service from its OpenAPI schema: no 5xx.

Also checks that responses match their documented schemas and content types. Bounded
(examples per operation, fixed seed) to stay within the test budget.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from svc_stack import EVENTS_KEY, SERVICES, Stack

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance"


@pytest.mark.parametrize("service", SERVICES)
def test_fuzz_every_route(handmade_stack: Stack, service: str, tmp_path: Path) -> None:
    cmd = [
        str(SCHEMATHESIS),
        "run",
        f"{handmade_stack.url(service)}/openapi.json",
        "--checks",
        CHECKS,
        "--phases",
        "coverage,fuzzing,stateful",
        "--max-examples",
        "15",
        "--seed",
        "42",
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--suppress-health-check",
        "too_slow",
        "--header",
        f"X-API-Key: {EVENTS_KEY}",  # the events routes need a key
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=150, cwd=tmp_path)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-6000:]
    assert "No issues found" in out, out[-3000:]
