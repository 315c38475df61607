"""Real-data benchmark: our models, independent references and RecTools, one protocol.

    python -m benchmarks.real.bench --db warehouse/real/ml-1m/music_recs.duckdb --dataset ml-1m [--out reports/real]

Reads one built warehouse (read-only), scores every model on the same test users with the
metric code of ``models_py.evaluate`` and writes ``<out>/<dataset>.md`` and ``.csv``:
rows = models, columns = NDCG / Recall / Precision / HitRate at k = 5, 10, for all and warm
test users, plus the paired bootstrap CI of final NDCG@5 / best other model's NDCG@5.

Models: ours (popularity, ALS = ``recs_als``, final = ``recs_final``, as ``evaluate`` takes
them); references (``benchmarks.real.references``: EASE, item-kNN cosine / BM25 via
``implicit``, recency popularity), their hyper-parameters chosen on a nested split of
``events_train`` (``protocol.nested_split``); RecTools 0.19.0 models, run by
``benchmarks.real.peers`` in the peer venv (``python -m benchmarks.real.peers_venv``) as a
subprocess; skipped with a message when that venv is missing unless ``--require-peers``.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmarks.bootstrap import paired_ratio  # noqa: E402
from benchmarks.real import peers_io, protocol  # noqa: E402
from benchmarks.real import report as report_mod  # noqa: E402
from benchmarks.real.protocol import KS, METRICS, SEGMENTS  # noqa: E402
from benchmarks.real.references import EASE, ItemKNN, RecencyPopularity  # noqa: E402

log = logging.getLogger("benchmarks.real")

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PEERS_VENV = REPO_ROOT / "benchmarks" / ".venv-peers"
PEERS_PYTHON_ENV = "MUSIC_RECS_BENCH_PEERS_PYTHON"

K = max(KS)
EASE_GRID: tuple[float, ...] = (
    1.0,
    5.0,
    10.0,
    25.0,
    50.0,
    100.0,
    250.0,
    500.0,
    1000.0,
    2500.0,
    5000.0,
    10000.0,
    25000.0,
    50000.0,
    100000.0,
)
KNN_GRID: tuple[int, ...] = (5, 10, 20, 50, 100, 200, 400, 800)
RECENCY_GRID: tuple[int | None, ...] = (1, 3, 7, 14, 30, 60, 90, 180, 365, None)
ALS_GRID = {"factors": [8, 16, 32, 64, 128], "regularization": [0.01, 1.0], "alpha": [1.0, 10.0]}
FINAL = "ours: final"


class PeersUnavailable(RuntimeError):
    pass


def peers_python(explicit: str | None = None) -> Path:
    if explicit:
        return Path(explicit)
    if os.environ.get(PEERS_PYTHON_ENV):
        return Path(os.environ[PEERS_PYTHON_ENV])
    return DEFAULT_PEERS_VENV / "bin" / "python"


def check_peers(python: Path) -> str:
    """The peer venv's RecTools version, or PeersUnavailable with the reason."""
    if not python.is_file():
        raise PeersUnavailable(
            f"{python} not found: create the peer venv with `python3 -m benchmarks.real.peers_venv`"
        )
    got = subprocess.run(
        [str(python), "-c", "import rectools, catboost; print(rectools.__version__)"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )
    if got.returncode != 0:
        raise PeersUnavailable(
            f"{python} cannot import rectools/catboost: {got.stderr.strip().splitlines()[-1:]}"
        )
    return got.stdout.strip()


# ----------------------------------------------------------------------------- reference models
def _grid(
    name: str,
    values,
    make,
    split: protocol.NestedSplit,
    x_fit,
    x_valid_rows,
    fit_extra=None,
    lists_by_value=None,
):
    """Validation NDCG@5 of each grid value (fit on the nested fit part; ``lists_by_value``: the
    lists of every value at once, when the model has a faster path); the best (first of equals)."""
    scores = {}
    for v in values:
        if lists_by_value is not None:
            lists = lists_by_value[v]
        else:
            model = make(v)
            model.fit(*fit_extra) if fit_extra else model.fit(x_fit)
            lists = model.recommend(x_valid_rows, 5)
        scores[v] = protocol.validation_ndcg(lists, split, 5)
        log.info("%s %s: validation NDCG@5 %.4f", name, v, scores[v])
    best = max(values, key=lambda v: (np.nan_to_num(scores[v], nan=-1.0), -values.index(v)))
    return best, scores


def reference_lists(
    train: protocol.TrainLog,
    split: protocol.NestedSplit,
    test_rows: np.ndarray,
    ref_day: int,
    threads: int,
    ease_max_items: int,
) -> tuple[dict, dict, dict]:
    """{model: column positions for the warm test users}, {model: choice text}, {model: (choose s, fit s)},
    [notes on choices at a grid's edge], {model: chosen value}."""
    x_fit = train.matrix(split.fit_mask)
    x_valid = x_fit[split.users]
    x_full = train.matrix()
    warm_rows = test_rows[test_rows >= 0]
    x_test = x_full[warm_rows]
    fit_cols, fit_days = train.cols[split.fit_mask], train.first_day[split.fit_mask]
    specs = [
        ("EASE", "lambda", EASE_GRID, lambda v: EASE(v, ease_max_items), None, None),
        ("item-kNN cosine", "K", KNN_GRID, lambda v: ItemKNN("cosine", v, threads), None, None),
        ("item-kNN BM25", "K", KNN_GRID, lambda v: ItemKNN("bm25", v, threads), None, None),
        (
            "recency popularity",
            "days",
            RECENCY_GRID,
            RecencyPopularity,
            (fit_cols, fit_days, train.n_tracks, split.cutoff_day),
            (train.cols, train.first_day, train.n_tracks, ref_day),
        ),
    ]
    positions, choices, timings, edges, chosen = {}, {}, {}, [], {}
    for name, param, grid, make, fit_extra, full_extra in specs:
        started = time.perf_counter()
        fast = (
            EASE.grid(x_fit, x_valid, grid, 5, ease_max_items) if name == "EASE" else None
        )  # one eigh for all
        best, scores = _grid(name, grid, make, split, x_fit, x_valid, fit_extra, fast)
        choose = time.perf_counter() - started
        started = time.perf_counter()
        model = make(best)
        model.fit(*full_extra) if full_extra else model.fit(x_full)
        positions[name] = model.recommend(x_test, K)
        fit = time.perf_counter() - started
        label = "all train" if best is None else best
        choices[name] = (
            f"{param} = {label} (validation NDCG@5: "
            + ", ".join(f"{'all' if v is None else v}: {s:.4f}" for v, s in scores.items())
            + ")"
        )
        timings[name] = (choose, fit)
        chosen[name] = best
        if best in (grid[0], grid[-1]) and best is not None:
            edges.append(f"{name}: the chosen {param} = {label} is at the edge of its grid {list(grid)}")
        log.info("%s: %s = %s chosen in %.1fs; fit + recommend %.1fs", name, param, label, choose, fit)
    return positions, choices, timings, edges, chosen


# --------------------------------------------------------------------------------------- peers
def run_peers(
    python: Path,
    train: protocol.TrainLog,
    warm_users: np.ndarray,
    split: protocol.NestedSplit,
    ref_choices: dict,
    cfg_extra: dict,
    work: Path,
) -> tuple[dict[str, pd.DataFrame], dict, dict]:
    io_dir = work / "peers_io"
    frame = peers_io.train_frame(train.user_ids[train.rows], train.track_ids[train.cols], train.first_day)
    config = {"k": K, "valid_days": int(split.valid_days), **cfg_extra, **ref_choices}
    peers_io.write_inputs(io_dir, frame, warm_users, config)
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), OPENBLAS_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    started = time.perf_counter()
    got = subprocess.run(
        [str(python), "-m", "benchmarks.real.peers", "--io", str(io_dir)], cwd=REPO_ROOT, env=env
    )
    if got.returncode != 0:
        raise RuntimeError(f"peers subprocess failed with exit code {got.returncode} (its log is above)")
    log.info("peers subprocess done in %.1fs", time.perf_counter() - started)
    return (
        peers_io.read_lists(io_dir),
        peers_io.read_json(io_dir, "timings.json"),
        peers_io.read_json(io_dir, "choices.json"),
    )


# ------------------------------------------------------------------------------------- scoring
def score(lists: dict[str, np.ndarray], data) -> tuple[pd.DataFrame, dict]:
    rows, per_user = [], {}
    for model, recs in lists.items():
        per_user[model] = protocol.per_user_metrics(recs, data)
        for segment in SEGMENTS:
            mask = data.segment_mask(segment)
            row = {"model": model, "segment": segment, "n_users": int(mask.sum())}
            for k in KS:
                for m in METRICS:
                    row[f"{m}@{k}"] = (
                        float(per_user[model][(m, k)][mask].mean()) if mask.any() else float("nan")
                    )
            rows.append(row)
    return pd.DataFrame(rows), per_user


def bootstrap(frame: pd.DataFrame, per_user: dict, data, n_resamples: int, seed: int) -> dict:
    out = {}
    for segment in SEGMENTS:
        mask = data.segment_mask(segment)
        f = frame[(frame["segment"] == segment) & (frame["model"] != FINAL)]
        if not mask.any() or f.empty or FINAL not in per_user:
            continue
        best = f.sort_values(["ndcg@5", "model"], ascending=[False, True]).iloc[0]["model"]
        a, b = per_user[FINAL][("ndcg", 5)][mask], per_user[best][("ndcg", 5)][mask]
        ci = paired_ratio(a, b, n_resamples=n_resamples, seed=seed)
        out[segment] = {"best": best, "final": float(a.mean()), "other": float(b.mean()), "ci": ci}
        log.info("%s users: final / %s NDCG@5 = %s", segment, best, ci)
    return out


def build_info(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """build_id, git_commit, raw_uri of the build (``build_info``), when the table exists."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if "build_info" not in tables:
        return {}
    return {
        k: v
        for k, v in con.execute("SELECT key, value FROM build_info").fetchall()
        if k in ("build_id", "git_commit", "raw_uri", "built_at")
    }


def compare_eval_metrics(con: duckdb.DuckDBPyConnection, lists: dict[str, np.ndarray], data) -> str | None:
    """Our models' metrics recomputed here against the build's own ``eval_metrics`` (same
    protocol, so they must agree); None when the table is absent."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if "eval_metrics" not in tables:
        return None
    stored = con.execute("SELECT model, segment, k, metric, value FROM eval_metrics").df()
    names = {"ours: popularity": "popularity", "ours: ALS": "als", "ours: final": "reranked"}
    frame, _ = score({m: lists[m] for m in names}, data)
    worst, n = 0.0, 0
    for _, r in frame.iterrows():
        for k in KS:
            for m in METRICS:
                got = stored[
                    (stored["model"] == names[r["model"]])
                    & (stored["segment"] == r["segment"])
                    & (stored["k"] == k)
                    & (stored["metric"] == m)
                ]["value"]
                if len(got) == 1:
                    worst, n = max(worst, abs(float(got.iloc[0]) - r[f"{m}@{k}"])), n + 1
    if n and worst > 1e-9:
        raise RuntimeError(f"our models' metrics differ from the build's eval_metrics by up to {worst:.3g}")
    return (
        f"our three models' {n} metric values equal the build's eval_metrics (max |difference| {worst:.1g})"
        if n
        else "eval_metrics has none of our metrics to compare"
    )


# ----------------------------------------------------------------------------------------- run
def run(
    db: Path,
    dataset: str,
    out: Path,
    *,
    peers: str | None = None,
    require_peers: bool = False,
    skip_peers: bool = False,
    seed: int = 42,
    n_resamples: int = 1000,
    valid_frac: float = 0.1,
    threads: int = 2,
    ease_max_items: int = 12_000,
    artifacts_dir: Path | None = None,
    work_dir: Path | None = None,
) -> tuple[Path, Path]:
    db = Path(db)
    if not db.is_file():
        raise FileNotFoundError(f"{db}: warehouse file not found")
    started_all = time.perf_counter()
    python, version = peers_python(peers), None
    timings: dict[str, tuple[float | None, float | None]] = {}
    checks, notes = [], []
    if not skip_peers:  # before any work: --require-peers fails at once
        try:
            version = check_peers(python)
        except PeersUnavailable as e:
            if require_peers:
                raise
            log.warning("%s", e)
            notes.append(f"RecTools models skipped: {e}")
    con = duckdb.connect(str(db), read_only=True)
    try:
        t = time.perf_counter()
        data = protocol.load_eval_data(con, None)
        train = protocol.load_train_log(con)
        split_date = con.execute("SELECT split_date FROM split_info").fetchone()[0]
        build = build_info(con)
        log.info(
            "loaded test (%d users, %d warm) and train (%d pairs) in %.1fs",
            len(data.user_ids),
            int(data.warm.sum()),
            len(train.rows),
            time.perf_counter() - t,
        )
        test_rows = train.rows_of(data.user_ids)
        if not np.array_equal(test_rows >= 0, data.warm):
            raise RuntimeError("warm users by events_train differ from evaluate's (user_index) ones")
        checks.append(
            "warm test users by the benchmark's own reading of events_train = evaluate's warm users"
        )

        half_life, source = protocol.find_half_life(con, db, artifacts_dir)
        t = time.perf_counter()
        pop = protocol.popularity_lists(con, data, half_life, K)
        timings["ours: popularity"] = (None, time.perf_counter() - t)
        lists = protocol.our_lists(con, data, pop, K)
        for name in ("ours: ALS", "ours: final"):
            timings[name] = (None, None)
        eval_check = compare_eval_metrics(con, lists, data)
        if eval_check:
            checks.append(eval_check)
        choices = {
            "ours: popularity": f"half-life {half_life} days ({source})"
            if half_life is not None
            else f"{source}: recs_popular ranking minus heard tracks"
        }
    finally:
        con.close()

    split = protocol.nested_split(train, valid_frac, seed=seed)
    log.info("nested split: %s", split.describe())
    ref_day = int((np.datetime64(split_date, "D") - protocol.EPOCH).astype(np.int64))
    positions, ref_choices, ref_timings, edges, ref_chosen = reference_lists(
        train, split, test_rows, ref_day, threads, ease_max_items
    )
    notes += edges
    for name, pos in positions.items():
        lists[name] = protocol.with_fallback(
            protocol.lists_for_test_users(pos, test_rows, train, len(data.user_ids), K), pop
        )
        choices[name] = ref_choices[name]
        timings[name] = ref_timings[name]

    if version is not None:
        log.info("RecTools %s in %s", version, python)
        cfg = {
            "seed": seed,
            "threads": threads,
            "als_iterations": 15,
            "catboost_iterations": 300,
            "valid_max_users": 50_000,
            "als_grid": ALS_GRID,
            "ease_regularization": float(ref_chosen["EASE"]),
            "knn_cosine_neighbours": int(ref_chosen["item-kNN cosine"]),
            "knn_bm25_neighbours": int(ref_chosen["item-kNN BM25"]),
        }
        work = Path(tempfile.mkdtemp(prefix="bench_peers_", dir=work_dir))
        try:
            frames, peer_times, peer_choices = run_peers(
                python, train, data.user_ids[data.warm], split, {}, cfg, work
            )
        except RuntimeError as e:
            if require_peers:
                raise
            log.error("%s: RecTools rows left out", e)
            notes.append(f"RecTools models left out: {e}")
            version = None
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if version is not None:
        choices["RecTools"] = (
            f"RecTools {version}; EASE lambda and item-kNN K as the references'; ALS "
            f"{peer_choices.get('als', {}).get('chosen')} chosen on the same nested split "
            f"(grid {ALS_GRID}, 15 iterations); two-stage: CatBoostRanker YetiRank, 300 iterations"
        )
        timings["RecTools: ALS"] = (peer_times.get("RecTools: ALS (grid on nested split)"), None)
        chosen = peer_choices.get("als", {}).get("chosen") or {}
        for key, values in ALS_GRID.items():
            if key in chosen and len(values) > 2 and chosen[key] in (values[0], values[-1]):
                notes.append(
                    f"RecTools: ALS: the chosen {key} = {chosen[key]} is at the edge of its grid {values}"
                )
        notes.append(
            "RecTools 0.19.0's EASEModel ranks by X B^T (its ImplicitRanker takes the rows of B as item "
            "vectors: its scores equal x_u B^T to float32 precision, checked on the tiny build), "
            "the reference EASE by Steck's X B; both use the same lambda"
        )
        for name, frame in frames.items():
            got = peers_io.frame_to_lists(frame, data.user_ids, K)
            cleaned, n_heard = protocol.drop_heard(got, test_rows, train)
            if n_heard:
                notes.append(
                    f"{name}: {n_heard} recommended pairs were heard in train and were removed "
                    "(the protocol never recommends them; the list moves up and is completed from popularity)"
                )
            lists[name] = protocol.with_fallback(cleaned, pop)
            timings[name] = (timings.get(name, (None, None))[0], peer_times.get(name))

    for name, recs in lists.items():
        n_heard = int(protocol.heard_mask(recs, test_rows, train).sum())
        n_short = int((recs == protocol.M.PAD).any(axis=1).sum())
        if n_heard:
            raise RuntimeError(f"{name}: {n_heard} recommended tracks were heard in train")
        if n_short:
            notes.append(f"{name}: {n_short} users have fewer than {K} items (the fallback ran out)")
    checks.append(
        f"no model recommends a track its user heard in train ({len(lists)} models x {len(data.user_ids)} users x {K})"
    )
    cold_same = all(np.array_equal(recs[~data.warm], pop[~data.warm]) for recs in lists.values())
    checks.append(f"cold users get the same popularity list in every model: {cold_same}")

    frame, per_user = score(lists, data)
    boot = bootstrap(frame, per_user, data, n_resamples, seed)
    frame["choose_s"] = frame["model"].map(lambda m: timings.get(m, (None, None))[0])
    frame["fit_recommend_s"] = frame["model"].map(lambda m: timings.get(m, (None, None))[1])
    context = {
        "db": str(db),
        "db_file": str(db.resolve()),
        "build": build,
        "n_train_pairs": len(train.rows),
        "n_train_users": train.n_users,
        "n_train_tracks": train.n_tracks,
        "n_test_users": len(data.user_ids),
        "n_warm": int(data.warm.sum()),
        "n_cold": int((~data.warm).sum()),
        "n_test_pairs": len(data.rel_items),
        "split_date": split_date,
        "n_resamples": n_resamples,
        "seed": seed,
        "bootstrap": boot,
        "nested": split.describe(),
        "choices": choices,
        "timings": timings,
        "checks": checks,
        "notes": notes,
    }
    md, csv = report_mod.write(out, dataset, frame, context)
    log.info("wrote %s and %s (%.1fs in all)", md, csv, time.perf_counter() - started_all)
    return md, csv


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description="Real-data benchmark of one warehouse (see benchmarks/README.md)."
    )
    ap.add_argument("--db", type=Path, required=True, help="built warehouse file (DuckDB)")
    ap.add_argument(
        "--dataset", required=True, help="name of the report files (reports/real/<dataset>.md/.csv)"
    )
    ap.add_argument("--out", type=Path, default=Path("reports/real"))
    ap.add_argument(
        "--peers-python",
        help=f"python of the peer venv (default ${PEERS_PYTHON_ENV} or {DEFAULT_PEERS_VENV}/bin/python)",
    )
    ap.add_argument(
        "--require-peers",
        action="store_true",
        help="fail instead of skipping RecTools when the peer venv is missing",
    )
    ap.add_argument("--skip-peers", action="store_true", help="do not run RecTools")
    ap.add_argument(
        "--artifacts-dir", type=Path, help="where the build's artifacts are (for the popularity half-life)"
    )
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument(
        "--valid-frac",
        type=float,
        default=0.1,
        help="share of train pairs (by first-listen date) in the nested validation",
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ease-max-items", type=int, default=12_000)
    args = ap.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S"
    )
    if args.require_peers and args.skip_peers:
        ap.error("--require-peers and --skip-peers exclude each other")
    try:
        run(
            args.db,
            args.dataset,
            args.out,
            peers=args.peers_python,
            require_peers=args.require_peers,
            skip_peers=args.skip_peers,
            seed=args.seed,
            n_resamples=args.resamples,
            valid_frac=args.valid_frac,
            threads=args.threads,
            ease_max_items=args.ease_max_items,
            artifacts_dir=args.artifacts_dir,
        )
    except PeersUnavailable as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
