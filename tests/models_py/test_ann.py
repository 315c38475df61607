"""ANN top-k (models_py/ann.py): agrees with the exact path, keeps its contract, is deterministic."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from models_py import ann
from models_py.metrics import PAD
from models_py.topk import top_k_from_scores, top_k_norm_bounded

SEED = 7


def clustered_problem(
    n_users: int, n_items: int, dim: int = 16, heard_per_user: int = 30, seed: int = SEED
) -> tuple[np.ndarray, np.ndarray, sp.csr_matrix]:
    """Users and items around shared topics with heavy-tailed item norms (like ALS factors)."""
    rng = np.random.default_rng(seed)
    topics = rng.normal(size=(24, dim)).astype(np.float32)
    items = topics[rng.integers(0, 24, n_items)] + 0.6 * rng.normal(size=(n_items, dim))
    items *= rng.lognormal(0.0, 0.7, size=(n_items, 1))
    users = topics[rng.integers(0, 24, n_users)] + 0.6 * rng.normal(size=(n_users, dim))
    heard = np.concatenate([rng.choice(n_items, heard_per_user, replace=False) for _ in range(n_users)])
    indptr = np.arange(0, n_users * heard_per_user + 1, heard_per_user)
    exclude = sp.csr_matrix((np.ones(len(heard), np.float32), heard, indptr), shape=(n_users, n_items))
    exclude.sort_indices()
    return users.astype(np.float32), items.astype(np.float32), exclude


def mean_recall(exact: np.ndarray, approx: np.ndarray) -> float:
    """Share of each exact list found in the approximate list, averaged over users."""
    return float(
        np.mean(
            [
                len(np.intersect1d(e[e != PAD], a[a != PAD])) / max(1, (e != PAD).sum())
                for e, a in zip(exact, approx)
            ]
        )
    )


def test_ann_top_k_agrees_with_exact_and_never_returns_heard(caplog):
    users, items, exclude = clustered_problem(600, 4000)
    exact, exact_scores = top_k_from_scores(users, items, 50, exclude=exclude)
    with caplog.at_level(logging.INFO, logger="models_py.ann"):
        got, scores = ann.top_k_ann(users, items, 50, exclude, nprobe=48, seed=SEED, threads=1)
    assert "0 fell back to exact" in caplog.text  # the lists come from the index, not the fallback
    assert mean_recall(exact, got) > 0.98
    # fewer probes: visibly worse, so the threshold above tests the search, not luck
    rough, _ = ann.top_k_ann(users, items, 50, exclude, nprobe=8, seed=SEED, threads=1)
    assert mean_recall(exact, rough) < 0.97
    heard = exclude.toarray() != 0
    assert not heard[np.arange(len(users))[:, None], got].any()
    assert (got != PAD).all()  # 4000 - 30 unheard items: every list is full
    # scores are the true dot products, best first, like the exact path
    assert np.allclose(scores, np.einsum("uf,ukf->uk", users, items[got]), atol=1e-4)
    assert (np.diff(scores, axis=1) <= 1e-6).all()
    same = got[:, 0] == exact[:, 0]
    assert same.mean() > 0.98 and np.allclose(scores[same, 0], exact_scores[same, 0], atol=1e-4)


def test_heavy_listeners_fall_back_to_exact_and_short_lists_are_pad_filled():
    users, items, _ = clustered_problem(40, 300, heard_per_user=1)
    rng = np.random.default_rng(SEED)
    # user 0 heard the 150 items it likes most (more than max_extra), user 1 heard all but 3
    best0 = np.argsort(-(items @ users[0]))[:150]
    rows = [np.sort(best0), np.sort(rng.choice(300, 297, replace=False))] + [np.array([], int)] * 38
    exclude = sp.csr_matrix(
        (
            np.ones(sum(map(len, rows)), np.float32),
            np.concatenate(rows),
            np.concatenate([[0], np.cumsum([len(r) for r in rows])]),
        ),
        shape=(40, 300),
    )
    exact, exact_scores = top_k_from_scores(users, items, 10, exclude=exclude)
    got, scores = ann.top_k_ann(users, items, 10, exclude, nprobe=3, max_extra=20, seed=SEED, threads=1)
    assert got[0].tolist() == exact[0].tolist()  # ANN depth 10 + 20 sees only heard items -> exact
    assert (got[1, :3] != PAD).all() and (got[1, 3:] == PAD).all() and np.isnan(scores[1, 3:]).all()
    assert sorted(got[1, :3].tolist()) == sorted(exact[1, :3].tolist())
    assert np.array_equal(got[1] == PAD, exact[1] == PAD)
    # fewer items than k: both paths give every item then PAD
    few_exact, _ = top_k_from_scores(users[:5], items[:4], 6)
    few, few_scores = ann.top_k_ann(users[:5], items[:4], 6, None, seed=SEED)
    assert few.tolist() == few_exact.tolist() and np.isnan(few_scores[:, 4:]).all()


def test_ann_is_deterministic_for_a_seed():
    users, items, exclude = clustered_problem(300, 3000)
    a = ann.top_k_ann(users, items, 20, exclude, nprobe=4, seed=SEED, threads=2)
    b = ann.top_k_ann(users, items, 20, exclude, nprobe=4, seed=SEED, threads=2)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def _run(settings) -> dict:
    """The seed and threads the model steps pass with ``settings.als``."""
    return {"seed": settings.seed, "threads": settings.models.train_threads}


def test_settings_choose_the_search(tmp_path: Path, settings_for):
    assert not ann.use_ann(37_000, 26_000, settings_for(tmp_path).als)  # demo size stays exact
    assert ann.use_ann(1_280_000, 871_000, settings_for(tmp_path).als)  # full size goes ANN
    assert ann.use_ann(10, 10, settings_for(tmp_path, als_search="ann").als)
    assert not ann.use_ann(10**7, 10**7, settings_for(tmp_path, als_search="exact").als)
    users, items, exclude = clustered_problem(50, 500)
    forced_s = settings_for(tmp_path, als_search="ann", als_ann_nprobe=500)
    forced = ann.top_k(users, items, 10, exclude, forced_s.als, **_run(forced_s), what="test")
    exact_s = settings_for(tmp_path, als_search="exact")
    exact = ann.top_k(users, items, 10, exclude, exact_s.als, **_run(exact_s), what="test")
    assert np.array_equal(forced[0], exact[0])  # probing every list is exhaustive
    assert ann.exact_batch_size(871_000, 1024) == 77  # a score block stays ~256 MB at full size
    with pytest.raises(ValueError):
        ann.top_k_ann(users, items, 0, exclude)


def test_als_and_similar_steps_use_the_configured_search(tmp_path: Path, settings_for, caplog):
    from datetime import date

    from models_py import als, similar
    from models_py.data import Interactions

    users, items, heard = clustered_problem(300, 2000)
    track_ids = np.arange(2000, dtype=np.int64) * 10 + 5
    inter = Interactions(
        "serve",
        date(2022, 12, 1),
        np.arange(300, dtype=np.int64) + 1,
        track_ids,
        heard,
        np.ones(heard.nnz),
        np.zeros(heard.nnz),
    )
    model = als.AlsModel(inter.user_ids, track_ids, users, items)
    exact_s = settings_for(tmp_path, als_search="exact", als_score_days=0)
    ann_s = settings_for(tmp_path, als_search="ann", als_score_days=0, als_ann_nprobe=32)
    with caplog.at_level(logging.INFO, logger="models_py.ann"):
        _, exact_tracks, _ = als.recommend(model, inter, 20, exact_s.als, **_run(exact_s))
        assert "IVF index" not in caplog.text
        _, ann_tracks, _ = als.recommend(model, inter, 20, ann_s.als, **_run(ann_s))
        assert "ALS serve scoring: IVF index" in caplog.text
    assert mean_recall(exact_tracks, ann_tracks) > 0.95
    assert not np.isin(ann_tracks, track_ids[heard[0].indices]).any(axis=1)[0]
    cand = np.arange(0, 2000, 2)
    sim_exact, _ = similar.similar_tracks(model, cand, 10, exact_s.als, **_run(exact_s))
    with caplog.at_level(logging.INFO, logger="models_py.ann"):
        sim_ann, sim_scores = similar.similar_tracks(model, cand, 10, ann_s.als, **_run(ann_s))
    assert "similar tracks: IVF index" in caplog.text
    assert mean_recall(sim_exact, sim_ann) > 0.95
    assert not (sim_ann == track_ids[:, None]).any()  # a track is never its own neighbour
    assert np.isin(sim_ann, track_ids[cand]).all() and (sim_scores <= 1.0001).all()


def test_a_searcher_builds_its_index_once_and_chunks_equal_one_call(tmp_path: Path, settings_for, caplog):
    """The ranker scores a phase in user chunks: same lists as one call, one index build."""
    users, items, exclude = clustered_problem(600, 4000)
    settings = settings_for(tmp_path, als_search="ann", als_ann_nprobe=48)
    searcher = ann.Searcher(items, len(users), settings.als, **_run(settings), what="chunked")
    with caplog.at_level(logging.INFO, logger="models_py.ann"):
        parts = [
            searcher.top_k(users[lo : lo + 200], 30, exclude[lo : lo + 200]) for lo in range(0, 600, 200)
        ]
    assert caplog.text.count("chunked: IVF index") == 1
    whole = ann.Searcher(items, len(users), settings.als, **_run(settings), what="whole").top_k(
        users, 30, exclude
    )
    assert np.array_equal(np.vstack([p[0] for p in parts]), whole[0])
    assert np.allclose(np.vstack([p[1] for p in parts]), whole[1], equal_nan=True)


def test_auto_picks_the_bounded_exact_search_for_spread_norms_and_ann_for_unit_vectors(
    tmp_path: Path, settings_for, caplog
):
    """auto: a large problem (by the phase's total users, not the chunk's) whose item norms
    settle the probe users stays exact; unit vectors (cosine) go to the IVF index."""
    users, items, exclude = clustered_problem(300, 20000)
    items *= np.random.default_rng(SEED).lognormal(0.0, 2.0, size=(len(items), 1)).astype(np.float32)
    settings = settings_for(tmp_path, als_search="auto", als_ann_min_pairs=1_000_000, als_ann_nprobe=48)
    assert not ann.use_ann(30, len(items), settings.als)  # a 30-user chunk alone would stay exact
    with caplog.at_level(logging.INFO, logger="models_py.ann"):
        spread = ann.Searcher(items, len(users), settings.als, **_run(settings), what="spread")
        got, _ = spread.top_k(users[:30], 10, exclude[:30])
        unit = items / np.linalg.norm(items, axis=1, keepdims=True)
        cosine = ann.Searcher(unit, len(users), settings.als, **_run(settings), what="cosine")
        cosine.top_k(users[:30], 10, exclude[:30])
    assert spread.ann is False and "spread: IVF index" not in caplog.text
    assert cosine.ann is True and "cosine: IVF index" in caplog.text
    want, _ = top_k_from_scores(users[:30], items, 10, exclude=exclude[:30])
    assert np.array_equal(got, want)


@pytest.mark.parametrize("norm_sigma, first_items", [(2.0, 64), (2.0, 16384), (0.0, 64), (0.7, 128)])
def test_norm_bounded_search_returns_the_full_scan_answer(norm_sigma: float, first_items: int, caplog):
    """Exact, not approximate: same positions and scores as the full scan, whatever the norms
    (spread, flat = unit vectors, mild), over several rounds; users who heard almost
    everything get short lists; zero and opposite user vectors are handled."""
    users, items, exclude = clustered_problem(400, 3000, heard_per_user=40)
    rng = np.random.default_rng(SEED + 1)
    items[:, 0] += 4.0  # a direction every user likes, as ALS's popularity direction
    users[:, 0] = np.abs(users[:, 0]) + 4.0
    items = items / np.linalg.norm(items, axis=1, keepdims=True)
    items *= rng.lognormal(0.0, norm_sigma, size=(len(items), 1)).astype(np.float32)
    users[0] = 0.0
    users[1] = -users[2]
    heavy = exclude.tolil()
    heavy[3, :] = 1.0
    heavy[3, 5] = 0.0
    heavy[3, 9] = 0.0  # user 3 has two unheard items left
    exclude = heavy.tocsr()
    exclude.eliminate_zeros()
    want_idx, want_sc = top_k_from_scores(users, items, 25, exclude=exclude, batch_size=64)
    with caplog.at_level(logging.DEBUG, logger="models_py.topk"):
        got_idx, got_sc = top_k_norm_bounded(
            users,
            items,
            25,
            exclude=exclude,
            batch_size=64,
            first_items=first_items,
            block_users=150,
            what="bounded",
        )
    settled = [int(x) for x in caplog.text.split("settled per round [")[1].split("]")[0].split(",")]
    assert sum(settled) == len(users)
    if norm_sigma == 2.0 and first_items == 64:
        assert settled[0] > 0 and settled[-1] < len(users)  # the rounds did the work
    if norm_sigma == 0.0:
        assert settled[-1] == len(users)  # flat norms: straight to the full scan
    assert np.array_equal(got_idx, want_idx)
    assert np.allclose(got_sc, want_sc, rtol=1e-5, atol=1e-6, equal_nan=True)  # float32 matmul blocking
    assert list(got_idx[3, :2]) == sorted([5, 9], key=lambda j: -float(users[3] @ items[j]))
    assert (got_idx[3, 2:] == PAD).all()
