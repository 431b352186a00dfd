"""The study's ``index.html``: Table 2 from the result files (never from notebook outputs) beside the
paper's published values, key figures, memorisation flags, links to every section report, provenance."""

from __future__ import annotations

import html
import json
import time
from pathlib import Path
from typing import Any

import pandas as pd

from medgan_lib.atomic import write_text
from medgan_lib.provenance import library_versions
from medgan_lib.reference import PAPER_DATASETS, PAPER_GANS, reference_table2
from medgan_lib.results import read_results
from medgan_lib.study.plan import SECTIONS
from medgan_lib.study.runner import OK, load_state, records_of

RESULT_KINDS = ("gan_runs", "fid", "dice", "memorization", "memory", "tune")
NOT_AVAILABLE = "not available"
_HIDDEN_COLUMNS = {"provenance", "time", "config", "libraries", "device"}

_CSS = """
body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.9em}
th,td{border:1px solid #ccc;padding:0.25em 0.6em;text-align:left;vertical-align:top}
th{background:#f3f3f3} .ok{color:#17703a} .failed,.blocked,.missing{color:#b3261e;font-weight:bold}
.na{color:#888;font-style:italic} figure{display:inline-block;margin:0.5em;max-width:360px}
figure img{max-width:100%;border:1px solid #ddd} figcaption{font-size:0.8em;color:#555}
.note{background:#eef4fb;border-left:4px solid #4a7ab5;padding:0.5em 1em}
"""


def write_index(study_dir: Path) -> Path:
    """(Re)write ``<study_dir>/index.html`` from ``study.json`` and ``results/*.jsonl``."""
    study_dir = Path(study_dir).resolve()
    state = load_state(study_dir)
    records = records_of(state)
    plan = state.get("plan", sorted(records))
    common = state.get("common", {})
    dataset = common.get("dataset", "?")
    folders = [study_dir] + [study_dir / s.folder for s in SECTIONS if s.folder and (study_dir / s.folder).is_dir()]
    found = {p.stem for folder in folders for p in (folder / "results").glob("*.jsonl")}
    kinds = (*RESULT_KINDS, *sorted(found - set(RESULT_KINDS)))
    results = {kind: _latest(pd.concat([read_results(f, kind) for f in folders], ignore_index=True)) for kind in kinds}
    parts = [
        f"<h1>GANs for medical image synthesis: study <code>{_e(study_dir.name)}</code></h1>",
        f"<p>Profile <b>{_e(state.get('profile', '?'))}</b>, dataset <b>{_e(dataset)}</b>, "
        f"run {_e(state.get('started', '?'))} to {_e(state.get('finished', 'unfinished'))}. "
        f"Index written {_e(time.strftime('%Y-%m-%d %H:%M:%S'))}.</p>",
        _phantom_note(dataset),
        "<h2>Sections</h2>", _steps_table(plan, records),
        "<h2>Table 2: image quality and downstream segmentation</h2>",
        _table2(results, dataset, state.get("study", {}).get("gans")),
        "<h2>Key figures</h2>", _figures(study_dir, plan, records),
        "<h2>Memorisation</h2>", _memorization(results["memorization"]),
        "<h2>Provenance</h2>", _provenance(state, plan, records, results),
        "<h2>All result tables</h2>", _all_results(results),
    ]
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>study {_e(study_dir.name)}</title>"
            f"<style>{_CSS}</style></head><body>{''.join(parts)}</body></html>\n")
    return write_text(study_dir / "index.html", page)


def table2(results: dict[str, pd.DataFrame], dataset: str, gans: list[str] | None = None) -> pd.DataFrame:
    """One row per GAN (``gans``, else every GAN in the results): FID, KID, U-Net FID, synthetic-only Dice
    (value with CI where the rows have one), then the paper's FID and Dice for the matching dataset."""
    fid, dice = (_of_dataset(results.get(k, pd.DataFrame()), dataset) for k in ("fid", "dice"))
    if not gans:
        gans = []
        for frame in (fid, dice):
            if "gan" in frame:
                gans += [g for g in frame["gan"].dropna().unique() if g not in gans]
    paper = reference_table2()
    paper_name = PAPER_DATASETS.get(dataset)
    gan_masks = dice[dice["condition"] == "synthetic_gan_masks"] if {"condition", "gan"} <= set(dice) else dice.iloc[:0]
    rows = []
    for gan in gans:
        row = {"GAN": gan}
        rows_of_gan = fid[fid["gan"] == gan] if "gan" in fid else pd.DataFrame()
        inception = _by_extractor(rows_of_gan, "inception")
        row["FID"] = _metric(inception, "fid")
        row["KID"] = _metric(inception, "kid")
        row["n"] = int(inception["n"].dropna().iloc[-1]) if "n" in inception and inception["n"].notna().any() \
            else NOT_AVAILABLE
        row["U-Net FID"] = _metric(_by_extractor(rows_of_gan, "unet"), "fid")
        for name in _other_extractors(fid):
            row["MedFID" if name == "medfid" else f"FID ({name})"] = _metric(_by_extractor(rows_of_gan, name), "fid")
        row["Dice (synthetic only)"] = _dice_over_seeds(_synthetic_dice(dice, gan))
        if not gan_masks.empty:
            on_gan_masks = gan_masks[gan_masks["gan"] == gan]
            row["Dice (synthetic, on GAN masks)"] = _dice_over_seeds(on_gan_masks) if not on_gan_masks.empty else "—"
        ref = _paper_row(paper, paper_name, PAPER_GANS.get(gan))
        row[f"paper FID ({paper_name or 'n/a'})"] = _paper_value(ref, "fid")
        row[f"paper Dice ({paper_name or 'n/a'})"] = _paper_value(ref, "unet_dice")
        rows.append(row)
    return pd.DataFrame(rows)


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
    table = table2(results, dataset, gans)
    if _no_fid_or_dice(results):
        return f"<p class='na'>{NOT_AVAILABLE}: no FID or Dice results yet.</p>"
    body = table.to_html(index=False, escape=True, na_rep=NOT_AVAILABLE)
    paper_name = PAPER_DATASETS.get(dataset)
    note = (f"<p>Columns labelled <i>paper</i> are skandarani et al. 2023's published values on {paper_name}, "
            f"real patient data at the paper's scale; the other columns are this study's own numbers on "
            f"<b>{_e(dataset)}</b>. They show the same protocol, not the same data. A SPADE synthetic set is drawn on "
            f"training masks, as in the paper; <i>on GAN masks</i> on the masks of the study's masks-only GAN.</p>"
            if paper_name else "<p>The paper has no Table 2 values for this dataset.</p>")
    ref = reference_table2()
    baselines = ref[(ref["dataset"] == paper_name) & ~ref["training_data"].isin(PAPER_GANS.values())] \
        if paper_name and not ref.empty else pd.DataFrame()
    extra = ("<p>Paper's Dice for the other training conditions on "
             f"{paper_name}:</p>" + baselines.to_html(index=False, na_rep="") if not baselines.empty else "")
    dice = results.get("dice", pd.DataFrame())
    ours = ("<p>This study's Dice for every training condition (rows per seed under <i>All result tables</i>):</p>"
            + _table_or_na(_dice_by_condition(_of_dataset(dice, dataset)))) if not dice.empty else ""
    return note + body + ours + extra


def _no_fid_or_dice(results: dict[str, pd.DataFrame]) -> bool:
    return results.get("fid", pd.DataFrame()).empty and results.get("dice", pd.DataFrame()).empty


def _figures(study_dir: Path, plan: list[str], records: dict) -> str:
    """Files in ``figures/`` (see :mod:`medgan_lib.study.figures`), grouped by section; a section that saved
    none shows the last figure of its executed notebook instead."""
    files = sorted(p for p in study_dir.glob("**/figures/*.png") if "runs" not in p.relative_to(study_dir).parts)
    parts = []
    for p in files:
        rel = _e(p.relative_to(study_dir))
        parts.append(f"<figure><a href='{rel}'><img src='{rel}'></a>"
                     f"<figcaption>{_e(p.name)}</figcaption></figure>")
    for name in plan:
        rec = records.get(name)
        prefix = name.split("_", 1)[0] + "_"
        if rec is None or not rec.notebook or any(p.name.startswith(prefix) for p in files):
            continue
        png = _last_png(study_dir / rec.notebook)
        if png:
            parts.append(f"<figure><img src='data:image/png;base64,{png}'>"
                         f"<figcaption>{_e(name)}: last figure of the notebook</figcaption></figure>")
    return "".join(parts) or f"<p class='na'>{NOT_AVAILABLE}: no figures.</p>"


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
    hash_html = (pd.DataFrame(hashes).to_html(index=False) if hashes
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
    ids = [c for c in ("gan", "run", "n", "feature_extractor") if c in frame]
    flags = [c for c in frame.columns if any(k in c for k in ("near_copy", "nn_ratio", "collapse", "flag"))]
    note = ("<p>Near-copy share: generated images nearer to a training image than the closest few percent of "
            "held-out real images are; nn ratio: median nearest-training distance of generated over held-out "
            "images (well below 1 means copying); mode collapse: the generated set is far less diverse than the "
            "real one. Full rows under <i>All result tables</i>.</p>")
    return note + _table_or_na(frame[ids + flags] if flags else frame)


def _table_or_na(frame: pd.DataFrame) -> str:
    if frame.empty:
        return f"<p class='na'>{NOT_AVAILABLE}</p>"
    shown = frame[[c for c in frame.columns if c not in _HIDDEN_COLUMNS]]
    return shown.to_html(index=False, na_rep="", float_format=lambda v: f"{v:.4g}")


def _phantom_note(dataset: str) -> str:
    if not dataset.endswith("_phantom"):
        return ""
    return ("<p class='note'>The data are procedural <b>phantoms</b>, not patient data: they let every section "
            "run offline in minutes and show the method; absolute numbers are not comparable with the paper's.</p>")


# ---- reading result rows ------------------------------------------------------------------------------

def _latest(frame: pd.DataFrame) -> pd.DataFrame:
    """Result rows with later duplicates (same identifying columns) replacing earlier ones."""
    if frame.empty:
        return frame
    keys = [c for c in ("dataset", "gan", "run", "seed", "condition", "extractor", "feature_extractor", "n",
                        "trial", "config_hash", "structure") if c in frame]
    hashable = [c for c in keys if frame[c].map(lambda v: not isinstance(v, (list, dict))).all()]
    return frame.drop_duplicates(subset=hashable, keep="last").reset_index(drop=True) if hashable else frame


def _of_dataset(frame: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Rows of ``dataset`` (rows that name no dataset are kept)."""
    return frame[frame["dataset"].isna() | (frame["dataset"] == dataset)] if "dataset" in frame else frame


def _other_extractors(fid: pd.DataFrame) -> list[str]:
    """Feature spaces of the FID rows besides Inception and the U-Net (MedFID, a pixel stand-in, ...)."""
    column = next((c for c in ("extractor", "feature_extractor") if c in fid), None)
    names = fid[column].dropna().astype(str).str.lower().unique() if column else []
    return [n for n in names if "inception" not in n and "unet" not in n]


def _by_extractor(rows: pd.DataFrame, name: str) -> pd.DataFrame:
    """FID rows of one feature extractor ("inception", "unet", "medfid"); rows naming none count as Inception."""
    column = next((c for c in ("extractor", "feature_extractor") if c in rows), None)
    if rows.empty or column is None:
        return rows if name == "inception" else pd.DataFrame()
    return rows[rows[column].astype(str).str.lower().str.contains(name)]


def _synthetic_dice(dice: pd.DataFrame, gan: str) -> pd.DataFrame:
    """Dice rows of the U-Net trained on ``gan``'s synthetic set alone (SPADE: on the training masks, as the
    paper; its rows on GAN-generated masks are in the table of every condition)."""
    if dice.empty or "gan" not in dice:
        return pd.DataFrame()
    rows = dice[dice["gan"] == gan]
    if "condition" in rows:
        condition = rows["condition"].astype(str)
        synthetic = rows[condition.str.contains("synth", case=False) & ~condition.str.contains("real", case=False)
                         & ~condition.str.contains("gan_masks", case=False)]
        rows = synthetic if not synthetic.empty else rows[rows["condition"].astype(str) == gan]
    return rows


def _dice_by_condition(dice: pd.DataFrame) -> pd.DataFrame:
    """One row per training condition (in order of first appearance): Dice mean ± std over U-Net seeds."""
    if dice.empty or "dice" not in dice:
        return pd.DataFrame()
    names = dice["label"] if "label" in dice else dice["condition"].astype(str) + " " + dice["gan"].fillna("").astype(str)
    return pd.DataFrame([{"training data": name, "Dice (U-Net, real test split)": _dice_over_seeds(rows)}
                         for name, rows in dice.groupby(names.fillna(""), sort=False)])


def _dice_over_seeds(rows: pd.DataFrame) -> str:
    """Mean ± std of the Dice over U-Net seeds (rows of one condition), or the single row's value."""
    if "seed" in rows and "dice" in rows and rows["seed"].nunique() > 1:
        per_seed = rows.drop_duplicates("seed", keep="last")["dice"].astype(float)
        return f"{per_seed.mean():.3g} ± {per_seed.std():.2g} ({len(per_seed)} seeds)"
    return _metric(rows, "dice")


def _metric(rows: pd.DataFrame, name: str) -> str:
    """``value [low, high]`` (or ``value ± std``) of the last row that has ``name``, or "not available"."""
    for column in (name, f"{name}_mean", f"mean_{name}"):
        if column in rows and rows[column].notna().any():
            row = rows[rows[column].notna()].iloc[-1]
            text = _number(row[column])
            low = next((row[c] for c in (f"{name}_ci_low", f"{name}_low", "ci_low") if c in row and pd.notna(row[c])), None)
            high = next((row[c] for c in (f"{name}_ci_high", f"{name}_high", "ci_high") if c in row and pd.notna(row[c])), None)
            ci = row.get(f"{name}_ci")
            std = next((row[c] for c in (f"{name}_std", "std") if c in row and pd.notna(row[c])), None)
            if low is not None and high is not None:
                text += f" [{_number(low)}, {_number(high)}]"
            elif isinstance(ci, (list, tuple)) and len(ci) == 2:
                text += f" [{_number(ci[0])}, {_number(ci[1])}]"
            elif std is not None:
                text += f" ± {float(std):.2g}"
            return text
    return NOT_AVAILABLE


def _number(value: Any) -> str:
    """Three significant digits, without an exponent for the FIDs in the thousands of small-sample runs."""
    value = float(value)
    return f"{value:.0f}" if 1e3 <= abs(value) < 1e6 else f"{value:.3g}"


def _paper_row(paper: pd.DataFrame, dataset: str | None, gan: str | None) -> pd.Series | None:
    if paper.empty or dataset is None or gan is None:
        return None
    rows = paper[(paper["dataset"] == dataset) & (paper["training_data"] == gan)]
    return rows.iloc[0] if not rows.empty else None


def _paper_value(row: pd.Series | None, column: str) -> str:
    if row is None or column not in row or pd.isna(row[column]):
        return NOT_AVAILABLE
    return f"{float(row[column]):.3g}"


def _latest_provenance(results: dict[str, pd.DataFrame]) -> dict[str, Any]:
    for frame in results.values():
        if "provenance" in frame and not frame.empty and isinstance(frame["provenance"].iloc[-1], dict):
            return frame["provenance"].iloc[-1]
    return {}


def _weight_hashes(results: dict[str, pd.DataFrame]) -> list[dict[str, str]]:
    """Every (result kind, field, hash) recorded in the results for weights (keys naming sha256 or weights)."""
    found: dict[tuple[str, str, str], None] = {}
    for kind, frame in results.items():
        for _, row in frame.iterrows():
            flat = dict(row)
            if isinstance(row.get("provenance"), dict):
                flat.update({f"provenance.{k}": v for k, v in row["provenance"].items()})
            for key, value in flat.items():
                if isinstance(value, str) and ("sha256" in key.lower() or "weights_hash" in key.lower()):
                    found[(kind, key, value)] = None
    return [{"result": k, "field": f, "sha256": v} for k, f, v in found]


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)
