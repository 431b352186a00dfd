"""Result rows have one schema per kind; Table 2 is built once and shown alike by notebook 04 and the index."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from medgan_lib.names import CONDITIONS, GAN_NAMES, condition_label, registered_gan
from medgan_lib.reference import TABLE2, reference_file
from medgan_lib.results import RowError, append_result, read_results
from medgan_lib.study import table2, write_index

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
DATASET = "cardiac_phantom"


def fid_row(gan: str, extractor: str, fid: float, **extra) -> dict:
    return {"dataset": DATASET, "data_spec_hash": "d0", "gan": gan, "run": f"00000-{gan}-{DATASET}-s0", "seed": 0,
            "extractor": extractor, "n": 80, "fid": fid, "fid_ci_low": fid - 2, "fid_ci_high": fid + 3, "kid": 0.012,
            "kid_std": 0.003, "weights_sha256": f"sha-{extractor}", **extra}


def dice_row(condition: str, gan: str | None, seed: int, dice: float) -> dict:
    per_patient = [[dice + d, dice + d] for d in (-0.04, 0.0, 0.04)]  # 3 test patients x 2 structures
    return {"dataset": DATASET, "data_spec_hash": "d0", "condition": condition,
            "label": condition_label(condition, gan), "gan": gan, "seed": seed, "dice": dice,
            "patients": ["p1", "p2", "p3"], "per_patient": per_patient, "checkpoint": "unet/model.pt", "config_hash": f"{condition}-{gan}-{seed}"}


def write_study(folder: Path, gans: list[str]) -> None:
    (folder / "study.json").write_text(json.dumps({"profile": "smoke", "plan": [], "steps": {},
                                                   "common": {"dataset": DATASET}, "study": {"gans": gans}}))


def html_tables(page: str) -> list[list[list[str]]]:
    """Every <table> of a page as rows of cell texts (header row first)."""

    class Tables(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tables, self.cell = [], None

        def handle_starttag(self, tag, attrs):
            if tag == "table":
                self.tables.append([])
            elif tag == "tr":
                self.tables[-1].append([])
            elif tag in ("td", "th"):
                self.cell = ""

        def handle_endtag(self, tag):
            if tag in ("td", "th"):
                self.tables[-1][-1].append(self.cell.strip())
                self.cell = None

        def handle_data(self, data):
            if self.cell is not None:
                self.cell += data

    parser = Tables()
    parser.feed(page)
    return parser.tables


def notebook_04_table(study_dir: Path):
    """What notebook 04's Table 2 cell shows, run on the study's result files."""
    nb = json.loads((NOTEBOOKS / "04_unet_dice.ipynb").read_text())
    cells = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    [code] = [c for c in cells if "table2(" in c]
    scope = {"study_dir": str(study_dir), "dataset": DATASET, "gans": [], "rows": read_results(study_dir, "dice")}
    exec(code, scope)
    return scope["shown"]


def test_notebook_04_and_the_index_show_the_same_table2_with_the_inception_fid(tmp_path):
    write_study(tmp_path, ["dcgan", "spade"])
    fids = {"dcgan": {"inception": 61.0, "unet": 3.2, "medfid": 1240.0},
            "spade": {"inception": 42.0, "unet": 2.1, "medfid": 980.0}}
    for gan, values in fids.items():
        append_result(tmp_path, "fid", fid_row(gan, "inception", values["inception"] + 50))  # replaced by the rerun
        for extractor, value in values.items():
            append_result(tmp_path, "fid", fid_row(gan, extractor, value))
    for seed in (0, 1):
        for condition, gan, dice in [("real", None, 0.86), ("augmented", None, 0.87), ("synthetic", "dcgan", 0.1),
                                     ("synthetic", "spade", 0.6), ("synthetic_gan_masks", "spade", 0.4),
                                     ("real+synthetic", "spade", 0.88)]:
            append_result(tmp_path, "dice", dice_row(condition, gan, seed, dice + 0.02 * seed))
    for gan, rank, resolved, n in (("spade", 1, True, 80), ("dcgan", 2, False, 80), ("dcgan", 1, True, 40)):
        append_result(tmp_path, "fid_rank", {"dataset": DATASET, "gan": gan, "run": f"00000-{gan}-{DATASET}-s0",
                                             "seed": 0, "extractor": "inception", "n": n, "rank": rank,
                                             "rank_resolved": resolved, "compared": 2, "ranking_stability": 0.7,
                                             "reps": 100, "metric": "FID", "replicates": [float(rank)] * 100})
    append_result(tmp_path, "fid_rank", {"dataset": DATASET, "gan": "dcgan", "run": f"00000-dcgan-{DATASET}-s0",
                                         "seed": 0, "extractor": "inception", "n": 80, "rank": 1,
                                         "rank_resolved": True, "compared": 2, "ranking_stability": 0.7, "reps": 100,
                                         "metric": "KID", "replicates": [0.1] * 100})  # a KID rank: not the FID's

    shown = notebook_04_table(tmp_path)
    [index] = [t for t in html_tables(write_index(tmp_path).read_text()) if t[0][:2] == ["training data", "GAN"]]
    assert index[0] == list(shown.columns)
    index_rows = {row[0]: dict(zip(index[0], row)) for row in index[1:]}
    assert list(index_rows) == list(shown["training data"]) == [
        "Original Data", "Augmented Original Data", "DCGAN", "SPADE GAN", "Orig. Data + SPADE GAN"]
    for row in shown.to_dict("records"):
        for column, value in row.items():
            if isinstance(value, str):  # our values; numbers (p-values, the paper's) are formatted per display
                assert index_rows[row["training data"]][column] == value
    by_gan = shown.set_index("training data")
    for gan, label in (("dcgan", "DCGAN"), ("spade", "SPADE GAN")):
        inception = fids[gan]["inception"]
        assert by_gan.loc[label, "FID"] == f"{inception:.3g} [{inception - 2:.3g}, {inception + 3:.3g}]"
        assert by_gan.loc[label, "MedFID"].startswith(f"{fids[gan]['medfid']:.0f} [")
        assert by_gan.loc[label, "U-Net FID"].startswith(f"{fids[gan]['unet']:.3g} [")
        assert by_gan.loc[label, "n"] == "80" and by_gan.loc[label, "KID"] == "0.012 ± 0.003"
    assert by_gan.loc["SPADE GAN", "FID rank"] == "1 of 2"  # 03's paired bootstrap resolved it
    assert by_gan.loc["DCGAN", "FID rank"] == "2 of 2 (unresolved)"  # the rank at the table's n = 80, not n = 40
    assert by_gan.loc["SPADE GAN", "Dice"] == "0.61 ± 0.01 (2 seeds)"  # rounded to the SD's first digit
    assert by_gan.loc["SPADE GAN", "Dice (synthetic, on GAN masks)"] == "0.41 ± 0.01 (2 seeds)"
    assert by_gan.loc["SPADE GAN", "p vs real (Welch)"] < 0.05
    assert np.isnan(by_gan.loc["Original Data", "p vs real (Welch)"])  # the baseline itself
    assert by_gan.loc["SPADE GAN", "paper FID (ACDC)"] == 41.54  # skandarani2023 Table 2, ACDC
    assert by_gan.loc["Original Data", "paper Dice (ACDC)"] == 0.89
    assert index_rows["DCGAN"]["Dice (synthetic, on GAN masks)"] == index_rows["Original Data"]["GAN"] == "–"
    assert index_rows["Original Data"]["FID"] == "–" and index_rows["SPADE GAN"]["paper Dice (ACDC)"] == "0.86"


def test_03_shows_the_fid_part_of_the_same_table(tmp_path):
    from medgan_lib.metrics import fid_table

    for gan, value in (("dcgan", 61.0), ("stylegan2", 24.0)):
        append_result(tmp_path, "fid", fid_row(gan, "inception", value))
    append_result(tmp_path, "fid", fid_row("dcgan", "pixels", 0.5))
    append_result(tmp_path, "fid", fid_row("dcgan", "inception", 9.0, dataset="liver_phantom"))  # other data
    fid = fid_table(read_results(tmp_path, "fid"), DATASET).set_index("GAN")
    full = table2(read_results(tmp_path, "fid"), read_results(tmp_path, "dice"), DATASET)
    full = full[full["training data"].isin(["DCGAN", "StyleGAN"])].set_index("GAN")  # the GAN rows
    assert list(fid.columns) == ["FID", "n", "KID", "U-Net FID", "FID (pixels)", "paper FID (ACDC)"]
    pd.testing.assert_frame_equal(full.loc[fid.index, fid.columns], fid, check_dtype=False)
    assert fid.loc["dcgan", "FID"] == "61 [59, 64]" and fid.loc["stylegan2", "paper FID (ACDC)"] == 24.74


def test_the_index_footnotes_the_papers_own_inconsistencies_under_table2(tmp_path):
    (tmp_path / "study.json").write_text(json.dumps({"profile": "smoke", "plan": [], "steps": {},
                                                     "common": {"dataset": "retina_phantom"}, "study": {}}))
    for gan in ("lsgan", "hinge"):
        append_result(tmp_path, "fid", fid_row(gan, "inception", 70.0, dataset="retina_phantom"))
    index = write_index(tmp_path).read_text()
    assert "LSGAN and HingeGAN share the FID 78.61" in index  # skandarani Table 2, IDRiD, as printed
    write_study(tmp_path, ["stylegan2"])
    append_result(tmp_path, "fid", fid_row("stylegan2", "inception", 10.0))
    assert "78.61" not in write_index(tmp_path).read_text()  # an IDRiD footnote is not an ACDC one


def test_the_index_without_results_says_so_and_lists_weight_hashes_once_there_are(tmp_path):
    write_study(tmp_path, ["stylegan2"])
    index = write_index(tmp_path).read_text()
    assert index.count("not available") >= 4 and "no FID or Dice results yet" in index
    append_result(tmp_path, "fid", fid_row("stylegan2", "inception", 10.0))
    index = write_index(tmp_path).read_text()
    assert "sha-inception" in index and "paper FID (ACDC)" in index and "24.7" in index


def test_a_row_missing_a_key_is_refused_naming_the_kind_and_the_key(tmp_path):
    row = fid_row("dcgan", "inception", 61.0)
    row["extractr"] = row.pop("extractor")
    with pytest.raises(RowError, match=r"'fid' result row must have the key\(s\) 'extractor' \(is 'extractr' a"):
        append_result(tmp_path, "fid", row)
    bad = dice_row("real", None, 0, 0.9)
    del bad["per_patient"], bad["seed"]
    with pytest.raises(RowError, match="'dice' result row must have the key.*'seed', 'per_patient'"):
        append_result(tmp_path, "dice", bad)
    with pytest.raises(ValueError, match="unknown result kind 'dices'; valid kinds: data, gan_runs, fid"):
        append_result(tmp_path, "dices", dice_row("real", None, 0, 0.9))
    assert read_results(tmp_path, "fid").empty and read_results(tmp_path, "dice").empty


def test_rows_of_an_older_study_are_read_with_the_keys_they_lack_missing(tmp_path):
    """Result files are appended to across code versions, so old rows meet new readers: a memorization row that
    still calls its extractor ``feature_extractor``, fid and dice rows written before some keys existed."""
    from medgan_lib.metrics.study import memorization_summary

    old_memo = {"dataset": DATASET, "gan": "dcgan", "run": "00000-dcgan", "n": 16, "feature_extractor": "inception",
                "pixel_near_copy_share": 0.05, "pixel_nn_ratio": 1.1, "pixel_mode_collapse": False}
    old_fid = {"dataset": DATASET, "gan": "dcgan", "run": "00000-dcgan", "extractor": "inception", "fid": 70.0}
    old_dice = {"dataset": DATASET, "condition": "synthetic", "gan": "dcgan", "seed": 0, "dice": 0.2}
    (tmp_path / "results").mkdir()
    for kind, row in (("memorization", old_memo), ("fid", old_fid), ("dice", old_dice)):
        (tmp_path / "results" / f"{kind}.jsonl").write_text(json.dumps(row) + "\n")
    memo = memorization_summary(str(tmp_path), DATASET)
    assert memo.loc[0, "extractor"] == "inception" and np.isnan(memo.loc[0, "feature_nn_ratio"])
    table = table2(read_results(tmp_path, "fid"), read_results(tmp_path, "dice"), DATASET).set_index("GAN")
    assert table.loc["dcgan", "FID"] == "70" and table.loc["dcgan", "Dice"] == "0.2"
    write_study(tmp_path, [])
    assert any("DCGAN" in row for table in html_tables(write_index(tmp_path).read_text()) for row in table)


def test_one_name_map_covers_the_registered_gans_the_conditions_and_the_papers_rows():
    from medgan_lib.gans import GANS
    from medgan_lib.segmentation.study import KINDS, Condition

    assert set(GAN_NAMES) == set(GANS.names()) and set(CONDITIONS) == set(KINDS)
    labels = {condition_label(kind, gan) for kind in CONDITIONS for gan in GAN_NAMES}
    assert set(pd.read_csv(reference_file(TABLE2))["training_data"]) <= labels  # every paper row has our name
    assert Condition("real+synthetic", "spade", "r", "s").label == "Orig. Data + SPADE GAN"
    assert registered_gan("vanilla_mlp") == "vanilla" and registered_gan("wgan_gp") == "wgan_gp"
    with pytest.raises(ValueError, match="unknown GAN name 'biggan'"):
        registered_gan("biggan")
