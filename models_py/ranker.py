"""Step ``ranker``: CatBoost re-ranking of ALS + popularity candidates → ``recs_final``.

Phase ``fit``: ALS retrained on events_fit, candidates and features of the fit phase, labels
= events_labels (the last ``label_days`` of train). Fit users are split (seeded) into train
and validation; a Logloss classifier and a YetiRank ranker are both trained and the one
with the better validation NDCG@5 (against all of a user's label tracks) is kept, and served
only if it also beats the single lists it re-ranks (ALS, popularity) on the same validation
users; otherwise, or when too few label users exist to train it, the best of those lists is
served as ``recs_final`` and the log and report say so.
Phase ``serve``: the published ALS model and its top lists (step ``als``, ``recs_als``), serve
features, every user with history, top ``n_recs`` by the kept model's score.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from models_py import als
from models_py import metrics as M
from models_py.artifacts import factors_path, load_half_life
from models_py.candidates import PhaseModels, candidates, recent_top
from models_py.data import interactions_cache, load_interactions
from models_py.db import artifacts_dir, connect, long_table, require_tables, timed, write_table
from models_py.features import FEATURES, REQUIRED_TABLES, PhaseFeatures, candidate_features, prepare_phase
from models_py.popularity import popularity_scores
from models_py.topk import top_k_from_ranking
from music_recs.config import RankerSettings, Settings
from music_recs.logs import setup_logging
from music_recs.tables import Columns as C
from music_recs.tables import Phases, Tables

log = logging.getLogger("models_py.ranker")

LOSSES = ("Logloss", "YetiRank")
#: Single lists the re-ranker must beat to be served, by the candidate column whose ascending
#: order is that list: every list's top n_recs are among the candidates, so the comparison
#: on candidate frames is fair. In this order ties go to the earlier list.
SOURCES: dict[str, str] = {"als": "als_rank", "popularity": "pop_rank"}
VALIDATION_K = 5
#: Users scored per serve chunk. Each chunk's feature query joins the phase's affinity tables
#: once, so larger chunks spread that fixed cost over more users; at this size a chunk's
#: candidate frame still does not raise the step's peak memory, which is reached while loading.
SERVE_CHUNK_USERS = 40000


@dataclass
class Selection:
    """What the fit phase chose to serve: a CatBoost model, or a single list (``model`` None)."""

    model: object | None
    served: str  # a loss of LOSSES, or a list of SOURCES
    results: dict[str, float]  # validation NDCG@5 by contender
    n_users: int  # validation users behind ``results``

    @property
    def reason(self) -> str:
        if self.model is not None:
            return f"the {self.served} re-ranker beat every single list on validation"
        if not self.results:
            return "no label user has fit history: nothing to validate on, ALS served by default"
        if not any(loss in self.results for loss in LOSSES):
            return f"only {self.n_users} label users with a label among their candidates: too few to train a re-ranker"
        return f"the {self.served} list beat the re-ranker on validation"


@dataclass
class TrainingData:
    frame: pd.DataFrame  # user_id, track_id, FEATURES, label; sorted by user
    n_labels: pd.Series  # label tracks per user (all of them, found by candidates or not)


def labelled_candidates(
    con: duckdb.DuckDBPyConnection,
    pm: PhaseModels,
    feats: PhaseFeatures,
    ranker: RankerSettings,
    n_candidates: int,
    seed: int,
) -> TrainingData:
    """Fit-phase candidates of label users (sampled), with features and 0/1 labels."""
    inter = pm.inter
    labels = con.execute(f"SELECT {C.User}, {C.Item} FROM {Tables.EventsLabels}").to_arrow_table().to_pandas()
    n_labels = labels.groupby(C.User).size()
    users = np.sort(n_labels.index.to_numpy())
    rows = inter.rows_of(users)
    rows = rows[rows >= 0]  # users new in the label window have no fit history to rank from
    rng = np.random.default_rng(seed)
    if len(rows) > ranker.max_users:
        rows = np.sort(rng.choice(rows, size=ranker.max_users, replace=False))
    log.info("ranker fit phase: %d label users with fit history (of %d label users)", len(rows), len(users))
    if len(rows) == 0:
        return TrainingData(pd.DataFrame(columns=[C.User, C.Item, *FEATURES, "label"]), n_labels)
    cand = candidates(pm, rows, ranker, n_candidates)
    frame = candidate_features(feats, cand)
    labels["label"] = 1.0
    frame = frame.merge(labels, on=[C.User, C.Item], how="left")
    frame["label"] = frame["label"].fillna(0.0).astype(np.float32)
    frame = frame.sort_values([C.User, C.Item], kind="stable").reset_index(drop=True)
    pos = frame.groupby(C.User)["label"].transform("sum")
    recall = frame["label"].sum() / n_labels.loc[np.unique(inter.user_ids[rows])].sum()
    log.info(
        "fit candidates: %d rows, %.1f%% of the sampled users' label tracks found", len(frame), 100 * recall
    )
    frame = frame[pos > 0].reset_index(drop=True)
    return TrainingData(frame, n_labels)


def _catboost(loss: str, ranker: RankerSettings, seed: int, threads: int):
    from catboost import CatBoostClassifier, CatBoostRanker

    common = dict(
        iterations=ranker.iterations,
        depth=ranker.depth,
        learning_rate=ranker.learning_rate,
        random_seed=seed,
        thread_count=threads,
        verbose=False,
        allow_writing_files=False,
    )
    if loss == "Logloss":
        return CatBoostClassifier(loss_function="Logloss", **common)
    if loss == "YetiRank":
        return CatBoostRanker(loss_function="YetiRank", **common)
    raise ValueError(f"unknown ranker loss {loss!r}")


def _pool(frame: pd.DataFrame):
    from catboost import Pool

    return Pool(
        frame[list(FEATURES)],
        label=frame["label"],
        group_id=frame[C.User].to_numpy(),
        feature_names=list(FEATURES),
    )


def predict(model, frame: pd.DataFrame) -> np.ndarray:
    """Raw model scores (higher = better) for both model kinds."""
    from catboost import CatBoostClassifier, Pool

    pool = Pool(frame[list(FEATURES)], feature_names=list(FEATURES))
    if isinstance(model, CatBoostClassifier):
        return np.asarray(model.predict(pool, prediction_type="RawFormulaVal"), dtype=np.float64)
    return np.asarray(model.predict(pool), dtype=np.float64)  # rankers predict raw values


def top_per_user(
    frame: pd.DataFrame, scores: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user ids, k track ids per user with PAD, scores) by descending score (ties: track id)."""
    users, items = frame[C.User].to_numpy(), frame[C.Item].to_numpy()
    scores = np.asarray(scores, dtype=np.float64)
    order = np.lexsort((items, -scores, users))
    users, items, scores = users[order], items[order], scores[order]
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]]) if len(users) else np.zeros(0, np.int64)
    sizes = np.diff(np.r_[starts, len(users)])
    pos = np.arange(len(users)) - np.repeat(starts, sizes)
    keep = pos < k
    inv = np.repeat(np.arange(len(starts)), sizes)[keep]
    tracks = np.full((len(starts), k), M.PAD, dtype=np.int64)
    out_scores = np.full((len(starts), k), np.nan)
    tracks[inv, pos[keep]] = items[keep]
    out_scores[inv, pos[keep]] = scores[keep]
    return users[starts], tracks, out_scores


def validation_ndcg(
    frame: pd.DataFrame, scores: np.ndarray, n_labels: pd.Series, k: int = VALIDATION_K
) -> float:
    """Mean NDCG@k of a scored candidate frame; ideal DCG counts all of a user's labels."""
    users, tracks, _ = top_per_user(frame, scores, k)
    pos = frame[frame["label"] > 0]
    rel_rows = np.searchsorted(users, pos[C.User].to_numpy())
    hits = M.hit_matrix(tracks, rel_rows, pos[C.Item].to_numpy())
    return float(M.ndcg_at_k(hits, n_labels.loc[users].to_numpy(), k).mean())


def sample_negatives(frame: pd.DataFrame, n_negatives: int, seed: int) -> pd.DataFrame:
    """Every positive plus up to ``n_negatives`` random negatives per user (0 = keep all).

    Cuts training cost several-fold; the validation users keep all their candidates, so the
    loss comparison is made on the lists the model will really rank.
    """
    if n_negatives <= 0:
        return frame
    key = np.random.default_rng(seed).random(len(frame))
    neg = frame["label"].to_numpy() <= 0
    order = pd.DataFrame({"u": frame[C.User].to_numpy(), "neg": neg, "key": np.where(neg, key, -1.0)})
    order = order.sort_values(["u", "key"], kind="stable")
    groups = order.groupby("u")["neg"]
    nth = order.groupby("u").cumcount() - (groups.transform("size") - groups.transform("sum"))
    keep = np.ones(len(frame), dtype=bool)
    keep[order.index.to_numpy()] = (~order["neg"].to_numpy()) | (nth.to_numpy() < n_negatives)
    return frame[keep].reset_index(drop=True)


def source_results(frame: pd.DataFrame, n_labels: pd.Series) -> dict[str, float]:
    """Validation NDCG@5 of each single list of SOURCES on a labelled candidate frame."""
    return {
        name: validation_ndcg(frame, -frame[col].to_numpy(dtype=np.float64), n_labels)
        for name, col in SOURCES.items()
    }


def best_of(results: dict[str, float], order: tuple[str, ...]) -> str:
    """The contender with the best result; ties go to the earlier one in ``order``."""
    return max((name for name in order if name in results), key=lambda n: (results[n], -order.index(n)))


def fit_ranker(data: TrainingData, ranker: RankerSettings, *, seed: int, threads: int) -> Selection:
    """Pick what to serve on a user split of the label users: a CatBoost re-ranker (Logloss
    or YetiRank) or, when it does not beat them, the best single list (SOURCES).

    Both losses train on the same sample of at most ``ranker_select_users`` training users
    (YetiRank costs several times Logloss per row) and are scored with the single lists on all
    validation users; a winning loss is then trained on every label user
    (``ranker_refit_all``) or on every training user. With fewer than ``ranker_min_users``
    users no model is trained and the lists are compared on all of them.
    """
    frame = data.frame
    users = np.unique(frame[C.User].to_numpy())
    if not ranker.fallback and len(users) < 4:
        raise ValueError(
            f"only {len(users)} fit users with a label among their candidates: too few to train "
            "the ranker (ranker_fallback = true serves the best single list instead)"
        )
    if len(users) == 0:
        log.warning(
            "ranker: no label user with fit history found a label among its candidates: "
            "nothing to validate on; serving the ALS list"
        )
        return Selection(None, "als", {}, 0)
    if len(users) < ranker.min_users and ranker.fallback:
        results = source_results(frame, data.n_labels)
        best = best_of(results, tuple(SOURCES))
        log.warning(
            "ranker: only %d fit users with a label among their candidates (ranker_min_users = %d): "
            "too few to train a re-ranker; serving the best single list on them: %s (validation "
            "NDCG@%d %s)",
            len(users),
            ranker.min_users,
            best,
            VALIDATION_K,
            _fmt(results),
        )
        return Selection(None, best, results, len(users))
    rng = np.random.default_rng(seed)
    n_valid = max(1, int(round(len(users) * ranker.valid_share)))
    if n_valid < ranker.kfold_below:
        return _fit_kfold(data, users, rng, ranker, seed, threads)
    valid_users = rng.choice(users, size=n_valid, replace=False)
    train_users = np.setdiff1d(users, valid_users)
    select_users = train_users
    if 0 < ranker.select_users < len(train_users):
        select_users = np.sort(rng.choice(train_users, size=ranker.select_users, replace=False))
    valid = frame[frame[C.User].isin(valid_users)].reset_index(drop=True)
    train = sample_negatives(
        frame[frame[C.User].isin(train_users)].reset_index(drop=True), ranker.negatives, seed
    )
    select = train[train[C.User].isin(select_users)].reset_index(drop=True)
    log.info(
        "ranker data: %d training users / %d rows (loss selection on %d users / %d rows); "
        "validation: %d users / %d rows",
        len(train_users),
        len(train),
        len(select_users),
        len(select),
        n_valid,
        len(valid),
    )
    results = source_results(valid, data.n_labels)
    models = {}
    for loss in LOSSES:
        with timed(log, f"CatBoost {loss} on {len(select_users)} users"):
            model = _catboost(loss, ranker, seed, threads)
            model.fit(_pool(select))
        results[loss] = validation_ndcg(valid, predict(model, valid), data.n_labels)
        models[loss] = model
        log.info(
            "ranker validation NDCG@%d: %-9s %.4f (ALS %.4f, popularity %.4f)",
            VALIDATION_K,
            loss,
            results[loss],
            results["als"],
            results["popularity"],
        )
    best = _winner(results, n_valid, ranker.fallback)
    if best in SOURCES:
        return Selection(None, best, results, n_valid)
    model = models[best]
    # the winner on all training users is the served model only without the refit below;
    # with it, that fit would only buy one more validation number at the cost of a full fit
    if len(select_users) < len(train_users) and not ranker.refit_all:
        with timed(log, f"CatBoost {best} on all {len(train_users)} training users"):
            model = _catboost(best, ranker, seed, threads)
            model.fit(_pool(train))
        results[f"{best} (all training users)"] = validation_ndcg(valid, predict(model, valid), data.n_labels)
    if ranker.refit_all:
        model = _refit(frame, best, len(users), ranker, seed, threads)
    for name, value in results.items():
        log.info("ranker validation NDCG@%d: %-22s %.4f", VALIDATION_K, name, value)
    log.info("ranker keeps %s", best)
    return Selection(model, best, results, n_valid)


def _fit_kfold(
    data: TrainingData,
    users: np.ndarray,
    rng: np.random.Generator,
    ranker: RankerSettings,
    seed: int,
    threads: int,
) -> Selection:
    """The choice of ``fit_ranker`` made on out-of-fold scores of every label user.

    Why: on a small log (a few hundred label users) one 20% split leaves a few dozen
    validation users, too few to tell a re-ranker from a single list; folds score everyone.
    """
    frame = data.frame
    n_folds = max(2, int(round(1 / ranker.valid_share)))
    fold_of_user = dict(zip(rng.permutation(users).tolist(), np.arange(len(users)) % n_folds))
    fold = frame[C.User].map(fold_of_user).to_numpy()
    scores = {loss: np.zeros(len(frame)) for loss in LOSSES}
    with timed(log, f"CatBoost {' and '.join(LOSSES)} on {n_folds} folds of {len(users)} users"):
        for f in range(n_folds):
            train = sample_negatives(frame[fold != f].reset_index(drop=True), ranker.negatives, seed + f)
            valid = frame[fold == f].reset_index(drop=True)
            for loss in LOSSES:
                model = _catboost(loss, ranker, seed, threads)
                model.fit(_pool(train))
                scores[loss][fold == f] = predict(model, valid)
    results = source_results(frame, data.n_labels)
    for loss in LOSSES:
        results[loss] = validation_ndcg(frame, scores[loss], data.n_labels)
    best = _winner(results, len(users), ranker.fallback)
    if best in SOURCES:
        return Selection(None, best, results, len(users))
    log.info("ranker keeps %s (out-of-fold validation NDCG@%d %s)", best, VALIDATION_K, _fmt(results))
    return Selection(_refit(frame, best, len(users), ranker, seed, threads), best, results, len(users))


def _winner(results: dict[str, float], n_users: int, fallback: bool) -> str:
    """The served contender: a single list wins ties and is logged as a warning (only the
    losses compete with ``ranker_fallback`` off)."""
    best = best_of(results, (*SOURCES, *LOSSES) if fallback else LOSSES)
    if best in SOURCES:
        log.warning(
            "ranker: the %s list beats both re-rankers on %d validation users (NDCG@%d %s): serving it",
            best,
            n_users,
            VALIDATION_K,
            _fmt(results),
        )
    return best


def _refit(frame: pd.DataFrame, loss: str, n_users: int, ranker: RankerSettings, seed: int, threads: int):
    """The kept loss trained on every label user (validation users included)."""
    everyone = sample_negatives(frame, ranker.negatives, seed)
    with timed(log, f"CatBoost {loss} refit on all {n_users} label users (validation included)"):
        model = _catboost(loss, ranker, seed, threads)
        model.fit(_pool(everyone))
    return model


def _fmt(results: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:.4f}" for name, value in results.items())


def rerank(
    pm: PhaseModels,
    feats: PhaseFeatures,
    model,
    rows: np.ndarray,
    ranker: RankerSettings,
    n_candidates: int,
    n_recs: int,
    recent_cols: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Re-ranked top ``n_recs`` for user ``rows`` of the phase (``feats`` from ``prepare_phase``;
    ``recent_cols``: the rows' ``recent_top`` when already searched)."""
    frame = candidate_features(feats, candidates(pm, rows, ranker, n_candidates, recent_cols))
    return top_per_user(frame, predict(model, frame), n_recs)


def serve(
    pm: PhaseModels, feats: PhaseFeatures, model, ranker: RankerSettings, n_candidates: int, n_recs: int
) -> pa.Table:
    """Re-ranked top ``n_recs`` for every user with history, in user chunks.

    The next chunk's recent-taste search runs in a second thread while this chunk is scored:
    faiss releases the GIL and the rest of a chunk is mostly single-threaded numpy, so the two
    share the 2 cores (the same lists as searching in turn).
    """
    inter = pm.inter
    chunks = [
        np.arange(lo, min(lo + SERVE_CHUNK_USERS, inter.n_users))
        for lo in range(0, inter.n_users, SERVE_CHUNK_USERS)
    ]
    parts = []
    with ThreadPoolExecutor(max_workers=1) as pool:
        recent = pool.submit(recent_top, pm, chunks[0], ranker.recent_candidates)
        for i, rows in enumerate(chunks):
            recent_cols = recent.result()
            if i + 1 < len(chunks):
                recent = pool.submit(recent_top, pm, chunks[i + 1], ranker.recent_candidates)
            parts.append(
                long_table(*rerank(pm, feats, model, rows, ranker, n_candidates, n_recs, recent_cols))
            )
            log.info("ranker serve: %d/%d users scored", rows[-1] + 1, inter.n_users)
    return pa.concat_tables(parts)


def serve_source(
    con: duckdb.DuckDBPyConnection, db_path: Path, source: str, half_life: float, settings: Settings
) -> pa.Table:
    """``recs_final`` as one single list: the top ``n_recs`` of recs_als, or of the serve
    phase's popularity ranking without what each user heard, for every user with history."""
    if source == "als":
        return con.execute(
            f"SELECT {C.User}, {C.Item}, {C.Score}, {C.Rank} FROM {Tables.RecsAls} "
            f"WHERE {C.Rank} <= ? ORDER BY {C.User}, {C.Rank}",
            [settings.models.n_recs],
        ).to_arrow_table()
    if source != "popularity":
        raise ValueError(f"unknown single list {source!r}")
    inter = load_interactions(con, Phases.Serve, interactions_cache(db_path, settings))
    track_ids, scores = popularity_scores(con, Phases.Serve, half_life)
    cols = inter.cols_of(track_ids)
    parts = []
    for lo in range(0, inter.n_users, SERVE_CHUNK_USERS):
        rows = np.arange(lo, min(lo + SERVE_CHUNK_USERS, inter.n_users))
        pos = top_k_from_ranking(cols, inter.matrix, rows, settings.models.n_recs)
        ok = pos != M.PAD
        tracks = np.where(ok, track_ids[np.maximum(pos, 0)], M.PAD)
        parts.append(
            long_table(inter.user_ids[rows], tracks, np.where(ok, scores[np.maximum(pos, 0)], np.nan))
        )
    return pa.concat_tables(parts)


def model_path(db_path: Path, settings: Settings) -> Path:
    return artifacts_dir(db_path, settings) / "ranker.cbm"


def load_model(db_path: Path, settings: Settings):
    """The re-ranker saved by this build's ranker step (classifier or ranker, per ranker.json)."""
    from catboost import CatBoostClassifier, CatBoostRanker

    meta_path = artifacts_dir(db_path, settings) / "ranker.json"
    if not meta_path.is_file():
        raise FileNotFoundError(f"{meta_path}: run the ranker step first")
    loss = json.loads(meta_path.read_text())["loss"]
    model = CatBoostClassifier() if loss == "Logloss" else CatBoostRanker()
    model.load_model(str(model_path(db_path, settings)))
    return model


def fit_phase(
    con: duckdb.DuckDBPyConnection, db_path: Path, half_life: float, settings: Settings
) -> Selection:
    """ALS on events_fit, labelled candidates, the CatBoost model. A function of its own so
    the fit-phase matrix, factors and candidates (gigabytes at full scale) are freed before
    the serve phase loads events_train."""
    fit_inter = load_interactions(con, Phases.Fit, interactions_cache(db_path, settings))
    with timed(log, "ALS on events_fit"):
        fit_model = als.train(
            fit_inter, settings.als, seed=settings.seed, threads=settings.models.train_threads
        )
    fit_model.save(factors_path(db_path, settings, Phases.Fit))
    feats = prepare_phase(con, fit_inter)
    with timed(log, "fit candidates and features"):
        pm = PhaseModels.build(
            con,
            fit_inter,
            fit_model,
            half_life,
            settings.ranker,
            settings.als,
            seed=settings.seed,
            threads=settings.models.train_threads,
        )
        data = labelled_candidates(
            con, pm, feats, settings.ranker, settings.models.n_candidates, settings.seed
        )
    del fit_inter, fit_model, pm
    return fit_ranker(data, settings.ranker, seed=settings.seed, threads=settings.models.train_threads)


def run(db_path: Path, settings: Settings) -> None:
    setup_logging("models_py.ranker", logs_dir=settings.logs_dir)
    out_dir = artifacts_dir(db_path, settings)
    with timed(log, "ranker"), connect(db_path, memory_limit=settings.models.memory_limit) as con:
        require_tables(
            con,
            Tables.EventsFit,
            Tables.EventsLabels,
            Tables.EventsTrain,
            Tables.RecsAls,
            Tables.UserIndex,
            Tables.TrackIndex,
            Tables.SplitInfo,
            *REQUIRED_TABLES,
            step="ranker",
        )
        half_life = load_half_life(db_path, settings)
        sel = fit_phase(con, db_path, half_life, settings)
        model = sel.model
        (out_dir / "ranker.json").write_text(
            json.dumps(
                {
                    "served": sel.served,
                    "loss": sel.served if model is not None else None,
                    "reason": sel.reason,
                    "validation_users": sel.n_users,
                    "validation_ndcg@5": sel.results,
                    "features": list(FEATURES),
                },
                indent=2,
            )
        )
        importance = np.zeros(0)
        if model is not None:
            model.save_model(str(model_path(db_path, settings)))
            importance = np.asarray(
                model.get_feature_importance(type="PredictionValuesChange"), dtype=np.float64
            )
        write_table(
            con,
            Tables.FeatureImportance,
            pa.table(
                {
                    C.Feature: pa.array(list(FEATURES) if model is not None else [], pa.string()),
                    C.Importance: pa.array(importance, pa.float64()),
                }
            ),
            order_by=f"{C.Importance} DESC, {C.Feature}",
        )
        if model is None:
            log.warning("ranker: %s; recs_final = the %s list", sel.reason, sel.served)
            n = write_table(
                con,
                Tables.RecsFinal,
                serve_source(con, db_path, sel.served, half_life, settings),
                order_by=f"{C.User}, {C.Rank}",
            )
            log.info("wrote %s: %d rows", Tables.RecsFinal, n)
            return

        serve_inter = load_interactions(con, Phases.Serve, interactions_cache(db_path, settings))
        serve_model = als.AlsModel.load(factors_path(db_path, settings, Phases.Serve))
        feats = prepare_phase(con, serve_inter)
        with timed(log, "serve candidates, features and scoring"):
            pm = PhaseModels.build(
                con,
                serve_inter,
                serve_model,
                half_life,
                settings.ranker,
                settings.als,
                seed=settings.seed,
                threads=settings.models.train_threads,
            )
            pm.als_lists = als.published_lists(con, serve_inter, settings.models.n_candidates)
            if pm.als_lists is None:
                log.info(
                    "%s holds lists of another length than n_candidates: ALS candidates searched again",
                    Tables.RecsAls,
                )
            table = serve(
                pm, feats, model, settings.ranker, settings.models.n_candidates, settings.models.n_recs
            )
        n = write_table(con, Tables.RecsFinal, table, order_by=f"{C.User}, {C.Rank}")
        log.info("wrote %s: %d rows", Tables.RecsFinal, n)
