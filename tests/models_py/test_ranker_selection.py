"""The ranker step serves a re-ranker only when it beats the single lists it re-ranks.

Synthetic candidate frames with a known best ordering: labels follow the popularity order,
or a feature no single list orders by, or there are too few users to train at all.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models_py import ranker
from models_py.features import FEATURES
from music_recs.config import Settings
from music_recs.tables import Columns as C


def _frame(n_users: int, label_by: str, seed: int = 0, per_user: int = 30) -> ranker.TrainingData:
    rng = np.random.default_rng(seed)
    users = np.repeat(np.arange(1, n_users + 1), per_user)
    frame = pd.DataFrame({C.User: users, C.Item: np.tile(np.arange(per_user), n_users) + 1})
    for name in FEATURES:
        frame[name] = rng.random(len(frame))
    # each user's candidates in a random ALS order and a random popularity order
    frame["als_rank"] = np.concatenate([rng.permutation(per_user) + 1 for _ in range(n_users)]).astype(float)
    frame["pop_rank"] = np.concatenate([rng.permutation(per_user) + 1 for _ in range(n_users)]).astype(float)
    if label_by == "popularity":
        label = frame["pop_rank"] <= 3
    else:  # a feature neither list orders by
        label = frame["recent_sim"] > 0.9
    frame["label"] = label.astype(np.float32)
    frame = frame[frame.groupby(C.User)["label"].transform("sum") > 0].reset_index(drop=True)
    return ranker.TrainingData(frame, frame.groupby(C.User)["label"].sum().astype(np.int64))


def _settings(**kw) -> Settings:
    values = dict(ranker_iterations=40, ranker_select_users=0, train_threads=1, seed=7)
    values.update(kw)
    return Settings(_env_file=None, **values)


def _fit(data: ranker.TrainingData, **kw) -> ranker.Selection:
    settings = _settings(**kw)
    return ranker.fit_ranker(data, settings.ranker, seed=settings.seed, threads=settings.models.train_threads)


@pytest.mark.parametrize("kfold_below", [1000, 1])
def test_a_single_list_that_orders_the_labels_is_served_instead_of_a_model(kfold_below: int):
    sel = _fit(_frame(200, "popularity"), ranker_kfold_below=kfold_below)
    assert sel.served == "popularity" and sel.model is None
    assert sel.results["popularity"] == pytest.approx(1.0)
    assert sel.results["popularity"] >= max(sel.results[loss] for loss in ranker.LOSSES)
    assert "beat the re-ranker" in sel.reason


@pytest.mark.parametrize("kfold_below", [1000, 1])
def test_a_re_ranker_that_beats_every_list_is_served(kfold_below: int):
    data = _frame(200, "feature")
    n = data.frame[C.User].nunique()
    sel = _fit(data, ranker_kfold_below=kfold_below)
    assert sel.served in ranker.LOSSES and sel.model is not None
    assert sel.results[sel.served] > max(sel.results[s] for s in ranker.SOURCES) + 0.2
    # k-fold scores every user out of fold; one split keeps a fifth of them for validation
    assert sel.n_users == (n if kfold_below == 1000 else round(n / 5))


def test_too_few_label_users_serve_the_best_list_without_training():
    data = _frame(12, "popularity")
    sel = _fit(data, ranker_min_users=50)
    assert sel.model is None and sel.served == "popularity"
    assert set(sel.results) == set(ranker.SOURCES) and sel.n_users == 12
    assert "too few to train" in sel.reason


def test_no_label_user_at_all_serves_als_and_says_why():
    empty = ranker.TrainingData(
        pd.DataFrame(columns=[C.User, C.Item, *FEATURES, "label"]), pd.Series(dtype=np.int64)
    )
    sel = _fit(empty)
    assert sel.model is None and sel.served == "als" and sel.results == {}
    assert "nothing to validate" in sel.reason


def test_with_the_fallback_off_a_re_ranker_is_served_even_when_a_list_wins():
    sel = _fit(_frame(200, "popularity"), ranker_fallback=False)
    assert sel.served in ranker.LOSSES and sel.model is not None
    with pytest.raises(ValueError, match="too few to train"):
        _fit(_frame(3, "popularity"), ranker_fallback=False)
