"""Generator-only fixtures: the `demo` preset generated once per session (~10-15 s)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def demo_generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    from music_recs.generator import generate

    out = tmp_path_factory.mktemp("raw_demo")
    return out, generate(out, scale="demo", seed=42, progress=False)
