"""Metric code vs hand-computed answers, a brute-force reference written differently, and ranx."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.spatial.distance import jaccard

from models_py import metrics as M

PAD = M.PAD


# ---------- brute-force references: plain Python over lists and sets ---------------------
def ref_precision(lst, rel, k):
    return sum(1 for x in lst[:k] if x in rel) / k


def ref_recall(lst, rel, k):
    return len(set(lst[:k]) & rel) / len(rel)


def ref_recall_capped(lst, rel, k):
    return len(set(lst[:k]) & rel) / min(len(rel), k)


def ref_ndcg(lst, rel, k):
    dcg = 0.0
    for pos, x in enumerate(lst[:k], start=1):
        if x in rel:
            dcg += 1 / math.log2(pos + 1)
    idcg = sum(1 / math.log2(pos + 1) for pos in range(1, min(len(rel), k) + 1))
    return dcg / idcg


def ref_ap(lst, rel, k):
    found, total = 0, 0.0
    for pos, x in enumerate(lst[:k], start=1):
        if x in rel:
            found += 1
            total += found / pos
    return total / min(len(rel), k)


def ref_hit(lst, rel, k):
    return float(any(x in rel for x in lst[:k]))


REFERENCES = {
    "precision": ref_precision,
    "recall": ref_recall,
    "recall_capped": ref_recall_capped,
    "ndcg": ref_ndcg,
    "map": ref_ap,
    "hit_rate": ref_hit,
}


def to_array(lists, width):
    out = np.full((len(lists), width), PAD, dtype=np.int64)
    for row, lst in enumerate(lists):
        out[row, : len(lst)] = lst
    return out


def hits_for(lists, rels, width):
    recs = to_array(lists, width)
    rows = [r for r, rel in enumerate(rels) for _ in rel]
    items = [x for rel in rels for x in sorted(rel)]
    return recs, M.hit_matrix(recs, np.array(rows), np.array(items)), np.array([len(r) for r in rels])


def random_case(seed, n_users=40, n_items=30, width=12):
    rng = np.random.default_rng(seed)
    lists, rels = [], []
    for _ in range(n_users):
        length = int(rng.integers(0, width + 1))
        lists.append([int(x) for x in rng.choice(n_items, size=length, replace=False)])
        rels.append({int(x) for x in rng.choice(n_items, size=int(rng.integers(1, 15)), replace=False)})
    return lists, rels


# ---------- hand-made case with answers worked out on paper -------------------------------
def test_hand_made_case_known_answers():
    lists = [[10, 20, 30], [40, 50, 60]]
    rels = [{20, 99}, {70}]
    recs, hits, n_rel = hits_for(lists, rels, 3)
    assert hits.tolist() == [[False, True, False], [False, False, False]]
    assert M.precision_at_k(hits, 3).tolist() == pytest.approx([1 / 3, 0.0])
    assert M.recall_at_k(hits, n_rel, 3).tolist() == pytest.approx([0.5, 0.0])
    assert M.capped_recall_at_k(hits, n_rel, 1).tolist() == pytest.approx([0.0, 0.0])
    # one hit at position 2: DCG = 1/log2(3); ideal has two hits: 1 + 1/log2(3)
    assert M.ndcg_at_k(hits, n_rel, 3)[0] == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    # AP: P@2 = 1/2 at the hit, divided by min(2, 3) = 2
    assert M.average_precision_at_k(hits, n_rel, 3)[0] == pytest.approx(0.25)
    assert M.hit_rate_at_k(hits, 3).tolist() == [1.0, 0.0]
    assert M.coverage_at_k(recs, 2, n_catalog=8) == pytest.approx(4 / 8)


@pytest.mark.parametrize("k", [1, 5, 10])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_accuracy_metrics_match_brute_force(k, seed):
    lists, rels = random_case(seed)
    _, hits, n_rel = hits_for(lists, rels, 12)
    for name, fn in M.ACCURACY_METRICS.items():
        got = fn(hits, n_rel, k)
        want = [REFERENCES[name](lst, rel, k) for lst, rel in zip(lists, rels)]
        assert got == pytest.approx(want), name


def test_accuracy_metrics_match_ranx():
    ranx = pytest.importorskip("ranx")
    k = 5
    lists, rels = random_case(7, n_users=25)
    # ranx skips queries without a run; give every user at least one (non-relevant) item
    lists = [lst or [1000 + i] for i, lst in enumerate(lists)]
    _, hits, n_rel = hits_for(lists, rels, 12)
    qrels = ranx.Qrels({f"u{i:03d}": {f"d{x}": 1 for x in rel} for i, rel in enumerate(rels)})
    run = ranx.Run(
        {
            f"u{i:03d}": {f"d{x}": float(len(lst) - p) for p, x in enumerate(lst)}
            for i, lst in enumerate(lists)
        }
    )
    names = ["precision", "recall", "ndcg", "map", "hit_rate"]
    got = ranx.evaluate(qrels, run, [f"{n}@{k}" for n in names], return_mean=False)
    for name in names:
        ours = M.ACCURACY_METRICS[name](hits, n_rel, k)
        if name == "map":  # ranx divides by |T|; evaluation.md divides by min(|T|, k)
            ours = ours * np.minimum(n_rel, k) / n_rel
        assert ours == pytest.approx(got[f"{name}@{k}"]), name


def test_novelty_matches_reference_and_counts_unseen_items_as_one_user():
    n_users_of = {1: 50, 2: 10, 3: 1, 4: 100}
    n_train = 100
    lists = [[1, 2, 9], [4], [], [3, 4, 2, 1]]
    recs = to_array(lists, 4)
    got = M.novelty_at_k(recs, 3, np.array(list(n_users_of)), np.array(list(n_users_of.values())), n_train)
    for row, lst in enumerate(lists):
        top = lst[:3]
        if not top:
            assert np.isnan(got[row])
            continue
        want = sum(-math.log2(n_users_of.get(x, 1) / n_train) for x in top) / len(top)
        assert got[row] == pytest.approx(want)
    assert got[1] == pytest.approx(0.0)  # an item everyone heard carries no information


def test_diversity_matches_scipy_jaccard_and_can_be_below_one():
    genres = {1: {1, 2}, 2: {2}, 3: {3}, 4: set(), 5: {1, 2}}
    vocab = sorted({g for gs in genres.values() for g in gs})
    lists = [[1, 5, 2], [1, 5], [3, 4, 1, 2], [4, 7], [2]]
    pairs = [(t, g) for t, gs in genres.items() for g in gs]
    feats = M.item_feature_matrix(
        np.array(list(genres)), np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    )
    got = M.intra_list_diversity_at_k(to_array(lists, 4), 4, np.array(list(genres)), feats)

    def vec(track):
        return np.array([g in genres.get(track, set()) for g in vocab], dtype=bool)

    for row, lst in enumerate(lists):
        pairs_ = list(itertools.combinations(lst, 2))
        if not pairs_:
            assert np.isnan(got[row])
            continue
        want = np.mean([jaccard(vec(a), vec(b)) for a, b in pairs_])
        assert got[row] == pytest.approx(want), lst
    assert got[1] == pytest.approx(0.0)  # identical genre sets: no diversity
    assert got[3] == pytest.approx(0.0)  # two tracks without genres count as identical


def test_coverage_counts_distinct_items_in_top_k_only():
    recs = to_array([[1, 2, 3], [2, 1, 4], [5]], 3)
    got = M.coverage_at_k(recs, 2, n_catalog=10)
    want = len({x for lst in [[1, 2], [2, 1], [5]] for x in lst}) / 10
    assert got == pytest.approx(want)


def test_bad_input_gives_clear_errors():
    hits = np.zeros((2, 3), dtype=bool)
    with pytest.raises(ValueError, match="at least one relevant"):
        M.recall_at_k(hits, np.array([1, 0]), 3)
    with pytest.raises(ValueError, match="2-D"):
        M.precision_at_k(np.zeros(3, dtype=bool), 3)
    with pytest.raises(ValueError, match="k must be"):
        M.ndcg_at_k(hits, np.array([1, 1]), 0)
    with pytest.raises(ValueError, match="index rows"):
        M.hit_matrix(np.zeros((2, 3), dtype=np.int64), np.array([5]), np.array([1]))


@pytest.mark.parametrize("chunk_pairs", [7, 1 << 18])
def test_oracle_scorer_is_truth_score_bit_for_bit(tiny_raw_dir, monkeypatch, chunk_pairs: int):
    """The evaluation's blocked oracle equals Truth.score on every pair, and its per-canonical
    aggregation equals 1 − Π(1 − p) computed on the whole row, whatever the chunking."""
    from models_py import evaluate
    from music_recs.generator.truth import load_truth

    monkeypatch.setattr(evaluate, "ORACLE_CHUNK_PAIRS", chunk_pairs)
    truth = load_truth(tiny_raw_dir)
    raw = np.sort(truth._raw)
    rng = np.random.default_rng(0)
    users = np.sort(rng.choice(truth.user_ids, size=min(40, len(truth.user_ids)), replace=False)).astype(
        np.int64
    )
    scorer = evaluate.OracleScorer(truth, raw)
    ref = truth.score(np.repeat(users, len(raw)), np.tile(raw, len(users))).reshape(len(users), len(raw))
    assert np.array_equal(scorer.score(users), ref)
    canon_of_raw = np.sort(rng.integers(0, max(1, len(raw) * 2 // 3), len(raw)))  # groups of 1-4 versions
    _, starts = np.unique(canon_of_raw, return_index=True)
    expected = -np.expm1(np.add.reduceat(np.log1p(-np.clip(ref, 0.0, 1.0 - 1e-12)), starts, axis=1))
    assert np.array_equal(scorer.canonical_scores(users, starts), expected)


def test_diversity_of_several_k_at_once_equals_one_k_at_a_time():
    """evaluate computes diversity for k = 5, 10, 20 in one pass over the slot pairs; every k
    gives exactly what a call for that k alone gives."""
    rng = np.random.default_rng(5)
    item_ids = np.arange(1, 61)
    pairs_items = rng.choice(item_ids, 150)
    feats = M.item_feature_matrix(item_ids, pairs_items, rng.integers(0, 9, 150))
    recs = rng.choice(np.r_[item_ids, [M.PAD, 999]], size=(40, 20))
    recs[3, 1:] = M.PAD  # a one-item list: NaN at every k
    together = M.intra_list_diversity(recs, (5, 10, 20), item_ids, feats)
    for k in (5, 10, 20):
        alone = M.intra_list_diversity_at_k(recs, k, item_ids, feats)
        assert np.array_equal(together[k], alone, equal_nan=True)
    assert np.isnan(together[20][3]) and np.isfinite(together[20]).sum() > 30
