"""The paired FID bootstrap: resolved and unresolved pairs, shared resamples, ranking stability and agreement."""

import numpy as np
import pytest

from medgan_lib.metrics.compare import paired_fid_bootstrap, ranking_agreement
from medgan_lib.metrics.fidelity import frechet_distance


def _sets(seed: int = 0, d: int = 8):
    rng = np.random.default_rng(seed)
    real = rng.normal(size=(200, d))
    return real, {"near": rng.normal(0.1, 1, (100, d)), "far": rng.normal(1.5, 1, (100, d)),
                  "farther": rng.normal(3.0, 1, (100, d))}


def test_clear_differences_are_resolved_and_the_ranking_is_stable():
    real, fakes = _sets()
    result = paired_fid_bootstrap(real, fakes, reps=100)
    assert result.point[0] == pytest.approx(frechet_distance(real, fakes["near"]))
    pairs = result.pairs()
    assert list(pairs["better"]) == ["near", "near", "far"] and pairs["resolved"].all()
    assert (pairs["P(better)"] == 1.0).all() and (pairs["low"] > 0).all()
    assert result.ranking_stability() == 1.0
    assert list(result.ranks()["GAN"]) == ["near", "far", "farther"] and result.ranks()["rank resolved"].all()


def test_the_resamples_are_shared_so_identical_sets_differ_by_exactly_zero():
    real, fakes = _sets()
    result = paired_fid_bootstrap(real, {"a": fakes["near"], "b": fakes["near"].copy(), "c": fakes["far"]}, reps=50)
    tie = result.pairs().iloc[0]
    assert {tie["better"], tie["worse"]} == {"a", "b"}
    assert tie["low"] == tie["high"] == 0.0 and not tie["resolved"] and tie["P(better)"] == 0.0
    assert not result.ranks().set_index("GAN").loc[["a", "b"], "rank resolved"].any()


def test_close_sets_at_small_n_are_not_resolved():
    rng = np.random.default_rng(3)
    real = rng.normal(size=(40, 8))
    result = paired_fid_bootstrap(real, {"x": rng.normal(0.5, 1, (20, 8)), "y": rng.normal(0.52, 1, (20, 8))}, reps=200)
    assert not result.pairs()["resolved"].any() and 0.0 < result.pairs()["P(better)"].iloc[0] < 1.0
    assert result.ranking_stability() < 1.0


def test_ranking_agreement_between_spaces():
    real, fakes = _sets()
    same = paired_fid_bootstrap(real, fakes, reps=60)
    reversed_space = paired_fid_bootstrap(real, {"near": fakes["farther"], "far": fakes["far"],
                                                 "farther": fakes["near"]}, reps=60)
    table = ranking_agreement({"A": same, "B": same, "C": reversed_space}).set_index(["space A", "space B"])
    assert table.loc[("A", "B"), "Kendall's τ"] == pytest.approx(1.0) and table.loc[("A", "B"), "low"] == 1.0
    assert table.loc[("A", "C"), "Kendall's τ"] == pytest.approx(-1.0)


def test_bad_inputs_are_refused():
    real, fakes = _sets()
    with pytest.raises(ValueError, match="different sizes"):
        paired_fid_bootstrap(real, {"a": fakes["near"], "b": fakes["far"][:50]})
    with pytest.raises(ValueError, match="at least 2"):
        paired_fid_bootstrap(real, {"a": fakes["near"]})
    other = paired_fid_bootstrap(real, fakes, reps=10, seed=1)
    with pytest.raises(ValueError, match="not resampled alike"):
        ranking_agreement({"A": paired_fid_bootstrap(real, fakes, reps=10), "B": other})


def test_the_gram_route_is_the_exact_fid_of_a_resample():
    from medgan_lib.metrics.compare import gram_fid

    rng = np.random.default_rng(5)
    real, fake = rng.normal(size=(30, 50)), rng.normal(0.3, 1.2, (20, 50))
    ri, fi = rng.integers(0, 30, 30), rng.integers(0, 20, 20)  # duplicates, as a bootstrap draws
    r, f = real[ri], fake[fi]
    assert gram_fid(r @ r.T, f @ f.T, r @ f.T) == pytest.approx(frechet_distance(r, f), rel=1e-9)
    big_real, big_fake = rng.normal(size=(80, 6)), rng.normal(0.5, 1, (60, 6))  # n > D: the feature route
    both = paired_fid_bootstrap(big_real, {"a": big_fake, "b": big_fake + 0.5}, reps=20)
    assert both.point[0] == pytest.approx(frechet_distance(big_real, big_fake))


def test_fd_infinity_removes_the_finite_n_bias():
    from medgan_lib.metrics.compare import fd_infinity

    rng = np.random.default_rng(11)
    d, shift = 16, 1.0
    real = rng.normal(size=(4000, d))
    fake = rng.normal(shift / np.sqrt(d), 1.0, (400, d))  # true Fréchet distance: |mu|^2 = shift^2 = 1
    small = frechet_distance(real, fake[:100])
    estimate = fd_infinity(real, fake, sizes=6, draws=6)
    assert abs(estimate.value - 1.0) < abs(small - 1.0) / 2 and estimate.low < estimate.value < estimate.high
    assert small > 1.0  # FID at small n is biased upward; FD∞ is closer to the truth


def test_n_to_resolve_grows_as_the_difference_shrinks():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(200, 8))
    result = paired_fid_bootstrap(real, {"a": rng.normal(0.2, 1, (60, 8)), "b": rng.normal(0.4, 1, (60, 8)),
                                         "c": rng.normal(1.5, 1, (60, 8))}, reps=200)
    pairs = result.pairs().set_index(["better", "worse"])
    assert pairs.loc[("a", "b"), "n to resolve"] > pairs.loc[("a", "c"), "n to resolve"]
    assert pairs.loc[("a", "c"), "n to resolve"] <= 60  # already resolved at n = 60


def test_kid_over_all_images_is_torch_fidelitys_estimate_on_one_full_subset():
    import torch
    from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, kid_features_to_metric

    from medgan_lib.metrics.compare import paired_kid_bootstrap

    rng = np.random.default_rng(3)
    real, fake, other = rng.normal(size=(60, 16)), rng.normal(0.3, 1, (60, 16)), rng.normal(0.6, 1, (60, 16))
    theirs = kid_features_to_metric(torch.from_numpy(real), torch.from_numpy(fake), kid_subsets=1,
                                    kid_subset_size=60, verbose=False)[KEY_METRIC_KID_MEAN]
    ours = paired_kid_bootstrap(real, {"fake": fake, "other": other}, reps=5)
    assert ours.metric == "KID" and ours.point[0] == pytest.approx(float(theirs), rel=1e-6)
    assert list(ours.pairs().columns[:3]) == ["better", "worse", "KID difference"]


def test_kid_and_fid_share_their_resamples_so_their_rankings_pair():
    from medgan_lib.metrics.compare import paired_kid_bootstrap

    real, fakes = _sets()
    fid, kid = paired_fid_bootstrap(real, fakes, reps=60), paired_kid_bootstrap(real, fakes, reps=60)
    assert list(kid.ranks()["GAN"]) == ["near", "far", "farther"] and kid.pairs()["resolved"].all()
    both = ranking_agreement({"inception": fid, "inception KID": kid}).iloc[0]
    assert both["Kendall's τ"] == 1.0 and both["low"] == 1.0  # the same order in every shared resample
    same = paired_kid_bootstrap(real, {"a": fakes["near"], "b": fakes["near"].copy(), "c": fakes["far"]}, reps=20)
    assert np.array_equal(same.reps[:, 0], same.reps[:, 1])  # one resample for every set
