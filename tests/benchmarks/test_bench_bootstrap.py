"""benchmarks.bootstrap: the paired ratio interval on cases with a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.bootstrap import paired_ratio, resample_ratios


def test_constant_ratio_has_a_degenerate_interval():
    b = np.random.default_rng(0).random(500)
    ci = paired_ratio(1.25 * b, b, n_resamples=200, seed=1)
    assert ci.ratio == pytest.approx(1.25)
    assert ci.low == pytest.approx(1.25) and ci.high == pytest.approx(1.25)
    assert (ci.n_users, ci.n_resamples, ci.seed, ci.confidence) == (500, 200, 1, 0.95)


def test_two_users_enumerable_distribution():
    # users (a, b) = (1, 1) and (3, 1): a resample of 2 users has ratio 1 (both first, p = 1/4),
    # 2 (one of each, p = 1/2) or 3 (both second, p = 1/4)
    a, b = np.array([1.0, 3.0]), np.array([1.0, 1.0])
    ratios = resample_ratios(a, b, n_resamples=20_000, seed=7)
    assert set(np.unique(ratios)) == {1.0, 2.0, 3.0}
    share = {v: float(np.mean(ratios == v)) for v in (1.0, 2.0, 3.0)}
    assert share[1.0] == pytest.approx(0.25, abs=0.015)
    assert share[2.0] == pytest.approx(0.50, abs=0.015)
    assert share[3.0] == pytest.approx(0.25, abs=0.015)
    ci = paired_ratio(a, b, n_resamples=20_000, seed=7)
    assert (ci.ratio, ci.low, ci.high) == (2.0, 1.0, 3.0)


def test_resamples_are_the_same_users_for_both_arrays_and_match_a_plain_loop():
    rng = np.random.default_rng(3)
    a, b = rng.random(37), rng.random(37) + 0.1
    got = resample_ratios(a, b, n_resamples=50, seed=11)
    draws = np.random.default_rng(11).integers(0, 37, size=(50, 37))
    want = np.array([a[i].sum() / b[i].sum() for i in draws])
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_pairing_keeps_the_interval_narrow_when_per_user_values_vary_a_lot():
    rng = np.random.default_rng(5)
    b = rng.exponential(1.0, 2000)  # users differ a lot...
    a = 1.1 * b + rng.normal(0, 0.01, 2000)  # ...but the two models agree per user
    ci = paired_ratio(a, b, n_resamples=500, seed=0)
    assert ci.low < 1.1 < ci.high and ci.high - ci.low < 0.01
    # unpaired resampling of the same arrays would give a far wider interval
    r = np.random.default_rng(0)
    unpaired = [a[r.integers(0, 2000, 2000)].mean() / b[r.integers(0, 2000, 2000)].mean() for _ in range(500)]
    assert np.subtract(*np.quantile(unpaired, [0.975, 0.025])) > 10 * (ci.high - ci.low)


def test_interval_covers_the_population_ratio():
    # Bernoulli hits: model A hits with p = 0.30, model B with p = 0.20 (independent), ratio 1.5
    rng = np.random.default_rng(9)
    covered = 0
    for rep in range(40):
        a, b = (rng.random(3000) < 0.30).astype(float), (rng.random(3000) < 0.20).astype(float)
        ci = paired_ratio(a, b, n_resamples=300, seed=rep)
        covered += ci.low <= 1.5 <= ci.high
    assert covered >= 34  # ~95% coverage, loose bound for 40 repetitions


def test_seeded_and_validated():
    a, b = np.arange(1.0, 11.0), np.arange(2.0, 12.0)
    assert paired_ratio(a, b, seed=4) == paired_ratio(a, b, seed=4)
    assert paired_ratio(a, b, seed=4).low != paired_ratio(a, b, seed=5).low
    with pytest.raises(ValueError):
        paired_ratio(a, b[:-1])
    with pytest.raises(ValueError):
        paired_ratio(a[:0], b[:0])
    with pytest.raises(ValueError):
        paired_ratio(a, b, confidence=1.0)
    zero = paired_ratio(np.array([1.0, 0.0]), np.array([0.0, 1.0]), n_resamples=200, seed=0)
    assert zero.ratio == 1.0 and zero.high == float("inf")
