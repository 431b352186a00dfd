"""The splits the papers used, on tiny copies of the five datasets in their exact on-disk layouts.

ACDC's testing exams and IDRiD's official test images are the test sets; SLiver07 follows our fixed
patient split; the GANs train on the splits ``gan_splits`` names; every manifest says which part of its
split is the paper's and which is ours; ``verify`` runs on every copy.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import yaml
from real_datasets import WRITERS, write_acdc, write_idrid, write_sliver07

from medgan_lib.config import ConfigError, from_dict
from medgan_lib.data import DATASETS, DatasetError, describe, prepare
from medgan_lib.data.manifest import MANIFEST_DIR, Manifest, load_manifest, manifest_names
from medgan_lib.data.prepare import SPLITS, split_by_patient
from medgan_lib.data.verify import LOCK_NAME, verify

SIZE = 32
# What the writers make with their defaults: {subset: (files, patients, slices)}; slices None = one per file.
WRITTEN = {
    "acdc": {"training": (12, 6, 72), "testing": (6, 3, 36)},  # 2 frames x 6 slices per exam
    "sliver07": {"training": (20, 20, 240)},  # 12 slices per volume
    "idrid": {"training": (6, 6, 6), "testing": (3, 3, 3)},
    "chest_xray": {"train": (8, 8, 8)},
    "mura_elbow": {"train": (18, 4, 18), "valid": (9, 2, 9)},  # 3 views per study, odd patients 2 studies
    "chaos_ct": {"training": (30, 5, 30)},  # 6 DICOM slices per patient
    "chaos_mr": {"training": (30, 5, 30)},
}
SLIVER_VAL = {"liver-orig002", "liver-orig009", "liver-orig016"}
SLIVER_TEST = {"liver-orig005", "liver-orig012", "liver-orig019"}


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDGAN_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    """One copy of each dataset, written once for the module (the tests only read them)."""
    base = tmp_path_factory.mktemp("real")
    return {name: writer(base / name) for name, writer in WRITERS.items()}


def _splits(name, root, **kwargs):
    return {split: prepare(name, split, resolution=SIZE, root=root, **kwargs) for split in SPLITS}


def _patients(ds) -> set[str]:
    return set(ds.patient_ids.tolist())


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_every_split_prepares_from_the_exact_layout(roots, name):
    parts = _splits(name, roots[name])
    source = DATASETS[name]
    for split, ds in parts.items():
        assert len(ds) > 0, split
        assert ds.images.shape[1:] == (source.image_channels, SIZE, SIZE) and ds.masks.shape[1:] == (SIZE, SIZE)
        assert -1.0 <= ds.images.min() < ds.images.max() <= 1.0 and np.isfinite(ds.images).all()
        assert ds.label_names == source.label_names
    ids = [_patients(ds) for ds in parts.values()]
    assert all(a.isdisjoint(b) for i, a in enumerate(ids) for b in ids[i + 1:])  # whole patients per split
    assert sum(len(ds) for ds in parts.values()) == sum(s[2] for s in WRITTEN[name].values())
    train = parts["train"]
    if len(source.label_names) > 1:  # the anatomy and its masks line up: the labelled structure stands out
        img = train.images[:, 0]
        assert 0 < (train.masks > 0).mean() < 0.5
        assert abs(img[train.masks > 0].mean() - img[train.masks == 0].mean()) > 0.2
    else:
        assert train.masks.max() == 0
        assert train.images.reshape(len(train), -1).std(axis=1).min() > 0.1  # structure, not a flat image


def test_acdc_testing_exams_are_the_test_set_and_gans_get_every_training_exam(roots):
    parts = _splits("acdc", roots["acdc"])
    training = {f"patient{i:03d}" for i in range(1, 7)}
    assert _patients(parts["test"]) == {"patient101", "patient102", "patient103"}
    assert len(parts["test"]) == 36  # every slice of both frames of the 3 testing exams
    assert _patients(parts["train"]) | _patients(parts["val"]) == training
    assert _patients(parts["val"]) and _patients(parts["test"]).isdisjoint(training)
    assert DATASETS["acdc"].gan_splits == ("train", "val")
    gan = set().union(*(_patients(parts[s]) for s in DATASETS["acdc"].gan_splits))
    assert gan == training  # all the training exams, none of the testing ones
    img, masks = parts["train"].images[:, 0], parts["train"].masks
    assert img[masks == 3].mean() > img[masks == 2].mean() + 0.3  # bright LV blood pool, darker myocardium


def test_idrid_test_split_is_the_official_test_images(roots):
    parts = _splits("idrid", roots["idrid"])
    assert _patients(parts["test"]) == {"IDRiD_55", "IDRiD_56", "IDRiD_57"} and len(parts["test"]) == 3
    assert _patients(parts["train"]) | _patients(parts["val"]) == {f"IDRiD_{i:02d}" for i in range(1, 7)}
    assert DATASETS["idrid"].gan_splits == ("train", "val")
    cases, problems = DATASETS["idrid"].scan(roots["idrid"])
    assert not problems
    for case in cases:  # each subset's images pair with the masks of its own folder
        folder = "b. Testing Set" if case.subset == "testing" else "a. Training Set"
        assert folder in case.image.as_posix() and folder in case.mask.as_posix()
        assert case.mask.name == case.image.name.replace(".jpg", "_OD.tif")
    test = parts["test"]
    for image, mask in zip(test.images, test.masks):  # the optic disc is the bright spot of its own photo
        assert image[0][mask == 1].mean() > image[0][mask == 0].mean() + 0.5


def test_idrid_subsets_reusing_file_names_need_distinct_patient_ids(tmp_path, monkeypatch):
    """Were the test images named like the training ones, pairing stays per subset and ids must differ."""
    root = write_idrid(tmp_path / "A. Segmentation", n_train=4, n_test=2, first_test=1)
    source = DATASETS["idrid"]
    _, problems = source.scan(root)
    assert len(problems) == 2 and all("is also a patient of subset 'training'" in p and "patient_prefix" in p
                                      for p in problems)
    assert any("patient id 'IDRiD_01' of subset 'testing'" in p for p in verify("idrid", root, progress=False).problems)
    merged = _splits("idrid", root)  # prepare treats a shared id as one patient, wholly in the test split
    assert _patients(merged["test"]) == {"IDRiD_01", "IDRiD_02"} and len(merged["test"]) == 4
    assert _patients(merged["test"]).isdisjoint(_patients(merged["train"]) | _patients(merged["val"]))
    testing = next(s for s in load_manifest("idrid").layout.subsets if s.name == "testing")
    monkeypatch.setattr(testing, "patient_prefix", "test_")
    cases, problems = source.scan(root)
    assert not problems
    by_id = {c.patient: c for c in cases}
    assert {"IDRiD_01", "test_IDRiD_01"} <= set(by_id)
    assert "b. Testing Set" in by_id["test_IDRiD_01"].mask.as_posix()
    assert "a. Training Set" in by_id["IDRiD_01"].mask.as_posix()
    test = prepare("idrid", "test", resolution=SIZE, root=root)
    train_val = [prepare("idrid", s, resolution=SIZE, root=root) for s in ("train", "val")]
    assert _patients(test) == {"test_IDRiD_01", "test_IDRiD_02"}
    assert _patients(train_val[0]) | _patients(train_val[1]) == {f"IDRiD_{i:02d}" for i in range(1, 5)}


def test_sliver07_follows_our_fixed_patient_split(roots, tmp_path):
    for seed in (0, 3):  # fixed: the split seed does not move these patients
        parts = _splits("sliver07", roots["sliver07"], seed=seed)
        assert _patients(parts["val"]) == SLIVER_VAL and _patients(parts["test"]) == SLIVER_TEST
        assert len(_patients(parts["train"])) == 14
    assert DATASETS["sliver07"].gan_splits == ("train",)
    assert DATASETS["sliver07"].fixed_patients == {"val": sorted(SLIVER_VAL), "test": sorted(SLIVER_TEST)}
    partial = write_sliver07(tmp_path / "partial", n=6)  # a partial copy: the listed ones present, the rest train
    parts = _splits("sliver07", partial)
    assert _patients(parts["val"]) == {"liver-orig002"} and _patients(parts["test"]) == {"liver-orig005"}
    assert _patients(parts["train"]) == {f"liver-orig{i:03d}" for i in (1, 3, 4, 6)}


def test_split_by_patient_honours_fixed_patients():
    ids = np.array([f"p{i // 2}" for i in range(24)])  # 12 patients, 2 slices each
    fixed = np.array(["test" if i >= 20 else "" for i in range(24)])  # p10, p11 fixed by their data
    listed = {"val": ["p0", "p7", "absent"], "test": ["p10"], "train": ["p3"]}
    for seed in range(3):
        parts = split_by_patient(ids, fixed, {"train": 0.75, "val": 0.25}, seed, listed)
        by_split = {name: set(ids[index].tolist()) for name, index in parts.items()}
        assert by_split["test"] == {"p10", "p11"}
        assert {"p0", "p7"} <= by_split["val"] and "p3" in by_split["train"]
        assert len(by_split["val"]) == 2 + 1  # the other 6 free patients split by the fractions: 1 more val
        assert sum(len(v) for v in by_split.values()) == 12
    with pytest.raises(DatasetError, match="'p11' is listed for the val split, but its data"):
        split_by_patient(ids, fixed, {"train": 1.0}, 0, {"val": ["p11"]})


def test_gan_splits_of_every_source():
    expected = {"acdc": ("train", "val"), "idrid": ("train", "val"), "sliver07": ("train",),
                "chest_xray": ("train",), "mura_elbow": ("train",), "folder": ("train",)}
    for name in DATASETS.names():
        assert DATASETS[name].gan_splits == expected.get(name, ("train",)), name  # phantoms: train
        assert "test" not in DATASETS[name].gan_splits


def _raw(name):
    return yaml.safe_load((MANIFEST_DIR / f"{name}.yaml").read_text())


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(gan_splits=["train", "test"]), r"gan_splits must never include 'test'"),
    (lambda d: d.update(gan_splits=["training"]), r"gan_splits must list distinct splits"),
    (lambda d: d.update(gan_splits=[]), r"gan_splits must list distinct splits"),
    (lambda d: d.update(fixed_patients={"holdout": ["liver-orig001"]}), r"fixed_patients.holdout: not a split"),
    (lambda d: d.update(fixed_patients={"val": ["liver-orig1"]}), r"'liver-orig1' is not a patient id"),
    (lambda d: d.update(fixed_patients={"val": ["liver-orig001"], "test": ["liver-orig001"]}),
     r"'liver-orig001' is listed for both val and test"),
    (lambda d: d.pop("split_source"), r"split_source"),
    (lambda d: d["split_source"].update(ours=" "), r"split_source needs both 'paper' and 'ours'"),
    (lambda d: d["layout"]["subsets"][0].update(mask_gob="x"), r"unknown key\(s\) \['mask_gob'\]"),
])
def test_schema_checks_the_split_fields(change, message):
    values = _raw("sliver07")
    change(values)
    with pytest.raises(ConfigError, match=message):
        from_dict(Manifest, values, "sliver07.yaml")


def test_subset_mask_glob_is_required_with_labels():
    values = _raw("idrid")
    values["layout"]["subsets"][1].pop("mask_glob")
    values["layout"].pop("mask_glob")
    with pytest.raises(ConfigError, match="subset 'training' needs a mask glob"):
        from_dict(Manifest, values, "idrid.yaml")


def test_every_manifest_says_which_split_is_the_papers_and_which_ours():
    for name in manifest_names():
        m = load_manifest(name)
        card = describe(name)
        assert f"split from the paper: {m.split_source.paper}" in card
        assert f"split of our choosing: {m.split_source.ours}" in card
        assert f"GANs train on: {' + '.join(m.gan_splits)}" in card
    assert "skandarani2023" in load_manifest("acdc").split_source.paper
    assert "no split" in load_manifest("sliver07").split_source.paper
    assert "chosen by us" in load_manifest("sliver07").split_source.ours
    assert "27 test images" in load_manifest("idrid").split_source.ours
    assert "official split" in load_manifest("mura_elbow").split_source.paper
    assert "private" in load_manifest("mura_elbow").split_source.paper  # chetty2023's own elbow set
    assert "GANs train on: train" in describe("cardiac_phantom") and "GANs train on: train" in describe("folder")


COUNT_PROBLEM = re.compile(r"subset '(\w+)' has (\d+) (files|patients|slices), the manifest expects (\d+)$")


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_verify_runs_on_every_copy(roots, tmp_path, name, monkeypatch):
    import shutil

    root = shutil.copytree(roots[name], tmp_path / name)  # verify writes its lock file beside the data
    report = verify(name, root, progress=False)
    assert report.counts == {subset: dict(zip(("files", "patients", "slices"), counts))
                             for subset, counts in WRITTEN[name].items()}
    # A tiny copy holds fewer files than the real dataset: verify says so, subset by subset, and nothing else.
    assert report.problems and not report.ok and report.lock is None and not (root / LOCK_NAME).exists()
    for problem in report.problems:
        found = COUNT_PROBLEM.search(problem)
        assert found, problem
        subset, have, key, expected = found.groups()
        assert int(have) == report.counts[subset][key] and int(have) < int(expected)
    # With the counts of the copy it is consistent: verify passes and locks the files' hashes.
    for subset in load_manifest(name).layout.subsets:
        for key, value in report.counts[subset.name].items():
            if getattr(subset, key) is not None:
                monkeypatch.setattr(subset, key, value)
    report = verify(name, root, progress=False)
    assert report.ok, report.problems
    assert report.lock == root / LOCK_NAME and report.lock.is_file()


def test_verify_reports_missing_fixed_patients_and_mask_pairing(tmp_path):
    root = write_sliver07(tmp_path / "sliver", n=6)
    problems = verify("sliver07", root, progress=False).problems
    missing = [p for p in problems if "fixed split puts in" in p]
    assert len(missing) == 4 and all("is not in the copy" in p for p in missing)  # 009, 012, 016, 019
    idrid = write_idrid(tmp_path / "idrid", n_train=2, n_test=2)
    (idrid / "2. All Segmentation Groundtruths/b. Testing Set/5. Optic Disc/IDRiD_56_OD.tif").rename(
        idrid / "2. All Segmentation Groundtruths/a. Training Set/5. Optic Disc/IDRiD_56_OD.tif")
    problems = verify("idrid", idrid, progress=False).problems
    assert any("b. Testing Set/IDRiD_56.jpg: mask file is missing" in p for p in problems)
    assert any("a. Training Set/5. Optic Disc/IDRiD_56_OD.tif: mask without an image" in p for p in problems)


def test_writers_are_deterministic(tmp_path):
    a = write_acdc(tmp_path / "a", n_train=1, n_test=1)
    b = write_acdc(tmp_path / "b", n_train=1, n_test=1)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for rel in files:
        if rel.suffix == ".cfg":
            assert (a / rel).read_text() == (b / rel).read_text()
    x = prepare("acdc", "test", resolution=SIZE, root=a)
    y = prepare("acdc", "test", resolution=SIZE, root=b)
    np.testing.assert_array_equal(x.images, y.images)
    np.testing.assert_array_equal(x.masks, y.masks)


def test_chest_copy_mixes_transfer_syntaxes_and_photometrics(roots):
    import pydicom

    files = sorted((roots["chest_xray"] / "train").glob("*.dicom"))
    headers = [pydicom.dcmread(f, stop_before_pixels=True) for f in files]
    assert sum(h.file_meta.TransferSyntaxUID.name.startswith("JPEG 2000") for h in headers) == 1
    assert {h.PhotometricInterpretation for h in headers} == {"MONOCHROME1", "MONOCHROME2"}
    images = np.concatenate([ds.images for ds in _splits("chest_xray", roots["chest_xray"]).values()])
    assert len(images) == len(files)
    flat = images.reshape(len(images), -1)
    mean = flat.mean(axis=0)
    # MONOCHROME1 films are inverted on reading: every film shows the same anatomy the same way round
    assert all(np.corrcoef(row, mean)[0, 1] > 0.8 for row in flat)
