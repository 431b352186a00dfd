"""The statistics behind the findings on inputs with known answers, and each finding's verdict on result rows
built to support, refute or leave open the paper's claim."""

from __future__ import annotations

import dataclasses
import zlib

import numpy as np
import pandas as pd
import pytest

from medgan_lib import stats
from medgan_lib.study.findings import (FINDINGS, INCONCLUSIVE, NOT_REPRODUCED, NOT_TESTED, REPRODUCED,
                                       evaluate_findings)

DATASET = "cardiac_phantom"
PATIENTS = [f"p{i:03d}" for i in range(24)]


# ---- statistics ---------------------------------------------------------------------------------------------
def test_kendall_tau_is_one_for_identical_rankings_and_minus_one_for_reversed():
    assert stats.kendall_tau([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert stats.kendall_tau([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)


def test_tau_bootstrap_interval_collapses_when_every_resample_agrees():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    reps = np.tile(a, (50, 1))
    tau = stats.tau_bootstrap(reps, reps * 2, a, a * 2)
    assert (tau.value, tau.low, tau.high, tau.n) == (pytest.approx(1.0), 1.0, 1.0, 4)


def test_bootstrap_means_resamples_rows_together():
    table = np.column_stack([np.arange(10.0), np.arange(10.0) + 5])
    reps = stats.bootstrap_means(table, reps=200)
    assert reps.shape == (200, 2)
    np.testing.assert_allclose(reps[:, 1] - reps[:, 0], 5.0)  # paired: the same rows in both columns


def test_tost_accepts_equivalent_and_rejects_shifted_pairs():
    rng = np.random.default_rng(0)
    y = rng.uniform(0.7, 0.9, 30)
    same = stats.tost_paired(y + rng.normal(0, 0.005, 30), y, margin=0.02)
    assert same.p < 0.05 and -0.02 < same.low <= same.value <= same.high < 0.02
    shifted = stats.tost_paired(y + 0.1 + rng.normal(0, 0.005, 30), y, margin=0.02)
    assert shifted.p > 0.5 and shifted.low > 0.02
    with pytest.raises(ValueError, match="margin"):
        stats.tost_paired(y, y, margin=0)


def test_paired_greater_detects_a_shift_beyond_the_margin_only():
    rng = np.random.default_rng(1)
    y = rng.uniform(0.2, 0.4, 20)
    x = y + 0.3 + rng.normal(0, 0.02, 20)
    assert stats.paired_greater(x, y, shift=0.1).p < 0.01
    assert stats.paired_greater(x, y, shift=0.5).p > 0.5
    assert stats.paired_greater(y, x).p > 0.5


def test_spread_test_finds_the_wider_group():
    rng = np.random.default_rng(2)
    test, spreads = stats.spread_test({"narrow": rng.normal(100, 1, 30), "wide": rng.normal(100, 20, 30)})
    assert test.p < 0.001 and spreads["narrow"] < spreads["wide"]
    same, _ = stats.spread_test({"a": rng.normal(0, 1, 30), "b": rng.normal(5, 1, 30)})
    assert same.p > 0.01
    with pytest.raises(ValueError, match="groups"):
        stats.spread_test({"a": [1.0, 2.0]})


def test_excess_share_binomial():
    assert stats.excess_share(30, 100, 0.05).p < 1e-6
    share = stats.excess_share(5, 100, 0.05)
    assert share.p > 0.3 and share.low < 0.05 < share.high
    with pytest.raises(ValueError):
        stats.excess_share(5, 4, 0.05)


def test_correlation_and_linear_fit_on_exact_lines():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert stats.correlation(x, 3 - 2 * x).value == pytest.approx(-1.0)
    slope, r2 = stats.linear_fit(x, 2 * x + 1 + np.array([0.01, -0.01, 0.0, 0.01, -0.01]))
    assert slope.value == pytest.approx(2.0, abs=0.01) and slope.low < 2 < slope.high and r2 > 0.999
    intercept = stats.intercept_fit(x, 2 * x + 1 + np.array([0.01, -0.01, 0.0, 0.01, -0.01]))
    assert intercept.value == pytest.approx(1.0, abs=0.03) and intercept.low < 1 < intercept.high
    with pytest.raises(ValueError, match="at least 3"):
        stats.intercept_fit(x[:2], x[:2])


# ---- findings on built result rows --------------------------------------------------------------------------
def dice_row(condition: str, gan: str | None, mean: float, seed: int = 0, noise: float = 0.01) -> dict:
    rng = np.random.default_rng(zlib.crc32(f"{condition}/{gan}/{seed}".encode()))
    per_patient = np.clip(mean + rng.normal(0, noise, (len(PATIENTS), 3)), 0, 1)
    return {"dataset": DATASET, "data_spec_hash": "h", "condition": condition, "label": condition, "gan": gan,
            "seed": seed, "dice": float(per_patient.mean()), "patients": PATIENTS,
            "per_patient": per_patient.tolist(), "checkpoint": "", "config_hash": f"{condition}{gan}{seed}"}


def fid_row(gan: str, fid: float, half_width: float = 5.0) -> dict:
    return {"dataset": DATASET, "data_spec_hash": "h", "gan": gan, "run": f"00000-{gan}", "seed": 0,
            "extractor": "inception", "n": 100, "fid": fid, "fid_ci_low": fid - half_width,
            "fid_ci_high": fid + half_width, "kid": 0.1, "kid_std": 0.01}


def rank_rows(fid: dict[str, float], half_width: float = 5.0, metric: str = "FID", extractor: str = "inception",
              reps: int = 200) -> list[dict]:
    """03's paired-bootstrap rows: per GAN replicates spread as its ±half_width interval (ranks not used here)."""
    rng = np.random.default_rng(zlib.crc32(f"{metric}{extractor}".encode()))
    shared = rng.normal(0, half_width / 1.96, reps)  # the real-set noise every GAN's replicate shares
    return [{"dataset": DATASET, "gan": gan, "run": f"00000-{gan}", "seed": 0, "extractor": extractor,
             "metric": metric, "n": 100, "rank": 0, "rank_resolved": True, "compared": len(fid),
             "ranking_stability": 1.0, "reps": reps,
             "replicates": (value + shared + rng.normal(0, half_width / 50, reps)).tolist()}
            for gan, value in fid.items()]


def results(dice: dict[tuple, float], fid: dict[str, float], **kinds: list[dict]) -> dict[str, pd.DataFrame]:
    out = {"dice": pd.DataFrame([dice_row(c, g, m, s) for (c, g), m in dice.items() for s in (0, 1)]),
           "fid": pd.DataFrame([fid_row(g, f) for g, f in fid.items()]), "fid_rank": pd.DataFrame(rank_rows(fid))}
    out.update({kind: pd.DataFrame(rows) for kind, rows in kinds.items()})
    return out


PAPER_LIKE_DICE = {("real", None): 0.87, ("augmented", None): 0.86, ("synthetic", "spade"): 0.70,
                   ("synthetic", "stylegan2"): 0.66, ("synthetic", "dcgan"): 0.30, ("synthetic", "hinge"): 0.45,
                   ("synthetic", "lsgan"): 0.35, ("real+synthetic", "spade"): 0.86,
                   ("real+synthetic", "stylegan2"): 0.86}
# the paper's pattern: SPADE and StyleGAN best by both; FID ranks the simple GANs unlike Dice (DCGAN best FID)
PAPER_LIKE_FID = {"spade": 60.0, "stylegan2": 30.0, "dcgan": 150.0, "hinge": 200.0, "lsgan": 250.0}


def verdicts(res: dict[str, pd.DataFrame]) -> dict[str, str]:
    table = evaluate_findings(res, DATASET)
    return dict(zip(table["key"], table["verdict"]))


def test_every_finding_is_not_tested_without_results():
    table = evaluate_findings({}, DATASET)
    assert list(table["key"]) == list(FINDINGS) and set(table["verdict"]) == {NOT_TESTED}
    assert table["detail"].str.startswith("needs").all()


def test_the_papers_table2_pattern_reproduces_the_table2_findings():
    v = verdicts(results(PAPER_LIKE_DICE, PAPER_LIKE_FID))
    assert v["sk-top"] == REPRODUCED
    assert v["sk-simple-below"] == REPRODUCED
    assert v["sk-no-gan-reaches-real"] == REPRODUCED
    assert v["sk-mix-equals-augmentation"] == REPRODUCED


def test_a_simple_gan_that_beats_the_top_gans_refutes_their_ranking():
    dice = {**PAPER_LIKE_DICE, ("synthetic", "dcgan"): 0.85}
    v = verdicts(results(dice, {**PAPER_LIKE_FID, "dcgan": 10.0}))
    assert v["sk-top"] == NOT_REPRODUCED
    assert v["sk-simple-below"] == NOT_REPRODUCED  # DCGAN is within 0.1 of real data
    assert v["sk-no-gan-reaches-real"] == REPRODUCED  # 0.85 is still significantly below 0.87 at this noise


def test_a_gan_equal_to_real_data_refutes_no_gan_reaches_real():
    v = verdicts(results({**PAPER_LIKE_DICE, ("synthetic", "spade"): 0.87}, PAPER_LIKE_FID))
    assert v["sk-no-gan-reaches-real"] == NOT_REPRODUCED


def test_mixing_far_from_augmentation_refutes_equivalence():
    v = verdicts(results({**PAPER_LIKE_DICE, ("real+synthetic", "spade"): 0.75}, PAPER_LIKE_FID))
    assert v["sk-mix-equals-augmentation"] == NOT_REPRODUCED


def test_fid_not_tracking_dice_uses_kendalls_tau():
    # FID ordered exactly as Dice, with tight intervals: tau = 1, so "FID does not track Dice" is refuted
    tracking = {"spade": 20.0, "stylegan2": 40.0, "hinge": 100.0, "lsgan": 150.0, "dcgan": 200.0}
    assert verdicts(results(PAPER_LIKE_DICE, tracking))["sk-fid-not-dice"] == NOT_REPRODUCED
    reversed_fid = {"spade": 200.0, "stylegan2": 150.0, "hinge": 100.0, "lsgan": 40.0, "dcgan": 20.0}
    assert verdicts(results(PAPER_LIKE_DICE, reversed_fid))["sk-fid-not-dice"] == REPRODUCED


def test_overlapping_fids_leave_the_top_ranking_inconclusive():
    close = {**PAPER_LIKE_FID, "dcgan": 62.0}  # intervals of ±5 overlap SPADE's
    assert verdicts(results(PAPER_LIKE_DICE, close))["sk-top"] == INCONCLUSIVE


def tune_rows(spreads: dict[str, float], n: int = 12, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for gan, sd in spreads.items():
        for i, fid in enumerate(200 + rng.normal(0, sd, n)):
            rows.append({"study": "t", "scheduler": "fifo", "trial_id": f"{gan}{i}", "gan": gan, "fid": fid,
                         "status": "completed", "dloss_mean": 1.0 - fid / 400})
    rows.append({"study": "t", "scheduler": "fifo", "trial_id": "diverged", "gan": "dcgan", "fid": None,
                 "status": "diverged", "dloss_mean": None})
    return rows


def test_hyperparameter_spread_findings_use_brown_forsythe():
    res = results(PAPER_LIKE_DICE, PAPER_LIKE_FID, tune=tune_rows({"hinge": 2, "dcgan": 40, "lsgan": 30,
                                                                   "vanilla": 50, "wgan_gp": 3}))
    table = evaluate_findings(res, DATASET).set_index("key")
    assert table.at["sk-hinge-stable", "verdict"] == REPRODUCED
    assert "diverged" in table.at["sk-hinge-stable", "detail"]  # excluded trials are counted, not hidden
    assert table.at["ch-vanilla-sensitive", "verdict"] == REPRODUCED
    assert table.at["be-dloss-fid", "verdict"] == REPRODUCED  # D loss built to fall as FID rises
    flipped = results(PAPER_LIKE_DICE, PAPER_LIKE_FID, tune=tune_rows({"hinge": 40, "dcgan": 2}))
    assert verdicts(flipped)["sk-hinge-stable"] == NOT_REPRODUCED
    equal = results(PAPER_LIKE_DICE, PAPER_LIKE_FID, tune=tune_rows({"hinge": 10, "dcgan": 10}, n=4))
    assert verdicts(equal)["sk-hinge-stable"] == INCONCLUSIVE


def test_dloss_fid_is_refuted_only_when_the_interval_rules_a_strong_correlation_out():
    rng = np.random.default_rng(4)

    def verdict(n: int) -> str:
        rows = [{"study": "t", "scheduler": "fifo", "trial_id": str(i), "gan": "dcgan", "fid": float(fid),
                 "status": "completed", "dloss_mean": float(d)} for i, (fid, d) in
                enumerate(zip(rng.normal(200, 10, n), rng.normal(1, 0.1, n)))]  # independent: r near 0
        return verdicts(results(PAPER_LIKE_DICE, PAPER_LIKE_FID, tune=rows))["be-dloss-fid"]

    assert verdict(6) == INCONCLUSIVE  # six trials cannot rule a strong correlation out
    assert verdict(200) == NOT_REPRODUCED  # 200 uncorrelated trials do


def test_spade_near_copies_binomial_and_collapse_threshold():
    memo = [{"dataset": DATASET, "gan": "spade", "run": "r", "seed": 0, "extractor": "inception", "n": 100,
             "quantile": 0.05, "pixel_near_copy_share": 0.30, "feature_diversity_ratio": 0.9},
            {"dataset": DATASET, "gan": "dcgan", "run": "d", "seed": 0, "extractor": "inception", "n": 100,
             "quantile": 0.05, "pixel_near_copy_share": 0.0, "feature_diversity_ratio": 0.8},
            {"dataset": DATASET, "gan": "dcgan", "run": "d", "seed": 0, "extractor": "unet", "n": 100,
             "quantile": 0.05, "pixel_near_copy_share": 0.0, "feature_diversity_ratio": 0.2}]
    v = verdicts(results(PAPER_LIKE_DICE, PAPER_LIKE_FID, memorization=memo))
    assert v["sk-spade-copies"] == REPRODUCED and v["sk-inception-hides-collapse"] == REPRODUCED
    memo[0]["pixel_near_copy_share"], memo[2]["feature_diversity_ratio"] = 0.0, 0.9
    v = verdicts(results(PAPER_LIKE_DICE, PAPER_LIKE_FID, memorization=memo))
    assert v["sk-spade-copies"] == NOT_REPRODUCED and v["sk-inception-hides-collapse"] == NOT_REPRODUCED


def distortion_rows(slope: float) -> list[dict]:
    return [{"dataset": DATASET, "data_spec_hash": "h", "extractor": "medfid", "distortion": d, "strength": s,
             "n": 64, "fid": 10 + slope * s + 0.01 * k, "seed": 0}
            for d in ("blur", "noise") for k, s in enumerate((0.0, 0.25, 0.5, 0.75, 1.0))]


def test_medfid_distortion_correlations():
    assert verdicts(results({}, {}, distortion=distortion_rows(50)))["ch-medfid-distortions"] == REPRODUCED
    assert verdicts(results({}, {}, distortion=distortion_rows(-50)))["ch-medfid-distortions"] == NOT_REPRODUCED


def memory_rows(saving: float, per_map: float = 0.01, d_saving: float | None = None) -> list[dict]:
    rows = []
    for config in ("belmekki_table2", "belmekki_fig8_generator"):  # D's BatchNorm (Table II), G's (Figure 8)
        pct = saving if d_saving is None or config != "belmekki_table2" else d_saving
        for filters in (32, 64, 128):
            for bn in (True, False):
                total = per_map * filters * (1 - pct / 100 * (not bn))
                rows.append({"config": config, "batchnorm": bn, "dataset": DATASET, "n": 16, "gan": "dcgan",
                             "resolution": 64, "filters_g": filters, "seed": 0, "config_hash": f"{config}{filters}{bn}",
                             "summary_mb_per_image": total, "summary_total_mb_per_image": total,
                             "summary_g_total_mb_per_image": total})
    return rows


def test_findings_read_rows_as_the_result_files_give_them(tmp_path):
    """Rows read back from JSONL have object dtypes where some rows lack a key (bool columns hold NaN); the
    findings must give the same verdicts on them."""
    from medgan_lib.results import append_result, read_results

    for row in memory_rows(saving=4.0) + [{"config": "dcgan", "batchnorm": None, "dataset": DATASET, "n": 16,
                                           "gan": "dcgan", "resolution": 64, "filters_g": 8, "seed": 0,
                                           "config_hash": "oom", "error": "out of memory"}]:
        append_result(tmp_path, "memory", row)
    v = verdicts({"memory": read_results(tmp_path, "memory")})
    assert v["be-memory-linear"] == REPRODUCED and v["be-bn-saving"] == REPRODUCED


def test_a_finding_that_fails_is_shown_not_tested_with_its_error(monkeypatch):
    def broken(results, dataset):
        raise KeyError("boom")

    monkeypatch.setitem(FINDINGS, "sk-top", dataclasses.replace(FINDINGS["sk-top"], test=broken))
    with pytest.warns(UserWarning, match="finding 'sk-top' could not be computed"):
        table = evaluate_findings({}, DATASET).set_index("key")
    assert table.at["sk-top", "verdict"] == NOT_TESTED and "KeyError" in table.at["sk-top", "detail"]


def test_belmekki_memory_findings():
    v = verdicts(results({}, {}, memory=memory_rows(saving=4.0)))
    assert v["be-memory-linear"] == REPRODUCED and v["be-bn-saving"] == REPRODUCED
    assert verdicts(results({}, {}, memory=memory_rows(saving=20.0)))["be-bn-saving"] == NOT_REPRODUCED
    # Figure 8 is the generator's BatchNorm: D's (Table II's) saving does not decide it
    assert verdicts(results({}, {}, memory=memory_rows(saving=4.0, d_saving=20.0)))["be-bn-saving"] == REPRODUCED
    curved = memory_rows(4.0)
    for row in curved:
        row["summary_mb_per_image"] = 1e-4 * row["filters_g"] ** 2
    assert verdicts(results({}, {}, memory=curved))["be-memory-linear"] == NOT_REPRODUCED


def test_tau_bootstrap_agrees_with_scipy_on_every_replicate():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(40, 6)), rng.normal(size=(40, 6))
    a[:, 1] = a[:, 0]  # ties, for tau-b
    expected = np.quantile([stats.kendall_tau(x, y) for x, y in zip(a, b)], [0.025, 0.975])
    tau = stats.tau_bootstrap(a, b, a[0], b[0])
    np.testing.assert_allclose([tau.low, tau.high], expected)
    assert tau.value == pytest.approx(stats.kendall_tau(a[0], b[0]))


def test_findings_command_prints_the_verdicts_of_a_study_folder(tmp_path, capsys):
    import json

    from medgan_lib.cli import main
    from medgan_lib.results import append_result

    study = tmp_path / "study"
    (study).mkdir()
    (study / "study.json").write_text(json.dumps({"common": {"dataset": DATASET}}))
    for (condition, gan), mean in PAPER_LIKE_DICE.items():
        append_result(study, "dice", dice_row(condition, gan, mean))
    assert main(["study", "findings", str(study)]) == 0
    out = capsys.readouterr().out
    assert "[reproduced] skandarani2023 §4.2, §5: no GAN's synthetic-only Dice reaches real-data Dice" in out
    assert "[not tested]" in out  # no FID rows: the FID findings say what they need
    assert main(["study", "findings", str(tmp_path / "missing")]) == 2
