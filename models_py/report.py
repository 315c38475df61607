"""``reports/report.md`` with the model comparison tables and PNG plots (matplotlib, Agg)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from models_py.db import artifacts_dir
from music_recs.config import Settings
from music_recs.tables import Columns as C

#: Table columns: metric name in eval_metrics -> header.
HEADERS: dict[str, str] = {
    "precision": "P",
    "recall": "R",
    "recall_capped": "R capped",
    "ndcg": "NDCG",
    "map": "MAP",
    "hit_rate": "HitRate",
    "novelty": "Novelty",
    "diversity_genre": "Div genre",
    "diversity_artist": "Div artist",
    "coverage": "Coverage",
}
MODEL_ORDER = ("popularity", "als", "reranked", "oracle")


def markdown_table(frame: pd.DataFrame, segment: str, k: int) -> str:
    """One row per model, one column per metric (k in the headers)."""
    sub = frame[(frame[C.Segment] == segment) & (frame[C.K] == k)]
    if sub.empty:
        return f"_no {segment} users_\n"
    wide = sub.pivot(index=C.Model, columns=C.Metric, values=C.Value)
    models = [m for m in MODEL_ORDER if m in wide.index]
    n_users = int(wide["n_users"].iloc[0]) if "n_users" in wide else 0
    cols = [m for m in HEADERS if m in wide.columns]
    lines = [
        f"| model ({n_users} users) | " + " | ".join(f"{HEADERS[c]}@{k}" for c in cols) + " |",
        "|---|" + "---|" * len(cols),
    ]
    for model in models:
        cells = [f"{wide.loc[model, c]:.2f}" if c == "novelty" else f"{wide.loc[model, c]:.4f}" for c in cols]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_models(frame: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("ndcg", 5), ("recall", 5), ("novelty", 5), ("coverage", 5)]
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.6))
    segments = ("all", "warm", "cold")
    for ax, (metric, k) in zip(axes, panels):
        sub = frame[(frame[C.Metric] == metric) & (frame[C.K] == k)]
        models = [m for m in MODEL_ORDER if m in set(sub[C.Model])]
        x = np.arange(len(models))
        for i, seg in enumerate(segments):
            vals = [sub[(sub[C.Model] == m) & (sub[C.Segment] == seg)][C.Value].mean() for m in models]
            ax.bar(x + (i - 1) * 0.27, np.nan_to_num(vals), width=0.27, label=seg)
        ax.set_xticks(x, models, rotation=20)
        ax.set_title(f"{metric}@{k}")
    axes[0].legend(title="segment", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_importance(importance: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    imp = importance.sort_values(C.Importance)
    fig, ax = plt.subplots(figsize=(7, 0.28 * len(imp) + 1))
    ax.barh(imp[C.Feature], imp[C.Importance])
    ax.set_xlabel("importance (PredictionValuesChange)")
    ax.set_title("CatBoost re-ranker feature importance")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _fmt(scores: dict | None) -> str:
    return ", ".join(f"{k}: {v:.4f}" for k, v in (scores or {}).items()) or "fixed by settings"


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def data_quality_section(db_path: Path, settings: Settings) -> str:
    """ "Data quality": the warehouse's data_quality rows with n_rows > 0 (raw rows that broke
    the contract and what the build did with them); "" when there are none or no such table.

    The evaluate step holds the build file open in this process: a connection with the same
    configuration shares it (DuckDB refuses a second one with another), else read-only."""
    import duckdb

    from models_py.db import connect

    for kwargs in ({"memory_limit": settings.models.memory_limit}, {"read_only": True}):
        try:
            con = connect(db_path, **kwargs)
        except duckdb.Error:
            continue
        try:
            if "data_quality" not in {
                r[0]
                for r in con.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
                ).fetchall()
            }:
                return ""
            rows = con.execute(
                "SELECT source_file, check_name, n_rows, action FROM data_quality WHERE n_rows > 0"
            ).fetchall()
        finally:
            con.close()
        if not rows:
            return ""
        lines = [
            "\n## Data quality\n",
            "Raw rows that broke the contract of their file, and what the build did with them "
            "(table `data_quality`; docs/warehouse.md):\n",
            "| file | check | rows | action |",
            "|---|---|---|---|",
        ]
        lines += [f"| {f} | {c} | {n:,} | {a} |" for f, c, n, a in rows]
        return "\n".join(lines) + "\n"
    return ""


def write_report(
    frame: pd.DataFrame, importance: pd.DataFrame | None, db_path: Path, settings: Settings
) -> Path:
    """Write report.md and its plots under ``settings.reports_dir``; return the report path."""
    out = Path(settings.reports_dir)
    out.mkdir(parents=True, exist_ok=True)
    plot_models(frame, out / "model_comparison.png")
    art = artifacts_dir(db_path, settings)
    pop, ranker = _read_json(art / "popularity.json"), _read_json(art / "ranker.json")
    parts = [
        f"# Recommendation quality — build `{Path(db_path).stem}`\n",
        "Protocol (docs/evaluation.md): global time split; models and features see only "
        "the train window; the re-ranker learns on a label window at the end of train. Every "
        "test user is scored; cold users (no train history) get the popularity fallback in "
        "every model. **Tracks a user already heard in train are never recommended** (the log "
        "holds first listens only). Averages are over users.\n",
        "## All test users, k = 5 (headline)\n",
        markdown_table(frame, "all", 5),
    ]
    share = frame[(frame[C.Metric] == "ndcg_oracle_share") & (frame[C.K] == 5)].set_index(C.Model)[C.Value]
    if len(share):
        n_oracle = frame[
            (frame[C.Model] == "oracle") & (frame[C.Metric] == "n_users") & (frame[C.Segment] == "all")
        ][C.Value]
        parts.append(
            f"\nNDCG@5 as a share of the oracle's (generator truth, an upper reference; both on the "
            f"oracle's seeded sample of {int(n_oracle.iloc[0])} test users, whose metrics the oracle "
            "rows above show): "
            + ", ".join(f"{m} {share[m]:.1%}" for m in MODEL_ORDER if m in share.index and m != "oracle")
            + ".\n"
        )
    else:
        parts.append("\nNo oracle: the raw folder has no generator `_truth/` (real data).\n")
    for seg in ("warm", "cold"):
        parts += [f"\n## {seg.capitalize()} users, k = 5\n", markdown_table(frame, seg, 5)]
    for k in (10, 20):
        parts += [f"\n## All test users, k = {k}\n", markdown_table(frame, "all", k)]
    parts.append("\n![model comparison](model_comparison.png)\n")
    parts.append("\n## Choices made on validation (label window inside train)\n")
    if pop:
        parts.append(
            f"- Popularity half-life: {pop.get('half_life_days')} days "
            f"(validation NDCG@5 by half-life: {_fmt(pop.get('validation_ndcg@5'))}).\n"
        )
    if ranker:
        served = ranker.get("served", ranker.get("loss"))
        what = f"the {served} re-ranker" if ranker.get("loss") else f"the {served} list, not a re-ranker"
        parts.append(
            f"- Final list (`recs_final`, the `reranked` rows above): {what}, because "
            f"{ranker.get('reason', 'it won on validation')} (validation NDCG@5 on "
            f"{ranker.get('validation_users', '?')} users: {_fmt(ranker.get('validation_ndcg@5'))}).\n"
        )
    if importance is not None and not importance.empty:
        plot_importance(importance, out / "feature_importance.png")
        parts.append("\n![feature importance](feature_importance.png)\n")
    parts.append(data_quality_section(db_path, settings))
    path = out / "report.md"
    path.write_text("\n".join(parts))
    return path
