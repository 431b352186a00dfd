"""The papers' published numbers as package data (copied from the study's shared reference folder).

Everything read from here is *theirs*, on their data; reports label it so.
"""

from __future__ import annotations

import csv
import functools
from importlib import resources
from pathlib import Path

from medgan_lib.names import condition_label


def reference_file(name: str) -> Path:
    """Path of one reference file; a missing name lists the files there are."""
    folder = resources.files(__name__)
    path = Path(str(folder.joinpath(name)))
    if not path.is_file():
        names = sorted(p.name for p in Path(str(folder)).iterdir() if p.suffix in (".csv", ".yaml"))
        raise FileNotFoundError(f"no reference file '{name}'; there are: {', '.join(names)}")
    return path


# Our dataset names -> the names skandarani2023 Table 2 uses.
PAPER_DATASETS = {"cardiac_phantom": "ACDC", "acdc": "ACDC", "liver_phantom": "SLiver07", "sliver07": "SLiver07",
                  "retina_phantom": "IDRiD", "idrid": "IDRiD"}
TABLE2 = "skandarani2023_table2_fid_dice.csv"


def paper_table2(dataset: str, condition: str, gan: str | None = None) -> dict[str, float]:
    """skandarani2023 Table 2 as published (their data) for a training condition on the paper's counterpart of
    our ``dataset``: {"fid", "unet_dice"}, NaN where the paper has no value. Its rows are found by their names,
    ``names.condition_label(condition, gan)``."""
    table = _table2()
    rows = table[(table["dataset"] == PAPER_DATASETS.get(dataset))
                 & (table["training_data"] == condition_label(condition, gan))]
    return {column: float(rows[column].iloc[0]) if len(rows) else float("nan") for column in ("fid", "unet_dice")}


@functools.cache
def _table2():
    import pandas as pd

    return pd.read_csv(reference_file(TABLE2))


PROTOCOLS = "protocols.yaml"


@functools.cache
def protocol(paper: str) -> dict:
    """One paper's training protocol: {"title", "published", "assumptions", "inconsistencies", ...}, each
    published entry {"value", "source"} and each assumption (ours, where the paper is silent) {"value", "why"}."""
    import yaml

    protocols = yaml.safe_load(reference_file(PROTOCOLS).read_text())
    if paper not in protocols:
        raise KeyError(f"no protocol for paper '{paper}' in {PROTOCOLS}; papers: {', '.join(protocols)}")
    return protocols[paper]


def published(paper: str, key: str):
    """The value ``paper`` published for setting ``key`` (a KeyError names the keys there are)."""
    entries = {**protocol(paper)["published"], **protocol(paper).get("official", {})}
    if key not in entries:
        raise KeyError(f"{paper} publishes no setting '{key}'; it has: {', '.join(entries)}")
    return entries[key]["value"]


def assumed(paper: str, key: str):
    """Our value for a setting ``paper`` does not give (see its ``why`` in protocols.yaml)."""
    entries = protocol(paper)["assumptions"]
    if key not in entries:
        raise KeyError(f"no assumption '{key}' for {paper}; there are: {', '.join(entries)}")
    return entries[key]["value"]


def load_chetty_experiments() -> list[dict]:
    """chetty2023 Tables 1-2 (and the StyleGAN2 baseline): one dict per experiment."""
    return _read_csv(reference_file("chetty2023_experiments.csv"))


def load_belmekki_table1() -> list[dict]:
    """belmekki Table I: optimiser, activation, TTUR and the published D-loss statistics and FID."""
    return _read_csv(reference_file("belmekki_table1_configs.csv"))


def stylegan2_ada_speed(resolution: int) -> dict[int, tuple[float, float]]:
    """stylegan2-ada-pytorch's published training speed at ``resolution``: GPUs -> (low, high) seconds per 1,000
    real images on V100s; {} when that resolution is not in its table."""
    rows = _read_csv(reference_file("stylegan2_ada_pytorch_speed.csv"))
    return {int(r["gpus"]): (float(r["sec_per_kimg_low"]), float(r["sec_per_kimg_high"])) for r in rows
            if int(r["resolution"]) == resolution}


def _read_csv(path: Path) -> list[dict]:
    with open(path) as handle:
        rows = list(csv.DictReader(line for line in handle if not line.startswith("#")))
    return [{key: _number(value) for key, value in row.items()} for row in rows]


def _number(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text if text != "" else None


# Kinds of protocol entry, as the settings tables print them.
ENTRY_KINDS = {"published": "as published", "official": "official implementation", "assumptions": "ours"}


def protocol_table(paper: str, profile: str | None = None, configs: dict | None = None):
    """One paper's settings as a table: each published value with its source, the official implementations'
    settings, our assumptions with why, and (``profile``) where that profile departs; with ``configs`` (GAN name ->
    its run's ``TrainConfig``) a column per GAN of the value its run used, where the setting is one of its fields."""
    import pandas as pd

    entries = protocol(paper)
    sections = [(kind, entries.get(kind, {})) for kind in ENTRY_KINDS]
    if profile:
        sections.append((f"ours: {profile} profile", entries.get("profiles", {}).get(profile, {})))
    rows = []
    for kind, values in sections:
        for key, entry in values.items():
            row = {"setting": key.replace("_", " "), "value": _text(entry["value"]), "kind": ENTRY_KINDS.get(kind, kind),
                   "source or why": entry.get("source") or entry.get("why")}
            for gan, config in (configs or {}).items():
                row[f"{gan} run"] = _text(_run_value(config, key))
            rows.append(row)
    return pd.DataFrame(rows)


def inconsistencies(paper: str, dataset: str | None = None) -> list[str]:
    """The paper's internal inconsistencies, one line each (shown as footnotes where its numbers are); with
    ``dataset`` (ours or the paper's name) only those that concern no dataset or that one."""
    paper_dataset = PAPER_DATASETS.get(dataset, dataset)
    return [f"{item['where']}: {item['text']}" for item in protocol(paper).get("inconsistencies", [])
            if dataset is None or item.get("dataset") in (None, paper_dataset)]


def footnotes(paper: str, dataset: str | None = None) -> str:
    """``inconsistencies`` as a footnote block for the page showing the paper's numbers ("" when there are none)."""
    lines = inconsistencies(paper, dataset)
    if not lines:
        return ""
    return "\n".join([f"Inconsistencies in {protocol(paper)['title']} (our copy keeps them as printed):"]
                     + [f"  - {line}" for line in lines])


def _run_value(config, key: str):
    if key in ("resolution", "dataset"):
        return getattr(config.data, key)
    options = dict(config.gan_options)
    if hasattr(config, key):
        return getattr(config, key)
    return options.get(key, "")


def _text(value) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k} {_text(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    return str(value)
