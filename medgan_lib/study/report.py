"""The study's ``index.html``: Table 2 from the result files (never from notebook outputs) beside the
paper's published values, key figures, memorisation flags, links to every section report, provenance."""

from __future__ import annotations

import base64
import html
import json
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from medgan_lib.atomic import write_bytes, write_text
from medgan_lib.names import condition_label
from medgan_lib.provenance import library_versions
from medgan_lib.reference import PAPER_DATASETS, footnotes, paper_table2
from medgan_lib.results import latest, of_dataset, read_results
from medgan_lib.rows import CONDITION, EXTRACTOR, GAN, KINDS, LABEL, MEMORIZATION_FLAGS, N, PROVENANCE, RUN, TIME
from medgan_lib.study.plan import SECTIONS
from medgan_lib.study.render import Page, link_pages
from medgan_lib.study.runner import OK, load_state, records_of
from medgan_lib.tables import CSS_CLASS, mean_sd, to_html

NOT_AVAILABLE = "not available"  # a part of the page without results
_HIDDEN_COLUMNS = {PROVENANCE, TIME, "config", "libraries", "device"}

_CSS = """
body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.9em}
th,td{border:1px solid #ccc;padding:0.25em 0.6em;text-align:left;vertical-align:top}
th{background:#f3f3f3} .ok{color:#17703a} .failed,.blocked,.missing{color:#b3261e;font-weight:bold}
.na{color:#888;font-style:italic} figure{display:inline-block;margin:0.5em;max-width:360px}
figure img{max-width:100%;border:1px solid #ddd} figcaption{font-size:0.8em;color:#555}
.note{background:#eef4fb;border-left:4px solid #4a7ab5;padding:0.5em 1em}
.verdict-reproduced{color:#17703a;font-weight:bold} .verdict-not-reproduced{color:#b3261e;font-weight:bold}
.verdict-inconclusive-at-this-n{color:#8a5a00} .verdict-not-tested{color:#888;font-style:italic}
table.medgan-table{display:block;max-width:100%;overflow-x:auto} .medgan-table td{max-width:28em;overflow-wrap:anywhere}
"""


def write_index(study_dir: Path) -> Path:
    """(Re)write ``<study_dir>/index.html`` from ``study.json`` and ``results/*.jsonl``, and the header of every
    section page (``render.link_pages``), so the pages and the index always link to what exists."""
    study_dir = Path(study_dir).resolve()
    state = load_state(study_dir)
    records = records_of(state)
    plan = state.get("plan", sorted(records))
    link_pages(study_dir, [Page(n, records[n].html, records[n].reader_html, records[n].gan, records[n].seed,
                                records[n].parameters) for n in plan if n in records and records[n].html],
               state.get("profile", ""))
    common = state.get("common", {})
    dataset = common.get("dataset", "?")
    results = study_results(study_dir)
    parts = [
        f"<h1>GANs for medical image synthesis: study <code>{_e(study_dir.name)}</code></h1>",
        f"<p>Profile <b>{_e(state.get('profile', '?'))}</b>, dataset <b>{_e(dataset)}</b>, "
        f"run {_e(state.get('started', '?'))} to {_e(state.get('finished', 'unfinished'))}. "
        f"Index written {_e(time.strftime('%Y-%m-%d %H:%M:%S'))}.</p>",
        _phantom_note(dataset),
        "<h2>Sections</h2>", _steps_table(plan, records),
        "<h2>Table 2: image quality and downstream segmentation</h2>",
        _table2(results, dataset, state.get("study", {}).get("gans")),
        "<h2>The papers' findings, tested on this study</h2>", _findings(results, dataset),
        "<h2>Do the metrics rank the GANs alike?</h2>", _agreement(results, dataset),
        "<h2>Key figures</h2>", _figures(study_dir, plan, records),
        "<h2>Memorisation</h2>", _memorization(results["memorization"]),
        "<h3>What the audit would have caught</h3>", _calibration(results, dataset, study_dir),
        "<h2>Privacy: membership inference and anatomy reuse</h2>", _privacy(results, dataset),
        "<h2>Class-conditional GANs (08)</h2>", _conditional(results),
        "<h2>Image-to-image translation (08)</h2>", _translation(results),
        "<h2>Provenance</h2>", _provenance(state, plan, records, results),
        "<h2>All result tables</h2>", _all_results(results),
    ]
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>study {_e(study_dir.name)}</title>"
            f"<style>{_CSS}</style></head><body>{''.join(parts)}</body></html>\n")
    return write_text(study_dir / "index.html", page)


def study_results(study_dir: Path) -> dict[str, pd.DataFrame]:
    """Every result kind of a study (its own results and its sections' folders, e.g. the search's), latest
    rows only: what the index and the findings read."""
    study_dir = Path(study_dir).resolve()
    folders = [study_dir] + [study_dir / s.folder for s in SECTIONS if s.folder and (study_dir / s.folder).is_dir()]
    return {kind: latest(pd.concat([read_results(f, kind) for f in folders], ignore_index=True), kind)
            for kind in KINDS}


def table2(fid: pd.DataFrame, dice: pd.DataFrame, dataset: str, gans: Sequence[str] | None = None,
           ranks: pd.DataFrame | None = None) -> pd.DataFrame:
    """skandarani2023 Table 2 from ``fid`` and ``dice`` result rows, as notebook 04 and the index show it. One row
    per training condition in the paper's order: real data and augmented real data (when the study or the paper
    has them), each GAN of ``gans`` (else every GAN in the rows), real data plus a GAN's samples (likewise). Columns:
    this study's Dice, mean ± std over U-Net seeds (``segmentation.summary``), with p-values against the real-data
    U-Net; SPADE's Dice on GAN-generated masks (when the study has it); on the GAN rows the FID part of the table
    (``metrics.fid_table``: Inception FID [CI], its rank with ``ranks``, n, KID, U-Net FID, MedFID, the paper's
    FID); the paper's Dice.
    Values the results do not give are missing (NaN)."""
    from medgan_lib.metrics.evaluate import fid_table
    from medgan_lib.segmentation import summary

    dice = latest(of_dataset(dice, dataset), "dice")
    gans = list(dict.fromkeys(gans or [*of_dataset(fid, dataset)[GAN].dropna(), *dice[GAN].dropna()]))
    fids = fid_table(fid, dataset, gans, ranks).set_index("GAN")
    labels = [condition_label(c, g) for c, g in zip(dice[CONDITION], dice[GAN])]  # also for rows of older studies
    ours = {row["condition"]: row for row in summary(dice.assign(**{LABEL: labels})).to_dict("records")}
    on_gan_masks = ["Dice (synthetic, on GAN masks)"] if (dice[CONDITION] == "synthetic_gan_masks").any() else []
    paper_dice = f"paper Dice ({PAPER_DATASETS.get(dataset, 'n/a')})"
    rows = []
    for condition, gan in [("real", None), ("augmented", None), *(("synthetic", g) for g in gans),
                           *(("real+synthetic", g) for g in gans)]:
        label, paper = condition_label(condition, gan), paper_table2(dataset, condition, gan)
        if condition != "synthetic" and label not in ours and np.isnan(paper["unet_dice"]):
            continue
        entry = ours.get(label, {})
        row = {"training data": label, "GAN": gan, "Dice": _dice_text(entry)}
        if on_gan_masks and condition == "synthetic":
            row[on_gan_masks[0]] = _dice_text(ours.get(condition_label("synthetic_gan_masks", gan), {}))
        row["p vs real (Wilcoxon)"] = entry.get("p_wilcoxon", np.nan)
        row["p vs real (Welch)"] = entry.get("p_welch", np.nan)
        row.update(fids.loc[gan].to_dict() if condition == "synthetic" else {})
        row[paper_dice] = paper["unet_dice"]
        rows.append(row)
    columns = ["training data", "GAN", "Dice", *on_gan_masks, "p vs real (Wilcoxon)", "p vs real (Welch)",
               *fids.columns, paper_dice]
    return pd.DataFrame(rows, columns=columns).fillna(np.nan)  # None -> NaN, which every display shows as missing


def _dice_text(entry: dict) -> str | None:
    """``mean ± std (k seeds)`` of one condition's ``summary`` entry (the value alone for one seed)."""
    if not entry:
        return None
    mean, std, seeds = entry["dice_mean"], entry["dice_std"], entry["seeds"]
    return f"{mean_sd(mean, std)} ({seeds} seeds)" if seeds > 1 else mean_sd(mean, float("nan"))


def list_studies(reports_dir: Path) -> list[dict[str, Any]]:
    """Every study under ``reports_dir`` (a folder with ``study.json``) with its status counts and time."""
    studies = []
    for path in sorted(Path(reports_dir).glob(f"*/{'study.json'}")):
        state = json.loads(path.read_text())
        recs = records_of(state)
        plan = state.get("plan", list(recs))
        statuses = [recs[n].status if n in recs else "not run" for n in plan]
        counts = {s: statuses.count(s) for s in dict.fromkeys(statuses)}
        status = "complete" if counts.get(OK, 0) == len(plan) and state.get("finished") else (
            "unfinished" if not state.get("finished") else "with failures")
        studies.append({"name": path.parent.name, "profile": state.get("profile"),
                        "dataset": state.get("common", {}).get("dataset"), "status": status, "steps": counts,
                        "started": state.get("started"), "wall_time": state.get("wall_time")})
    return studies


# ---- pieces of the page -------------------------------------------------------------------------------

def _steps_table(plan: list[str], records: dict) -> str:
    rows = []
    for name in plan:
        rec = records.get(name)
        if rec is None:
            rows.append(f"<tr><td>{_e(name)}</td><td class='na'>not run</td><td></td><td></td><td></td></tr>")
            continue
        links = [f"<a href='{_e(p)}'>{label}</a>" for label, p in
                 (("report", rec.html), ("reader's version", rec.reader_html), ("notebook", rec.notebook),
                  ("log", rec.log)) if p]
        when = f"{rec.wall_time:.1f} s" if rec.wall_time is not None else ""
        if rec.cached:
            when += " (reused)"
        rows.append(f"<tr><td>{_e(name)}</td><td class='{_e(rec.status)}'>{_e(rec.status)}</td><td>{when}</td>"
                    f"<td>{' · '.join(links)}</td><td>{_e(rec.error or '')}</td></tr>")
    return ("<table><tr><th>step</th><th>status</th><th>wall time</th><th>reports</th><th>error</th></tr>"
            + "".join(rows) + "</table>")


def _table2(results: dict[str, pd.DataFrame], dataset: str, gans: list[str] | None) -> str:
    if _no_fid_or_dice(results):
        return f"<p class='na'>{NOT_AVAILABLE}: no FID or Dice results yet.</p>"
    table = table2(results["fid"], results["dice"], dataset, gans, results.get("fid_rank"))
    body = to_html(table)
    paper_name = PAPER_DATASETS.get(dataset)
    note = (f"<p>Columns labelled <i>paper</i> are skandarani et al. 2023's published values on {paper_name}, "
            f"real patient data at the paper's scale; the other columns are this study's own numbers on "
            f"<b>{_e(dataset)}</b>. They show the same protocol, not the same data. Dice: mean ± std over U-Net "
            f"seeds on the real test split, with p-values against the U-Net trained on real data. A SPADE synthetic "
            f"set is drawn on training masks, as in the paper; <i>on GAN masks</i> on the masks of the study's "
            f"masks-only GAN. <i>FID rank</i>: the run's place by Inception FID among the runs 03 compared, "
            f"<i>(unresolved)</i> where a paired bootstrap cannot order it against a neighbour at this n.</p>"
            if paper_name else "<p>The paper has no Table 2 values for this dataset.</p>")
    notes = footnotes("skandarani2023", dataset) if paper_name else ""
    return note + body + (f"<p><small>{'<br>'.join(_e(line) for line in notes.splitlines())}</small></p>"
                          if notes else "")


def _findings(results: dict[str, pd.DataFrame], dataset: str) -> str:
    """The findings table (``study.findings``): each verdict computed from the result rows on this page."""
    from medgan_lib.study.findings import evaluate_findings

    table = evaluate_findings(results, dataset)
    head = "".join(f"<th>{_e(c)}</th>" for c in ("paper", "section", "claim", "statistic", "ours", "n", "verdict"))
    rows = []
    for row in table.to_dict("records"):
        css = "verdict-" + row["verdict"].replace(" ", "-")
        detail = f"<br><small>{_e(row['detail'])}</small>" if row["detail"] else ""
        rows.append("<tr>" + "".join(f"<td>{_e(row[c])}</td>" for c in ("paper", "section", "claim", "statistic",
                                                                          "ours", "n"))
                    + f"<td class='{css}'>{_e(row['verdict'])}{detail}</td></tr>")
    note = ("<p>Each verdict is computed from this study's result files by <code>medgan_lib.study.findings"
            "</code>, never typed: <i>reproduced</i> when the statistic supports the paper's claim at α = 0.05, "
            "<i>not reproduced</i> when it contradicts it (for a deterministic count or a threshold rule: when the "
            "value misses the claim), <i>inconclusive at this n</i> otherwise, and "
            "<i>not tested</i> when the study has no rows the statistic needs. Margins and thresholds the papers "
            "do not state are ours and named in the statistic. On phantom data a verdict is about the method, "
            "not about patients.</p>")
    return f"{note}<table class='{CSS_CLASS}'><tr>{head}</tr>{''.join(rows)}</table>"


def _agreement(results: dict[str, pd.DataFrame], dataset: str) -> str:
    """Kendall's τ between the GAN rankings of every two metrics (``study.agreement``), as a square table."""
    from medgan_lib.study.agreement import agreement_matrix, agreement_table, unranked
    from medgan_lib.study.readouts import metric_scores

    scores = metric_scores(results, dataset)
    table, alike = agreement_table(scores), unranked(scores)
    left_out = (f"<p>Left out, since they score every GAN alike and so rank nothing: {_e(', '.join(alike))}.</p>"
                if alike else "")
    if table.empty:
        return f"<p class='na'>{NOT_AVAILABLE}: fewer than 3 GANs scored by two metrics.</p>" + left_out
    note = ("<p>Kendall's τ between the rankings of the GANs by two metrics (1: the same order, 0: unrelated, "
            "−1: reversed), with a 95 % bootstrap interval: FIDs and KID from 03's paired resamples of the images, "
            "Dice from resamples of the test patients. Precision and recall enter at their point values, since 03 "
            "does not resample them, so their intervals show the other metric's uncertainty only. A GAN's runs are "
            "averaged.</p>")
    return note + to_html(agreement_matrix(table).reset_index(names="metric")) + left_out


def _no_fid_or_dice(results: dict[str, pd.DataFrame]) -> bool:
    return results.get("fid", pd.DataFrame()).empty and results.get("dice", pd.DataFrame()).empty


def _figures(study_dir: Path, plan: list[str], records: dict) -> str:
    """The key figures in ``figures/`` (``study.figures.save_figure``) with their captions, each linking to its
    section's page; a section that saved none shows the last figure of its executed notebook, written as a file
    under ``thumbs/`` (never inlined: the index stays small)."""
    from medgan_lib.study.figures import caption_of

    files = sorted(p for p in study_dir.glob("**/figures/*.png") if "runs" not in p.relative_to(study_dir).parts)
    pages = [records[n] for n in plan if n in records and records[n].html]
    parts = []
    for p in files:
        section = p.name.split("_", 1)[0]
        page = next((r for r in pages if r.name.startswith(section + "_") and _shows_run_of(p.stem, r)), None) or \
            next((r for r in pages if r.name.startswith(section + "_")), None)
        caption = caption_of(p) or p.stem.split("_", 1)[-1].replace("_", " ")
        parts.append(_thumbnail(p.relative_to(study_dir), page.html if page else None,
                                f"{page.name if page else section}: {caption}"))
    for name in plan:
        rec = records.get(name)
        prefix = name.split("_", 1)[0] + "_"
        if rec is None or not rec.notebook or any(p.name.startswith(prefix) for p in files):
            continue
        png = _last_png(study_dir / rec.notebook)
        if png:
            thumb = write_bytes(study_dir / "thumbs" / f"{name}.png", base64.b64decode(png))
            parts.append(_thumbnail(thumb.relative_to(study_dir), rec.html, f"{name}: the notebook's last figure"))
    return "".join(parts) or f"<p class='na'>{NOT_AVAILABLE}: no figures.</p>"


def _shows_run_of(figure: str, record) -> bool:
    """Whether a figure named after GAN runs (``02_samples_<run>+<run>``, run folder names) shows the run of a
    per-GAN step (run names are ``NNNNN-<gan>-<dataset>[-masks]-s<seed>``)."""
    if not record.gan:
        return False
    masks = "-masks-" in record.name
    return any(run.split("-")[1:2] == [record.gan] and run.endswith(f"-s{record.seed}") and ("-masks-" in run) == masks
               for run in figure.split("_samples_", 1)[-1].split("+"))


def _thumbnail(png: Path, page: str | None, caption: str) -> str:
    image = f"<img src='{_e(png.as_posix())}' alt='{_e(caption)}' loading='lazy'>"
    linked = f"<a href='{_e(page)}' title='open the section'>{image}</a>" if page else image
    return f"<figure>{linked}<figcaption>{_e(caption)}</figcaption></figure>"


def _last_png(notebook: Path) -> str | None:
    """Base64 PNG of the last image output in an executed notebook, if any."""
    try:
        nb = json.loads(notebook.read_text())
    except (OSError, ValueError):
        return None
    pngs = [o["data"]["image/png"] for c in nb.get("cells", []) for o in c.get("outputs", [])
            if isinstance(o.get("data"), dict) and "image/png" in o["data"]]
    if not pngs:
        return None
    png = pngs[-1]
    return ("".join(png) if isinstance(png, list) else png).replace("\n", "")


def _provenance(state: dict, plan: list[str], records: dict, results: dict[str, pd.DataFrame]) -> str:
    study = state.get("study", {})
    common = state.get("common", {})
    versions = _latest_provenance(results).get("libraries") or library_versions()
    items = [("code version", state.get("code_version", "?")), ("profile", state.get("profile", "?")),
             ("GANs", ", ".join(study.get("gans", []))), ("training seeds", study.get("seeds", [common.get("seed")])),
             ("common parameters", json.dumps(common, sort_keys=True)),
             ("total wall time of the last run", f"{state.get('wall_time', 0):.0f} s"),
             ("notebook execution time, all steps",
              f"{sum(r.wall_time or 0 for n, r in records.items() if n in plan):.0f} s")]
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in items)
    libs = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in versions.items())
    hashes = _weight_hashes(results)
    hash_html = (to_html(pd.DataFrame(hashes)) if hashes
                 else f"<p class='na'>{NOT_AVAILABLE}: no result row records a weight hash.</p>")
    return (f"<table>{rows}</table><h3>Library versions</h3><table>{libs}</table>"
            f"<h3>Weights used (SHA-256 recorded in the results)</h3>{hash_html}")


def _all_results(results: dict[str, pd.DataFrame]) -> str:
    parts = []
    for kind, frame in results.items():
        summary = f"{kind}: {len(frame)} row(s)" if not frame.empty else f"{kind}: {NOT_AVAILABLE}"
        parts.append(f"<details><summary>{_e(summary)}</summary>{_table_or_na(frame)}</details>")
    return "".join(parts)


def _memorization(frame: pd.DataFrame) -> str:
    """The flags of the memorisation audit (near-copies, nearest-neighbour ratios, mode collapse) per run."""
    if frame.empty:
        return f"<p class='na'>{NOT_AVAILABLE}</p>"
    note = ("<p>Near-copy share: generated images nearer to a training image than the closest few percent of "
            "held-out real images are; nn ratio: median nearest-training distance of generated over held-out "
            "images (well below 1 means copying); mode collapse: the generated set is far less diverse than the "
            "real one. Full rows under <i>All result tables</i>.</p>")
    return note + _table_or_na(frame[[GAN, RUN, N, EXTRACTOR, *MEMORIZATION_FLAGS]])


def _calibration(results: dict[str, pd.DataFrame], dataset: str, study_dir: Path) -> str:
    """03's calibration of the memorisation audit (``metrics.study.calibration_summary``): the share of planted
    near-copies it flags per planted share and feature space, with 03's curve when it was saved."""
    from medgan_lib.metrics.study import calibration_notes, calibration_summary

    run, table = calibration_summary(results.get("calibration", pd.DataFrame()), dataset)
    if table.empty:
        return f"<p class='na'>{NOT_AVAILABLE}</p>"
    curve = study_dir / "figures" / "03_audit_calibration.png"
    figure = _thumbnail(curve.relative_to(study_dir), None, "planted near-copies flagged") if curve.is_file() else ""
    note = (f"<p>Near-copies of training images (mirrored, shifted, noised, intensity-changed; ours) planted into "
            f"the synthetic set of <code>{_e(run)}</code> at known shares: <i>detected</i> is the share of them "
            f"the audit flags, <i>flagged_own</i> the share of the GAN's own images it flags (about the audit's "
            f"quantile for images it did not copy). A count of 0 near-copies above is worth what these rates "
            f"say.</p>")
    notes = "".join(f"<li>{_e(line)}</li>" for line in calibration_notes(table, float(table["quantile"].iloc[0])))
    return note + figure + _table_or_na(table) + f"<ul>{notes}</ul>"


def _privacy(results: dict[str, pd.DataFrame], dataset: str) -> str:
    """03's membership-inference AUCs and anatomy reuse per run (``metrics.study.privacy_summary``)."""
    from medgan_lib.metrics.study import privacy_summary

    table = privacy_summary(results.get("privacy", pd.DataFrame()), dataset)
    note = ("<p>AUC of telling training images from held-out ones (0.5: no signal; 95 % bootstrap interval) by "
            "the discriminator's score (white-box) and by the distance to the nearest synthetic image (black-box), "
            "LOGAN style; mask NN Dice: each synthetic mask's best Dice against a training mask (SPADE on training "
            "masks: 1 by construction).</p>")
    return note + _table_or_na(table)


def _conditional(results: dict[str, pd.DataFrame]) -> str:
    """08's CAS beside the real-trained classifier and the per-class FIDs, per dataset it ran on."""
    from medgan_lib.metrics.conditional import cas_notes, cas_table, class_fid_table

    cas, fid = results.get("cas", pd.DataFrame()), results.get("class_fid", pd.DataFrame())
    if cas.empty:
        return f"<p class='na'>{NOT_AVAILABLE}</p>"
    parts = ["<p>Classification accuracy score: a classifier trained on each GAN's slices only (equal numbers per "
             "class), tested on the real test patients, beside the same classifier trained on real slices (95 % "
             "bootstrap interval over test patients).</p>"]
    for dataset in cas["dataset"].dropna().unique():
        parts += [f"<h3>{_e(dataset)}</h3>", _table_or_na(cas_table(cas, dataset)),
                  "".join(f"<p>{_e(line)}</p>" for line in cas_notes(cas, dataset))]
        if not fid.empty and (fid["dataset"] == dataset).any():
            parts += ["<p>FID of each class's synthetic slices against that class's real slices:</p>",
                      _table_or_na(class_fid_table(fid, dataset).reset_index())]
    return "".join(parts)


def _translation(results: dict[str, pd.DataFrame]) -> str:
    """08's translation metrics per method (pix2pix, CycleGAN, the identity baseline), per dataset it ran on."""
    from medgan_lib.metrics.translation import translation_notes, translation_table

    rows = results.get("translation", pd.DataFrame())
    if rows.empty:
        return f"<p class='na'>{NOT_AVAILABLE}</p>"
    parts = ["<p>Means over test patients [95 % bootstrap interval]: MAE (also in HU), PSNR and SSIM against the real "
             "target image of the same slice, the FID of the translations against real target images, and the Dice "
             "of a U-Net trained on real target images segmenting them ('real target': its Dice on the real "
             "ones).</p>"]
    for dataset in rows["dataset"].dropna().unique():
        parts += [f"<h3>{_e(dataset)}</h3>", _table_or_na(translation_table(rows, dataset).reset_index()),
                  "".join(f"<p>{_e(line)}</p>" for line in translation_notes(rows, dataset))]
    return "".join(parts)


def _table_or_na(frame: pd.DataFrame) -> str:
    if frame.empty:
        return f"<p class='na'>{NOT_AVAILABLE}</p>"
    shown = frame[[c for c in frame.columns if c not in _HIDDEN_COLUMNS]]
    return to_html(shown)


def _phantom_note(dataset: str) -> str:
    if not dataset.endswith("_phantom"):
        return ""
    return ("<p class='note'>The data are procedural <b>phantoms</b>, not patient data: they let every section "
            "run offline in minutes and show the method; absolute numbers are not comparable with the paper's.</p>")


def _latest_provenance(results: dict[str, pd.DataFrame]) -> dict[str, Any]:
    for frame in results.values():
        if PROVENANCE in frame and not frame.empty and isinstance(frame[PROVENANCE].iloc[-1], dict):
            return frame[PROVENANCE].iloc[-1]
    return {}


def _weight_hashes(results: dict[str, pd.DataFrame]) -> list[dict[str, str]]:
    """Every (result kind, field, hash) recorded in the results for weights (keys naming sha256 or weights)."""
    found: dict[tuple[str, str, str], None] = {}
    for kind, frame in results.items():
        for _, row in frame.iterrows():
            flat = dict(row)
            if isinstance(row.get(PROVENANCE), dict):
                flat.update({f"{PROVENANCE}.{k}": v for k, v in row[PROVENANCE].items()})
            for key, value in flat.items():
                if isinstance(value, str) and ("sha256" in key.lower() or "weights_hash" in key.lower()):
                    found[(kind, key, value)] = None
    return [{"result": k, "field": f, "sha256": v} for k, f, v in found]


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)
