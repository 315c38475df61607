"""Create the peer venv of the real-data benchmark (RecTools 0.19.0 + CatBoost 1.2.10).

    python3 -m benchmarks.real.peers_venv [--path benchmarks/.venv-peers] [--python python3]

Creates the venv (if absent), installs ``benchmarks/requirements-peers.txt`` (exact pins, from
PyPI through pip) and checks that rectools and catboost import. Standard library only, so any
Python 3.11 runs it. ``benchmarks.real.bench`` finds the venv at the default path (or at
``$MUSIC_RECS_BENCH_PEERS_PYTHON`` / ``--peers-python``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PATH = ROOT / "benchmarks" / ".venv-peers"
REQUIREMENTS = ROOT / "benchmarks" / "requirements-peers.txt"


def create(path: Path = DEFAULT_PATH, requirements: Path = REQUIREMENTS, quiet: bool = True) -> Path:
    path = Path(path)
    python = path / "bin" / "python"
    if not python.is_file():
        print(f"creating {path}", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=False).create(path)
    q = ["--quiet"] if quiet else []
    subprocess.run([str(python), "-m", "pip", "install", *q, "--upgrade", "pip"], check=True)
    subprocess.run([str(python), "-m", "pip", "install", *q, "-r", str(requirements)], check=True)
    got = subprocess.run(
        [
            str(python),
            "-c",
            "import rectools, catboost, pyarrow; print(rectools.__version__, catboost.__version__)",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    print(f"{python}: rectools / catboost {got.stdout.strip()}", file=sys.stderr)
    (path / ".installed").write_text(requirements.read_text())
    return python


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--path", type=Path, default=DEFAULT_PATH)
    ap.add_argument("--requirements", type=Path, default=REQUIREMENTS)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    if sys.version_info[:2] != (3, 11):
        print(
            f"warning: the pins were resolved for CPython 3.11, this is {sys.version.split()[0]}",
            file=sys.stderr,
        )
    create(args.path, args.requirements, quiet=not args.verbose)


if __name__ == "__main__":
    main()
