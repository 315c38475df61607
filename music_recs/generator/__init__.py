"""Synthetic Yandex-Music-shaped listening data (see docs/generator.md for the model and ranges).

Public API: ``generate(out_dir, scale="demo", seed=42) -> dict`` writes ``tracks.parquet``,
``catalog_names.parquet``, ``interactions.parquet`` (exact real schema) and ``_truth/``;
``music_recs.generator.truth.load_truth(raw_dir)`` reads the truth back as an oracle.
CLI: ``python -m music_recs.generator generate --scale tiny --out DIR [--seed N]`` and
``python -m music_recs.generator ensure``.
"""

from music_recs.generator.core import RAW_FILES, generate
from music_recs.generator.presets import PRESETS, SCALES

__all__ = ["PRESETS", "RAW_FILES", "SCALES", "generate"]
