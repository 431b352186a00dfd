"""Hyperparameter studies: search spaces, a tiny Ray Tune study with a stand-in engine (grid, ASHA,
interruption and resumption), and the statistics against scipy on known data."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from medgan_lib.config import ConfigError
from medgan_lib.tune import search_space as ss
from medgan_lib.tune import stats
from medgan_lib.tune.study import StudyConfig, load_study, run_study, study_trials
from medgan_lib.tune.trial import Diverged


# ---------------------------------------------------------------- search spaces

def test_table1_knobs_only_where_they_apply():
    assert "gradient_penalty_weight" in ss.skandarani_space("wgan_gp")
    assert "weight_clip" not in ss.skandarani_space("wgan_gp")
    assert "weight_clip" in ss.skandarani_space("wgan")
    dcgan = ss.skandarani_space("dcgan")
    assert "gradient_penalty_weight" not in dcgan and "weight_clip" not in dcgan
    assert dcgan["filters_discriminator"] == [16, 32, 64, 128]
    assert dcgan["learning_rate"] == [0.00004, 0.00005, 0.0001, 0.0002, 0.001]
    assert "vgg_loss_weight" not in dcgan  # no VGG weights offline


def test_every_search_key_maps_to_train_config_fields():
    from medgan_lib.training.config import TrainConfig

    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    for key in ss.load_skandarani_table1():
        assert set(ss.KEY_TO_FIELDS[key]) <= fields, key


def test_restrict_rejects_values_outside_table1():
    with pytest.raises(ConfigError, match="filters_discriminator"):
        ss.skandarani_space("dcgan", {"filters_discriminator": [24]})
    with pytest.raises(ConfigError, match="unknown"):
        ss.skandarani_space("dcgan", {"filterz": [16]})


def test_random_search_is_seeded_and_distinct():
    kwargs = dict(study="s", gans=["dcgan", "wgan"], num_trials=5, seeds=[0, 1], iterations=10, interval=5, base={})
    a = ss.random_trials(**kwargs, search_seed=3)
    assert a == ss.random_trials(**kwargs, search_seed=3)
    assert a != ss.random_trials(**kwargs, search_seed=4)
    assert len(a) == 2 * 5 * 2 and len({t.trial_id for t in a}) == 20
    assert len({t.config_id for t in a}) == 10  # seeds share a configuration
    assert all("weight_clip" in t.params for t in a if t.gan == "wgan")


def test_grid_chetty_belmekki_trials():
    grid = ss.grid_trials("s", ["hinge"], ["filters_discriminator", "learning_rate"], [0], 10, 5, {})
    assert len(grid) == 4 * 5
    chetty = ss.chetty_trials("s", ["vanilla", "wgan_gp"], [0, 1], 10, 5, {})
    assert [t.label for t in chetty[::2]] == [f"Vanilla{i}" for i in range(1, 6)] + [f"WGAN-GP{i}" for i in range(1, 6)]
    over = chetty[2].overrides()  # Vanilla2: lr 0.0002, betas (0.5, 0.9)
    assert over["lr_g"] == over["lr_d"] == 0.0002 and over["betas_d"] == [0.5, 0.9] and over["gan"] == "vanilla"
    # chetty's iterations are discriminator steps, as in 02: WGAN-GP (5 critic steps) trains 10 / 5 G steps
    assert {(t.gan, t.iterations, t.interval) for t in chetty} == {("vanilla", 10, 5), ("wgan_gp", 2, 1)}
    belmekki = ss.belmekki_trials("s", [0], 10, 5, {})
    assert [t.preset for t in belmekki] == ["quick+belmekki_adas_elu", "quick+belmekki_adam_elu",
                                            "quick+belmekki_adas_elu_ttur", "quick+belmekki_adas_relu"]
    assert belmekki[2].label == "AdaS-ELU-TTUR"
    assert ss.TrialSpec(**grid[0].to_dict()).intervals == [5, 10]


# ---------------------------------------------------------------- statistics against scipy

def test_pairwise_ttests_match_scipy_and_table3_layout():
    rng = np.random.default_rng(0)
    values = {"A": rng.normal(10, 1, 5), "B": rng.normal(10.2, 1, 5), "C": rng.normal(20, 1, 5)}
    rows = pd.DataFrame([{"label": k, "fid": v} for k, vs in values.items() for v in vs])
    tests = stats.pairwise_ttests(rows)
    for row in tests.itertuples():
        ref = sps.ttest_ind(values[row.a], values[row.b])
        assert row.t == pytest.approx(ref.statistic) and row.p == pytest.approx(ref.pvalue)
        assert row.different == (ref.pvalue < 0.05)
    grid = stats.significance_grid(tests)
    assert list(grid.index) == ["A", "B"] and list(grid.columns) == ["B", "C"]
    assert grid.loc["A", "C"] == "✓" and grid.loc["B", "C"] == "✓" and grid.loc["A", "B"] == "✗"
    assert grid.loc["B", "B"] == "."
    summary = stats.seed_summary(rows.assign(gan="g"))
    assert summary.loc[2, "mean"] == pytest.approx(values["C"].mean())
    assert summary.loc[2, "std"] == pytest.approx(values["C"].std(ddof=1))


def test_dloss_correlation_matches_scipy_on_belmekki_table1():
    table = pd.DataFrame(ss.load_belmekki_table1())
    r, p = stats.dloss_correlation(table)
    ref = sps.pearsonr(table["fid"], table["dloss_mean"])
    assert r.loc["fid", "dloss_mean"] == pytest.approx(ref.statistic)
    assert p.loc["dloss_mean", "fid"] == pytest.approx(ref.pvalue)
    assert r.loc["fid", "dloss_mean"] < -0.7  # belmekki: FID and mean D loss are highly inversely correlated
    assert np.allclose(np.diag(r), 1.0) and np.allclose(r, r.T)


# ---------------------------------------------------------------- a tiny study on Ray

@dataclasses.dataclass
class FakeEngine:
    """Stand-in for training: a resumable 'run' whose score rises with D filters and falls with steps;
    ``diverge_filters`` diverges after step 10; ``fail_label`` raises when resumed (an interruption)."""

    metric: str = "fid"
    fail_label: str | None = None
    diverge_filters: int | None = None

    def config(self, spec):
        return {**spec.overrides(), "label": spec.label, "trial_id": spec.trial_id}

    def train(self, config, iterations, study_dir):
        run = Path(study_dir) / "runs" / f"{config['trial_id']}-{config['gan']}-s{config['seed']}"
        run.mkdir(parents=True, exist_ok=True)
        stats_file = run / "stats.jsonl"
        lines = stats_file.read_text().splitlines() if stats_file.exists() else []
        if config["label"] == self.fail_label and lines:
            raise RuntimeError("interrupted")
        (run / "config.json").write_text(json.dumps(config))
        if config["filters_d"] == self.diverge_filters and iterations > 10:
            raise Diverged(f"non-finite loss at step 11 of {run.name}")
        rng = np.random.default_rng([config["seed"], len(lines)])
        for step in range(len(lines) + 1, iterations + 1):
            lines.append(json.dumps({"step": step, "d_loss": float(rng.normal(1.0, 0.1))}))
            with open(run / "trained_steps.log", "a") as log:
                log.write(f"{step}\n")
        stats_file.write_text("\n".join(lines) + "\n")
        return run

    def score(self, run_dir, step):
        first = json.loads((run_dir / "stats.jsonl").read_text().splitlines()[0])
        filters = json.loads((run_dir / "config.json").read_text()).get("filters_d", 32)
        return 100.0 * filters / 16 + 100.0 / step + first["d_loss"]

    def dloss_stats(self, run_dir):
        losses = np.array([json.loads(line)["d_loss"] for line in (run_dir / "stats.jsonl").read_text().splitlines()])
        return {"dloss_mean": losses.mean(), "dloss_variance": losses.var(), "dloss_std": losses.std()}


def _config(**changes):
    values = dict(name="tiny", search="grid", gans=["dcgan"], grid_keys=["filters_discriminator"],
                  restrict={"filters_discriminator": [16, 32, 64, 128]}, iterations=40, interval=10,
                  scale="smoke", workers=2)
    return StudyConfig(**{**values, **changes})


def test_tiny_study_asha_interruption_resume_and_divergence(ray_local, tmp_path):
    # one worker: ASHA's decisions then do not depend on which trial reports first
    asha = run_study(_config(asha=True, workers=1), tmp_path, engine=FakeEngine())
    assert len(asha) == 4 and set(asha["scheduler"]) == {"asha"}
    assert dict(zip(asha["filters_discriminator"], asha["status"])) == {
        16: "completed", 32: "stopped_early", 64: "stopped_early", 128: "stopped_early"}
    assert asha.loc[asha["status"] == "stopped_early", "steps"].tolist() == [10, 10, 10]
    # the full budget, interrupted: resuming the 32-filter trial fails (its row says "error"), and the
    # 64-filter trial diverges after step 10 (recorded, not dropped)
    label32 = asha.loc[asha["filters_discriminator"] == 32, "label"].item()
    first = run_study(_config(), tmp_path, engine=FakeEngine(fail_label=label32, diverge_filters=64))
    assert dict(zip(first["filters_discriminator"], first["status"])) == {
        16: "completed", 32: "error", 64: "diverged", 128: "completed"}
    assert first.loc[first["status"] == "diverged", "error"].item().startswith("non-finite loss")
    assert first.loc[first["filters_discriminator"] == 16, "reused_from"].item() == "asha"
    # rerun: only the interrupted trial runs again, continuing its run directory
    full = run_study(_config(), tmp_path, engine=FakeEngine(diverge_filters=64))
    assert dict(zip(full["filters_discriminator"], full["status"])) == {
        16: "completed", 32: "completed", 64: "diverged", 128: "completed"}
    for row in full[full["status"] == "completed"].itertuples():  # every step trained exactly once
        steps = (tmp_path / "runs" / row.run / "trained_steps.log").read_text().split()
        assert steps == [str(s) for s in range(1, 41)]
    assert len(load_study(tmp_path, "tiny", "fifo")) == 4  # one row per trial: the error row was superseded
    saving = stats.asha_saving(load_study(tmp_path, "tiny"))
    assert saving["same_best"] is True and saving["saving"] == pytest.approx(1 - (40 + 3 * 10) / 160)
    best = stats.best_per_gan(full)
    assert best.loc[0, "label"] == full.loc[full["filters_discriminator"] == 16, "label"].item()
    # a rerun finds everything finished and does not start Ray (no engine is built either)
    again = run_study(_config(), tmp_path, engine=None)
    assert again[["trial_id", "fid"]].equals(full[["trial_id", "fid"]])


def test_every_searched_configuration_is_a_valid_train_config():
    from medgan_lib.tune.engine import GanEngine

    base = {"dataset": "cardiac_phantom", "resolution": 32}
    specs = (ss.random_trials("s", ["dcgan", "lsgan", "wgan", "wgan_gp", "hinge"], 20, [0], 10, 5, base, scale="smoke")
             + ss.chetty_trials("s", ["vanilla", "wgan_gp"], [0], 10, 5, base, scale="smoke")
             + ss.belmekki_trials("s", [0], 10, 5, base, scale="smoke"))
    configs = [GanEngine().config(spec) for spec in specs]
    ttur = configs[-2]  # belmekki AdaS + ELU + TTUR: D learns faster than G
    assert ttur.optimizer == "adas" and ttur.activation_g == "elu" and ttur.lr_d > ttur.lr_g
    wgan_gp3 = next(c for c, s in zip(configs, specs) if s.label == "WGAN-GP3")
    assert wgan_gp3.lr_g == 0.001 and wgan_gp3.betas_d == (0.5, 0.9)


def test_spread_notes_are_written_from_the_trials():
    import numpy as np
    import pandas as pd

    from medgan_lib.tune.stats import spread_notes

    rows = pd.DataFrame({"gan": ["hinge", "hinge", "dcgan", "dcgan", "dcgan"], "fid": [100.0, 110.0, 90.0, 150.0, np.nan],
                         "status": ["completed", "completed", "completed", "stopped_early", "failed"]})
    notes = spread_notes(rows)
    assert notes[0] == "hinge: FID 100-110 over 2 trials (range 10)."
    assert "dcgan: FID 90-150 over 2 trials (range 60); 1 trial(s) without a finite FID; 1 stopped early" in notes[1]
    assert notes[2].startswith("smallest range: hinge; largest: dcgan")


def test_table3_compares_stylegan2_with_each_wgan_gp_experiment():
    rng = np.random.default_rng(1)
    values = {("stylegan2", "StyleGAN2"): rng.normal(26, 1, 3), ("wgan_gp", "WGAN-GP1"): rng.normal(26.2, 1, 3),
              ("wgan_gp", "WGAN-GP2"): rng.normal(40, 1, 3)}
    rows = pd.DataFrame([{"gan": gan, "label": label, "fid": v, "status": "completed"}
                         for (gan, label), vs in values.items() for v in vs])
    grids = stats.significance_grids(rows)
    cross = grids["stylegan2 vs wgan_gp"]
    assert list(cross.index) == ["StyleGAN2"] and list(cross.columns) == ["WGAN-GP1", "WGAN-GP2"]
    for column in cross.columns:
        p = sps.ttest_ind(values[("stylegan2", "StyleGAN2")], values[("wgan_gp", column)]).pvalue
        assert cross.loc["StyleGAN2", column] == ("✓" if p < 0.05 else "✗")
    assert cross.loc["StyleGAN2", "WGAN-GP2"] == "✓" and cross.loc["StyleGAN2", "WGAN-GP1"] == "✗"
    assert set(grids) == {"wgan_gp", "stylegan2 vs wgan_gp"}  # StyleGAN2 alone has no within-GAN pairs


def test_a_medfid_search_needs_its_checkpoint_and_another_metric_scores_again(ray_local, tmp_path):
    from medgan_lib.config import ConfigError

    with pytest.raises(ConfigError, match="metric 'medfid' needs a MedFID checkpoint"):
        _config(metric="medfid")
    small = dict(restrict={"filters_discriminator": [16, 32]}, iterations=10, interval=10, workers=1)
    first = run_study(_config(**small), tmp_path, engine=FakeEngine())
    assert set(first["metric"]) == {"fid"}
    checkpoint = tmp_path / "medfid-abc.pt"
    checkpoint.write_bytes(b"stand-in")  # the fake engine never reads it
    rescored = run_study(_config(metric="medfid", metric_checkpoint=str(checkpoint), **small), tmp_path,
                         engine=FakeEngine())
    assert set(rescored["metric"]) == {"medfid"} and set(rescored["metric_checkpoint"]) == {"medfid-abc.pt"}
    assert rescored["trial_id"].tolist() == first["trial_id"].tolist()


def test_significance_table_draws_grids_and_prints_single_pairs(capsys):
    from medgan_lib.tune.plots import significance_table

    pair = pd.DataFrame([["✓"]], index=["A"], columns=["B"])
    assert significance_table(pair, "g") is None and "A and B differ" in capsys.readouterr().out
    cross = pd.DataFrame([["✓", "✗", "?"]], index=["StyleGAN2"], columns=["WGAN-GP1", "WGAN-GP2", "WGAN-GP3"])
    ax = significance_table(cross, "stylegan2 vs wgan_gp")
    assert ax is not None and [t.get_text() for t in ax.get_xticklabels()] == list(cross.columns)
    assert significance_table(pd.DataFrame(index=["A"]), "g") is None and "nothing to compare" in capsys.readouterr().out


def test_search_figures_name_gans_once_when_there_are_many_trials():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from medgan_lib.tune.plots import fid_curves, fid_distribution

    rows = pd.DataFrame([dict(gan=gan, label=f"r{i:02d}", seed=seed, status="completed", n=32, dataset="toy",
                              fid=100.0 + i, fid_curve=[[10, 120.0 + i], [20, 100.0 + i]])
                         for gan in ("dcgan", "wgan_gp") for i in range(8) for seed in (0, 1)])
    ax = fid_curves(rows)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["DCGAN", "WGAN-GP"]  # not 32 entries
    assert len({line.get_color() for line in ax.get_lines()}) == 2  # one colour per GAN
    few = fid_curves(rows.head(3), plt.subplots()[1])
    assert [t.get_text() for t in few.get_legend().get_texts()][0] == "DCGAN r00 s0"
    assert [t.get_text() for t in fid_distribution(rows).get_xticklabels()] == ["DCGAN", "WGAN-GP"]
