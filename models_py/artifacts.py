"""Files a step leaves in the build's artifacts folder for later steps: where they are, how to
read them.

Why a module of its own: a later step (similar, ranker, evaluate) reads what an earlier one
saved (the ALS factors, the popularity half-life) through this module rather than by
importing the step that wrote it.
"""

from __future__ import annotations

import json
from pathlib import Path

from models_py.db import artifacts_dir
from music_recs.config import Settings
from music_recs.tables import Phases

#: The popularity step's choice of half-life (and its validation grid), as JSON.
POPULARITY_ARTIFACT = "popularity.json"


def factors_path(db_path: Path, settings: Settings, phase: str) -> Path:
    """The ALS factors of ``phase`` (``als.npz`` for serve, ``als_<phase>.npz`` otherwise)."""
    name = "als.npz" if phase == Phases.Serve else f"als_{phase}.npz"
    return artifacts_dir(db_path, settings) / name


def load_half_life(db_path: Path, settings: Settings) -> float:
    """The half-life the popularity step used for this build (the ranker and the evaluation
    reuse it)."""
    path = artifacts_dir(db_path, settings) / POPULARITY_ARTIFACT
    if not path.is_file():
        raise FileNotFoundError(f"{path}: run the popularity step first")
    return float(json.loads(path.read_text())["half_life_days"])
