"""The section notebooks, executed once, end to end, by the study runner with the smoke profile.

This is the only place CI executes the notebooks (no separate nbval pass): it checks that each runs at
smoke size, that they share artefacts through one study folder, and that the index is built from results.
By hand, one notebook: ``.venv/bin/python -m pytest --nbval-lax notebooks/NN_name.ipynb``.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
from pathlib import Path

import nbformat
import pytest
from PIL import Image

from medgan_lib.study import SECTIONS, load_profile, run_study
from medgan_lib.study.profiles import NOTEBOOKS_DIR
from medgan_lib.study.runner import MISSING, OK, load_state, records_of, summary
from medgan_lib.study.render import NAV_END, NAV_START, PROVENANCE_TAG
from medgan_lib.plotting import MAX_WIDTH
from medgan_lib.tables import CSS_CLASS

# Result kind -> the section notebook that writes it.
PRODUCERS = {"gan_runs": "02_gan_training", "fid": "03_fid_evaluation", "memorization": "03_fid_evaluation",
             "distortion": "03_fid_evaluation", "fid_rank": "03_fid_evaluation",
             "calibration": "03_fid_evaluation", "privacy": "03_fid_evaluation", "dice": "04_unet_dice",
             "memory": "05_memory_analysis", "tune": "06_hyperparameter_search",
             "cas": "08_conditional_and_translation", "class_fid": "08_conditional_and_translation",
             "infogan_codes": "08_conditional_and_translation", "translation": "08_conditional_and_translation"}


def test_every_section_notebook_is_committed_stripped_and_tagged():
    for section in SECTIONS:
        path = NOTEBOOKS_DIR / f"{section.notebook}.ipynb"
        assert path.exists(), f"section notebook {path.name} is missing"
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert not any(c.outputs or c.execution_count for c in code), f"{path.name}: strip its outputs"
        assert "parameters" in code[0].metadata.get("tags", []), f"{path.name}: first code cell is not tagged"
        dump = [c for c in code if "print_config()" in c.source]
        assert dump and all(PROVENANCE_TAG in c.metadata.get("tags", []) for c in dump), \
            f"{path.name}: tag the print_config() cell '{PROVENANCE_TAG}' (the reader's version drops its output)"
        ids = [c.get("id") for c in json.loads(path.read_text())["cells"]]  # nbformat 4.5 cells need ids (nbformat
        # fills missing ones on read, with a warning on every read, and the next save would change the file)
        assert all(ids) and len(set(ids)) == len(ids), f"{path.name}: every cell needs its own id"


def test_smoke_study_runs_every_section_notebook(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("MEDGAN_CACHE", str(tmp_path / "cache"))  # prepared data, real-image statistics
    out = tmp_path / "smoke-cardiac_phantom"
    result = run_study(load_profile("smoke"), out)
    # A missing notebook fails the test above; here every notebook that exists must run.
    assert all(result.records[n].status in (OK, MISSING) for n in result.plan), summary(result)
    index = (out / "index.html").read_text()
    for name in result.plan:
        record = result.records[name]
        if record.status == OK:
            assert (out / record.html).exists() and (out / record.reader_html).exists()
            assert record.html in index
    present = {result.records[n].section for n in result.plan if result.records[n].status == OK}
    folders = {s.notebook: out / s.folder if s.folder else out for s in SECTIONS}
    for kind, section in PRODUCERS.items():
        if section in present:
            assert (folders[section] / "results" / f"{kind}.jsonl").exists(), f"{section} wrote no {kind} results"
    assert "tune: " in index and "tune: not available" not in index  # the index reads the search's own folder
    for section in ("Class-conditional GANs (08)", "Image-to-image translation (08)"):  # from 08's own folder
        shown = index.split(section, 1)[1].split("<h2>", 1)[0]
        assert "medgan-table" in shown and "cardiac_" in shown, section
    # the findings are computed from this study's rows: the memory sweep has one feature-map size at smoke size
    assert "The papers' findings" in index and "verdict-" in index
    assert "needs &gt;= 3 feature-map sizes" in index
    calibration = index.split("What the audit would have caught", 1)[1].split("<h2>", 1)[0]
    assert "03_audit_calibration.png" in calibration and "pixel: catches" in calibration  # 03's curve and rows
    assert_pages(out)
    assert "02_gan_training-dcgan-s0: samples through training: dcgan" in index  # captioned by what it shows
    two = (out / result.records["02_gan_training-spade-s0"].html).read_text()
    assert "<title>02_gan_training · SPADE GAN, seed 0</title>" in two  # the per-GAN pages say which GAN


@pytest.mark.skipif(not os.environ.get("MEDGAN_CHECK_STUDY"), reason="set MEDGAN_CHECK_STUDY=<study folder> to check "
                    "a study made by hand, e.g. a fresh quick study (reports/quick-cardiac_phantom)")
def test_a_finished_study_passes_the_page_checks():
    """The classroom checks of the smoke study, on any finished study folder (e.g. ``make study``'s)."""
    out = Path(os.environ["MEDGAN_CHECK_STUDY"])
    steps = records_of(load_state(out))
    assert steps and all(record.status == OK for record in steps.values()), \
        {name: record.status for name, record in steps.items() if record.status != OK}
    assert_pages(out)


def assert_pages(out: Path) -> None:
    """Every finished step's pages: clean outputs, tables from medgan_lib.tables, figures within the width limit,
    header links that resolve; the index: thumbnails as files that resolve, key figures within the limit."""
    for record in records_of(load_state(out)).values():
        if record.status == OK:
            assert_clean_outputs(out / record.notebook)
            assert_linked(out, out / record.html, reader=False)
            assert_linked(out, out / record.reader_html, reader=True)
    index = (out / "index.html").read_text()
    assert "data:image/png" not in index  # thumbnails are files beside the index, each linked to its page
    for link in re.findall(r"<figure><a href='([^']+)'", index):
        assert (out / link).is_file(), f"index figure link {link} does not resolve"
    for figure in (out / "figures").glob("*.png"):  # the index's key figures too
        assert Image.open(figure).size[0] <= MAX_PIXELS, f"{figure.name} is wider than {MAX_WIDTH} in"


def assert_linked(out: Path, page: Path, reader: bool) -> None:
    """The page's header links resolve: the index, the previous/next page of the same version, the other version."""
    text = page.read_text()
    nav = text[text.index(NAV_START):text.index(NAV_END)]
    links = re.findall(r'<a href="([^"]+)">([^<]*)</a>', nav)
    assert ("../index.html", "&#8593; study index") in links or any(h == "../index.html" for h, _ in links), \
        f"{page.name}: no link back to the index"
    for href, label in links:
        assert (page.parent / href).resolve().is_file(), f"{page.name}: header link {href} does not resolve"
        if href != "../index.html":  # prev/next stay in this version; the switch goes to the other one
            switch = label in ("reader's version", "full version with code")
            assert href.endswith(".reader.html") == (reader != switch), f"{page.name}: {label} -> {href}"
    assert ("code version :" in text) != reader, f"{page.name}: the version dump belongs in the full version only"


MAX_PIXELS = int(MAX_WIDTH * 100 * 1.06)  # the inline backend's 100 dpi, with bbox_inches="tight"'s margin
# What must never reach a report a class reads: progress-bar lines on stderr, raw reprs of paths and configs.
NOISE = re.compile(r"\d+it/s|s/it\]|\|[#█▏▎▍▌▋▊▉ ]{5,}\||PosixPath\(|TrainConfig\(|SegConfig\(|StudyConfig\(")


def assert_clean_outputs(path: Path) -> None:
    """Every displayed table comes from ``medgan_lib.tables`` and no output is noise."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            text = output.get("text", "") + output.get("data", {}).get("text/plain", "")
            assert not NOISE.search(text), f"{path.name}: noise in an output: {NOISE.search(text).group(0)!r} in " \
                                           f"{text[:200]!r}"
            png = output.get("data", {}).get("image/png")
            if png:
                width = Image.open(io.BytesIO(base64.b64decode("".join(png)))).size[0]
                assert width <= MAX_PIXELS, f"{path.name}: a figure {width} px wide (> {MAX_WIDTH} in at 100 dpi)"
            page = output.get("data", {}).get("text/html", "")
            if "<table" in page:
                assert f'class="{CSS_CLASS}"' in page, f"{path.name}: a table not shown with medgan_lib.tables: " \
                                                     f"{page[:200]!r}"
