"""Agreement between metrics: Kendall's τ between the GAN rankings of every two metrics, from result rows built
with known orderings (identical, reversed), and the index section that shows it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from medgan_lib.study.agreement import TAU, agreement_matrix, agreement_table
from medgan_lib.study.readouts import metric_scores
from test_findings import DATASET, PAPER_LIKE_DICE, fid_row, rank_rows, results

# Dice order of PAPER_LIKE_DICE's GANs: spade > stylegan2 > hinge > lsgan > dcgan
BY_DICE = {"spade": 20.0, "stylegan2": 40.0, "hinge": 100.0, "lsgan": 150.0, "dcgan": 200.0}  # FID as Dice ranks
REVERSED = {"spade": 200.0, "stylegan2": 150.0, "hinge": 100.0, "lsgan": 40.0, "dcgan": 20.0}


def _results(inception: dict[str, float], kid: dict[str, float], precision: dict[str, float]) -> dict:
    res = results(PAPER_LIKE_DICE, inception)
    res["fid_rank"] = pd.DataFrame([*rank_rows(inception), *rank_rows(kid, 0.01, metric="KID")])
    res["fid"] = pd.DataFrame([{**fid_row(g, f), "precision": precision[g], "recall": precision[g] / 2}
                               for g, f in inception.items()])
    return res


def test_identical_and_reversed_rankings_give_tau_one_and_minus_one_with_intervals():
    kid = {g: f / 1000 for g, f in REVERSED.items()}  # KID orders the GANs against FID
    precision = {g: 1 - f / 1000 for g, f in BY_DICE.items()}  # precision as Dice, higher is better
    scores = metric_scores(_results(BY_DICE, kid, precision), DATASET)
    table = agreement_table(scores).set_index(["metric A", "metric B"])
    fid_dice = table.loc[("Inception FID", "synthetic-only Dice")]
    assert fid_dice[TAU] == pytest.approx(1.0) and fid_dice["GANs"] == 5
    assert fid_dice["low"] <= 1.0 and fid_dice["high"] == pytest.approx(1.0)  # patients resampled: Dice may swap
    assert table.loc[("Inception FID", "KID"), TAU] == pytest.approx(-1.0)
    assert table.loc[("Inception FID", "KID"), "high"] == pytest.approx(-1.0)  # tight replicates: every one reversed
    assert table.loc[("Inception FID", "precision"), TAU] == pytest.approx(1.0)
    assert np.isnan(table.loc[("precision", "recall"), "low"])  # neither has replicates: no interval
    square = agreement_matrix(table.reset_index())
    assert square.loc["KID", "Inception FID"] == square.loc["Inception FID", "KID"] == "-1.00 [-1.00, -1.00]"
    assert square.loc["KID", "KID"] == "1" and list(square.index) == list(square.columns)


def test_a_gans_runs_are_averaged_replicate_by_replicate_and_short_replicates_are_skipped():
    rows = rank_rows(BY_DICE, reps=50)
    again = [{**row, "run": row["run"].replace("00000", "00001"), "seed": 0,
              "replicates": [v + 10 for v in row["replicates"]]} for row in rows]
    scores = metric_scores({"fid_rank": pd.DataFrame([*rows, *again])}, DATASET)["Inception FID"]
    assert scores.reps.shape == (50, 5)
    assert scores.point["spade"] == pytest.approx(-(np.mean(rows[0]["replicates"]) + 5))  # mean of the two runs
    broken = [*rows[:-1], {**rows[-1], "replicates": rows[-1]["replicates"][:10]}]  # lengths differ: not paired
    assert "Inception FID" not in metric_scores({"fid_rank": pd.DataFrame(broken)}, DATASET)
    assert metric_scores({}, DATASET) == {} and agreement_table({}).empty


def test_the_index_shows_the_agreement_square(tmp_path):
    from medgan_lib.study.report import _agreement

    kid = {g: f / 1000 for g, f in BY_DICE.items()}
    html = _agreement(_results(BY_DICE, kid, {g: 1 - f / 1000 for g, f in BY_DICE.items()}), DATASET)
    assert "Kendall" in html and "synthetic-only Dice" in html and "1.00 [1.00, 1.00]" in html
    assert "not available" in _agreement({}, DATASET)
    same = _results(BY_DICE, kid, {g: 0.0 for g in BY_DICE})  # every GAN at precision and recall 0: no ranking
    assert "precision, recall" in _agreement(same, DATASET) and "precision" not in set(
        agreement_table(metric_scores(same, DATASET))[["metric A", "metric B"]].to_numpy().ravel())
