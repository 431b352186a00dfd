"""The study end to end on each real reader: tiny datasets in the exact on-disk layouts of ACDC (NIfTI), SLiver07
(MetaImage), IDRiD (JPG + TIF), VinBigData (DICOM, one JPEG 2000 file) and MURA (PNG), run through the study
runner like ``medgan study run --profile smoke --dataset NAME --root PATH``. Every step must be OK, 03 and 04
included; the sections after 02 take their data from the runs (one DataSpec), never from their own parameters.

Reduced smoke profile: the memory analysis (05) and the hyperparameter search (06) read no real files beyond
what 02 does and are covered by the phantom smoke study, so they are left out here to keep CI short. The Turing
test (07) runs on the readers whose images differ in kind from the phantom study's (IDRiD's RGB, VinBigData's
image-only films); MURA, image-only like VinBigData, runs 01 and 02 (its reader and the runs' DataSpec).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from medgan_lib.data import DataSpec
from medgan_lib.results import read_results
from medgan_lib.study import SECTIONS, apply_overrides, load_profile, run_study
from medgan_lib.study.runner import OK, summary
from medgan_lib.training import Run, find_runs
from real_datasets import WRITERS

SIZES = {"idrid": dict(n_train=8, n_test=12), "chest_xray": dict(n=64), "mura_elbow": dict(n_train=6, n_valid=8)}
READERS = {  # dataset -> (GANs, masks-only GANs): SPADE and mask generators need masks, which X-rays lack
    "acdc": (["dcgan", "spade"], ["dcgan"]),
    "sliver07": (["dcgan", "spade"], []),
    "idrid": (["dcgan"], []),
    "chest_xray": (["dcgan"], []),
    "mura_elbow": (["dcgan"], []),
}
# 08 trains on data of its own (its phantoms), not on the reader's: tests/test_notebooks.py runs it
MAIN = ("01_data_preparation", "02_gan_training", "03_fid_evaluation", "04_unet_dice")
SECTIONS_RUN = {"acdc": MAIN, "sliver07": MAIN, "idrid": MAIN + ("07_visual_turing_test",),
                "chest_xray": MAIN + ("07_visual_turing_test",), "mura_elbow": MAIN[:2]}


def smoke_study(tmp_path: Path, dataset: str, root: Path, gans: list[str], mask_gans: list[str],
                overrides: list[tuple[str, str]] = (), sections: tuple[str, ...] = MAIN):
    profile = apply_overrides(load_profile("smoke"), [("study.mask_gans", str(mask_gans)), *overrides],
                              dataset=dataset, root=str(root), gans=gans)
    out = tmp_path / f"smoke-{dataset}"
    chosen = tuple(s for s in SECTIONS if s.notebook in sections)
    return run_study(profile, out, sections=chosen, echo=lambda _: None), out


@pytest.mark.parametrize("dataset", list(READERS))
def test_smoke_study_on_each_real_reader(tmp_path, monkeypatch, dataset):
    monkeypatch.setenv("MEDGAN_CACHE", str(tmp_path / "cache"))
    root = WRITERS[dataset](tmp_path / "data" / dataset, **SIZES.get(dataset, {}))  # test splits of >= 10 images
    gans, mask_gans = READERS[dataset]
    result, out = smoke_study(tmp_path, dataset, root, gans, mask_gans, sections=SECTIONS_RUN[dataset])
    assert result.ok, summary(result)
    assert {result.records[n].section for n in result.plan} == set(SECTIONS_RUN[dataset])

    runs = find_runs(out, channels=None)
    spec = DataSpec.from_params(dataset, root, 64, 120)  # the smoke notebooks' resolution and count
    assert {r.gan_name for r in runs if not r.is_mask_generator} == set(gans)
    assert all(r.data_spec == spec for r in runs)  # 02 trained every run on the one spec 01 prepared
    assert set(read_results(out, "data")["data_spec_hash"]) == {spec.hash}
    test_patients = set(spec.prepare("test").patient_ids.tolist())
    assert test_patients and all(not (r.training_patients & test_patients) for r in runs)
    if "03_fid_evaluation" not in SECTIONS_RUN[dataset]:
        return
    fid = read_results(out, "fid")
    assert set(fid["data_spec_hash"]) == {spec.hash} and set(fid["gan"]) == set(gans)
    dice = read_results(out, "dice")
    if spec.prepare("test").num_classes > 1:
        assert set(dice["data_spec_hash"]) == {spec.hash}
        assert {"real", "synthetic"} <= set(dice["condition"])
        report = (out / result.records["04_unet_dice"].html).read_text()
        assert "Leakage check: none of the" in report and f"{len(test_patients)} test patients" in report
    else:  # image-only data: the report says why there is no Table 2
        report = (out / result.records["04_unet_dice"].html).read_text()
        assert "has no segmentation masks" in report


def test_runs_of_different_data_are_refused_and_no_test_patient_trains_a_gan(tmp_path, monkeypatch):
    """Leakage: the GANs and 04 asked for different counts. Before DataSpec, 04 re-prepared its own count (GANs
    at 64 slices, 04 at 120), so a GAN's training patients could land in 04's test split. Now 03 and 04 take the
    runs' spec; a study whose runs disagree on data is refused with a message naming the runs."""
    monkeypatch.setenv("MEDGAN_CACHE", str(tmp_path / "cache"))
    root = WRITERS["acdc"](tmp_path / "acdc", n_train=8, n_test=3)
    few = [("02_gan_training.count", "40"), ("01_data_preparation.count", "120")]
    result, out = smoke_study(tmp_path, "acdc", root, ["dcgan"], [], few,
                              sections=("01_data_preparation", "02_gan_training", "04_unet_dice"))
    assert result.ok, summary(result)
    (run,) = find_runs(out)
    assert run.data_spec.count == 40  # the GAN's own data, not 01's
    rows = read_results(out, "dice")
    assert set(rows["data_spec_hash"]) == {run.data_spec.hash}  # 04 used the run's spec, not 01's
    test = run.data_spec.prepare("test")
    assert not run.training_patients & set(test.patient_ids.tolist())

    from medgan_lib.training import preset, train_gan

    other = Run(train_gan(preset("smoke", gan="lsgan", dataset="acdc", root=str(root), resolution=64, count=80,
                                 progress=False), out))
    from medgan_lib.metrics.study import run_data

    with pytest.raises(ValueError, match=r"trained on different data") as refused:
        run_data(find_runs(out))
    assert f"40 slices, split seed 0, from {root} (hash {run.data_spec.hash}): {run.name}" in str(refused.value)
    assert f"80 slices, split seed 0, from {root} (hash {other.data_spec.hash}): {other.name}" in str(refused.value)
    from medgan_lib.segmentation import run_dice_study

    with pytest.raises(ValueError, match=r"trained on different data"):
        run_dice_study(out, "acdc")
    assert not (other.path / "samples").exists()  # refused before any sample was drawn
