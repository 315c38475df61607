"""Session fixtures of the services tests: the hand-made stack and an HTTP client."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from svc_stack import AUTH, SERVICES, Stack, publish_handmade, service_settings  # noqa: E402


@pytest.fixture(scope="session")
def handmade_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """All four services over the hand-made warehouse (build id ``handmade-1``)."""
    root = tmp_path_factory.mktemp("services_handmade")
    settings = service_settings(root)
    publish_handmade(settings, "handmade-1")
    stack = Stack(settings, root).start(*SERVICES)
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10.0, headers=AUTH) as client:  # events routes need the key
        yield client
