"""Model steps that read a warehouse build file, train, and write their tables back.

``run_all(db_path, settings)`` runs every step in order; each step is also a module with
``run(db_path, settings)`` and a CLI: ``python -m models_py <step> --db PATH``.
"""

from __future__ import annotations

import importlib
import logging
import time
from pathlib import Path

from music_recs.config import Settings

#: Step name -> module, in run order.
STEPS: dict[str, str] = {
    "popularity": "models_py.popularity",
    "als": "models_py.als",
    "similar": "models_py.similar",
    "ranker": "models_py.ranker",
    "evaluate": "models_py.evaluate",
    "export": "models_py.export",
    "serving": "models_py.serving",
}


def run_step(step: str, db_path: Path, settings: Settings) -> None:
    """Run one step by name."""
    if step not in STEPS:
        raise ValueError(f"unknown step {step!r}; steps: {', '.join(STEPS)}")
    importlib.import_module(STEPS[step]).run(Path(db_path), settings)


def run_all(db_path: Path, settings: Settings, steps: list[str] | None = None) -> None:
    """Run ``steps`` (default: all) in order on one build file, timing each."""
    from models_py.memory import keep_freed_memory
    from music_recs.logs import setup_logging

    log = setup_logging("models_py", logs_dir=settings.logs_dir)
    keep_freed_memory()
    for step in steps or list(STEPS):
        started = time.perf_counter()
        log.info("step %s started", step)
        run_step(step, db_path, settings)
        log.info(
            "step %s finished in %.1fs",
            step,
            time.perf_counter() - started,
            extra={"data": {"step": step, "seconds": round(time.perf_counter() - started, 3)}},
        )


__all__ = ["STEPS", "run_all", "run_step"]

logging.getLogger("models_py").addHandler(logging.NullHandler())
