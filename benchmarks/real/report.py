"""``reports/real/<dataset>.md`` and ``.csv`` from the benchmark's results."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from benchmarks.real.protocol import KS, METRICS, SEGMENTS

NAMES = {"ndcg": "NDCG", "recall": "Recall", "precision": "Precision", "hit_rate": "HitRate"}


def metric_columns() -> list[str]:
    return [f"{m}@{k}" for k in KS for m in METRICS]


def table(frame: pd.DataFrame, segment: str) -> str:
    """Markdown table of one segment: rows = models, columns = metrics at each k."""
    f = frame[frame["segment"] == segment]
    cols = metric_columns()
    best = {c: f[c].max() for c in cols}
    head = "| model | " + " | ".join(f"{NAMES[c.split('@')[0]]}@{c.split('@')[1]}" for c in cols) + " |"
    lines = [head, "|---|" + "---|" * len(cols)]
    for _, r in f.iterrows():
        cells = [(f"**{r[c]:.4f}**" if r[c] == best[c] else f"{r[c]:.4f}") for c in cols]
        lines.append(f"| {r['model']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write(out_dir: Path, dataset: str, frame: pd.DataFrame, context: dict) -> tuple[Path, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / f"{dataset}.csv"
    md_path = out_dir / f"{dataset}.md"
    frame.to_csv(csv_path, index=False, float_format="%.6f")
    c = context
    md = [f"# Real-data benchmark: {dataset}", ""]
    b = c.get("build") or {}
    built = "; ".join(f"{k} {v}" for k, v in b.items())
    md += [f"Warehouse `{c['db']}` (file `{c['db_file']}`{'; ' + built if built else ''}).", ""]
    md += [
        f"{c['n_train_pairs']:,} train pairs ({c['n_train_users']:,} users, "
        f"{c['n_train_tracks']:,} tracks); {c['n_test_users']:,} test users ({c['n_warm']:,} warm, "
        f"{c['n_cold']:,} cold), {c['n_test_pairs']:,} test pairs; split date {c['split_date']}.",
        "",
    ]
    md += [
        "Protocol (as `models_py.evaluate`): every test user scored; cold users get the popularity "
        "list in every model; tracks heard in train never recommended; relevant = the user's test "
        "tracks; metrics from `models_py.metrics`, averaged over users. Warm = users with train history.",
        "",
    ]
    for segment in SEGMENTS:
        n = c["n_test_users"] if segment == "all" else c["n_warm"]
        md += [f"## {segment.capitalize()} test users ({n:,})", "", table(frame, segment), ""]
    md += ["## Ours (final) against the best other model, NDCG@5", ""]
    md += [
        "Paired bootstrap over test users (`benchmarks.bootstrap.paired_ratio`: "
        f"{c['n_resamples']} resamples, seed {c['seed']}); the best other model is the one with the "
        "highest NDCG@5 in the segment among all models except ours: final.",
        "",
    ]
    md += [
        "| segment | best other model | final NDCG@5 | best other NDCG@5 | ratio | 95% CI |",
        "|---|---|---|---|---|---|",
    ]
    for segment, b in c["bootstrap"].items():
        md.append(
            f"| {segment} | {b['best']} | {b['final']:.4f} | {b['other']:.4f} | {b['ci'].ratio:.3f} | "
            f"{b['ci'].low:.3f}-{b['ci'].high:.3f} |"
        )
    md += [
        "",
        "## Choices (nested split of train; the test window is never used to tune)",
        "",
        c["nested"],
        "",
    ]
    md += [f"- {name}: {value}" for name, value in c["choices"].items()]
    md += [
        "",
        "## Time per model",
        "",
        "Seconds on this machine: `choose` = the hyper-parameter grid on the nested split, `fit+recommend` = "
        "the final fit on train and the lists of the warm test users. Ours are read from the warehouse "
        "(their training time is in the build's logs).",
        "",
        "| model | choose (s) | fit+recommend (s) |",
        "|---|---|---|",
    ]
    for model, (choose, fit) in c["timings"].items():
        if model.startswith("ours:") and fit is None:
            md.append(f"| {model} | (in the build) | read from the warehouse |")
            continue
        md.append(
            f"| {model} | {'' if choose is None else f'{choose:.1f}'} | {'' if fit is None else f'{fit:.1f}'} |"
        )
    md += ["", "## Checks", ""] + [f"- {line}" for line in c["checks"]]
    if c.get("notes"):
        md += ["", "## Notes", ""] + [f"- {line}" for line in c["notes"]]
    md.append("")
    md_path.write_text("\n".join(md))
    return md_path, csv_path
