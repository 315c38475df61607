"""CLI: ``generate`` a preset into a folder, or ``ensure`` the configured raw folder has data."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from music_recs.config import get_settings
from music_recs.generator.core import RAW_FILES, generate
from music_recs.generator.presets import SCALES
from music_recs.logs import setup_logging


def ensure() -> int:
    """Generate ``settings.scale`` into ``settings.raw_uri`` unless the three files are there."""
    s = get_settings()
    if s.raw_is_s3:
        print(
            f"refusing to generate into {s.raw_uri}: raw_uri is an S3 location; generate into a local "
            f"folder and upload it (make upload), or point MUSIC_RECS_RAW_URI at a local folder",
            file=sys.stderr,
        )
        return 2
    raw = Path(s.raw_uri)
    present = [n for n in RAW_FILES if (raw / f"{n}.parquet").exists()]
    if len(present) == len(RAW_FILES):
        print(f"raw data already present in {raw} ({', '.join(present)}); nothing generated")
        return 0
    if raw.exists() and not raw.is_dir():
        print(f"raw_uri {raw} exists and is not a folder", file=sys.stderr)
        return 2
    summary = generate(raw, scale=s.scale, seed=s.seed)
    print(
        f"generated scale={s.scale} seed={s.seed} into {raw}: {summary['n_users']} users, "
        f"{summary['catalog']['n_tracks']} tracks, {summary['n_listens']} listens in {summary['seconds']}s"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m music_recs.generator", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate", help="write a preset into --out")
    g.add_argument("--scale", choices=SCALES, default=get_settings().scale)
    g.add_argument("--out", type=Path, required=True)
    g.add_argument("--seed", type=int, default=get_settings().seed)
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    sub.add_parser("ensure", help="generate settings.scale into settings.raw_uri if it has no data")
    args = parser.parse_args(argv)
    setup_logging("generator")
    if args.cmd == "ensure":
        return ensure()
    summary = generate(args.out, scale=args.scale, seed=args.seed, progress=not args.quiet)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
