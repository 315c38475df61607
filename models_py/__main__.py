"""CLI: ``python -m models_py <step|all> --db PATH`` (settings from MUSIC_RECS_* / .env)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from models_py import STEPS, run_all  # noqa: E402
from music_recs.config import get_settings  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models_py", description=__doc__)
    parser.add_argument("step", choices=[*STEPS, "all"], help="step to run, or all of them in order")
    parser.add_argument("--db", type=Path, required=True, help="warehouse build file (.duckdb)")
    args = parser.parse_args(argv)
    if not args.db.is_file():
        parser.error(f"--db {args.db}: file not found")
    run_all(args.db, get_settings(), None if args.step == "all" else [args.step])
    return 0


if __name__ == "__main__":
    sys.exit(main())
