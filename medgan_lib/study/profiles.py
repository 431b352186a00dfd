"""Study profiles (``notebooks/params/<name>.yaml``): runner settings, common keys and per-notebook
parameter sections, merged with the command line and checked against each notebook's ``parameters``
cell, so a misspelt key fails with the notebook's name instead of being silently injected by papermill.

Layout of a profile::

    study:                 # runner settings, not notebook parameters
      gans: [dcgan, ...]   # GANs of the study; the training notebook runs once per GAN and seed
      mask_gans: [dcgan]   # masks-only GANs (mask generators for SPADE): one more training step per GAN and seed
      seeds: [0]           # GAN training seeds
      workers: 1           # steps run in parallel
      sections: [01, 02]   # the sections this profile runs (all when unset), by number or name
    common:                # given to every notebook whose parameters cell declares the key
      dataset: cardiac_phantom
      seed: 0
    01_data_preparation:   # given to that notebook only; every key must be declared there
      resolution: 64
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import io
import tokenize
from pathlib import Path
from typing import Any

import nbformat
import yaml

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = REPO / "notebooks"
PROFILES_DIR = NOTEBOOKS_DIR / "params"
# Keys every notebook must declare (COMMON.md); the runner sets ``study_dir`` itself.
REQUIRED_KEYS = ("study_dir", "dataset", "seed", "device")
RUNNER_KEYS = ("gans", "mask_gans", "seeds", "workers", "sections", "ray_address", "ray_resources")


class ProfileError(ValueError):
    """A profile or an override names an unknown section or key, or has a value of the wrong type."""


@dataclasses.dataclass
class Profile:
    """A parsed profile: runner settings, common keys, per-notebook sections (notebook name -> keys)."""

    name: str
    study: dict[str, Any]
    common: dict[str, Any]
    sections: dict[str, dict[str, Any]]

    @property
    def gans(self) -> list[str]:
        return list(self.study.get("gans", []))

    @property
    def mask_gans(self) -> list[str]:
        return list(self.study.get("mask_gans", []))

    @property
    def seeds(self) -> list[int]:
        return list(self.study.get("seeds", [self.common.get("seed", 0)]))

    @property
    def workers(self) -> int:
        return int(self.study.get("workers", 1))


def profile_path(name: str, profiles_dir: Path = PROFILES_DIR) -> Path:
    path = Path(profiles_dir) / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in Path(profiles_dir).glob("*.yaml"))
        raise ProfileError(f"unknown profile {name!r}: {path} does not exist; profiles: {', '.join(known) or 'none'}")
    return path


def load_profile(name: str, profiles_dir: Path = PROFILES_DIR) -> Profile:
    """Read ``<profiles_dir>/<name>.yaml`` into a :class:`Profile` (structure checked, keys not yet)."""
    path = profile_path(name, profiles_dir)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ProfileError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: expected a mapping of sections, got {type(data).__name__}")
    study = data.pop("study", None) or {}
    common = data.pop("common", None) or {}
    for label, section in [("study", study), ("common", common), *data.items()]:
        if not isinstance(section, dict):
            raise ProfileError(f"{path}: section {label!r} must be a mapping, got {section!r}")
    unknown = sorted(set(study) - set(RUNNER_KEYS))
    if unknown:
        raise ProfileError(f"{path}: unknown key(s) {unknown} in section 'study'; valid keys: {list(RUNNER_KEYS)}")
    _check_runner_values(study, str(path))
    return Profile(name=name, study=study, common=common, sections={k: dict(v) for k, v in data.items()})


def apply_overrides(profile: Profile, overrides: list[tuple[str, str]] | None = None, **settings: Any) -> Profile:
    """A copy of ``profile`` with ``-p KEY VALUE`` overrides (values parsed as YAML; ``KEY`` is a common key,
    ``NOTEBOOK.KEY`` a notebook's key, ``study.KEY`` a runner setting) and named settings (``dataset``,
    ``root``, ``gans``, ``seeds``, ``workers``; ``None`` leaves the profile's value)."""
    result = copy.deepcopy(profile)
    for key in ("gans", "seeds", "workers"):
        if settings.get(key) is not None:
            result.study[key] = settings.pop(key)
        settings.pop(key, None)
    for key, value in settings.items():
        if value is not None:
            result.common[key] = value
    for key, text in overrides or []:
        try:
            value = yaml.safe_load(text) if text != "" else ""
        except yaml.YAMLError as err:
            raise ProfileError(f"override {key!r}: value {text!r} is not valid YAML ({err})") from None
        section, _, name = key.rpartition(".")
        if not name:
            raise ProfileError(f"override {key!r}: empty key")
        if section == "study":
            if name not in RUNNER_KEYS:
                raise ProfileError(f"override {key!r}: unknown runner setting; valid: {list(RUNNER_KEYS)}")
            result.study[name] = value
        elif section:
            result.sections.setdefault(section, {})[name] = value
        else:
            result.common[name] = value
    _check_runner_values(result.study, "command line")
    return result


def notebook_parameters(path: Path) -> dict[str, dict[str, Any]]:
    """The keys a notebook's ``parameters`` cell declares: name -> {inferred_type_name, default, help}.

    Read with Python's own parser (papermill's line regex misses lines whose comment holds ``=`` or quotes);
    the type is the annotation as written, the help the line's comment."""
    nb = nbformat.read(str(path), as_version=4)
    cell = next((c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])), None)
    if cell is None:
        raise ProfileError(f"{path}: no code cell tagged 'parameters'")
    try:
        tree = ast.parse(cell.source)
    except SyntaxError as err:
        raise ProfileError(f"{path}: parameters cell does not parse: {err}") from None
    comments = {tok.start[0]: tok.string.lstrip("#").strip()
                for tok in tokenize.generate_tokens(io.StringIO(cell.source).readline) if tok.type == tokenize.COMMENT}
    params: dict[str, dict[str, Any]] = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name, annotation = node.target.id, ast.unparse(node.annotation)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, annotation = node.targets[0].id, "None"
        else:
            continue
        try:
            default = ast.literal_eval(node.value) if node.value is not None else None
        except ValueError:
            default = ast.unparse(node.value)
        params[name] = {"name": name, "inferred_type_name": annotation, "default": default,
                        "help": comments.get(node.end_lineno, "")}
    return params


def validate(profile: Profile, declared: dict[str, dict[str, dict[str, Any]]], absent: tuple[str, ...] = ()) -> None:
    """Check ``profile`` against the declared parameters of each present notebook (name -> parameters);
    sections of the ``absent`` notebooks are not checked (their steps are reported missing).

    Every per-notebook key must be declared by that notebook, every common key by at least one notebook,
    and a value whose notebook default is a plain int/float/str/bool/list must have that type."""
    where = f"profile {profile.name!r}"
    for section, values in profile.sections.items():
        if section in absent:
            continue
        if section not in declared:
            raise ProfileError(f"{where}: section {section!r} names no notebook; notebooks: {sorted(declared)}")
        for key, value in values.items():
            if key not in declared[section]:
                raise ProfileError(f"{where}: notebook {section!r} has no parameter {key!r}; "
                                   f"its parameters: {sorted(declared[section])}")
            _check_type(value, declared[section][key], f"{where}: {section}.{key}")
    for key, value in profile.common.items():
        owners = [nb for nb, params in declared.items() if key in params]
        if not owners:
            raise ProfileError(f"{where}: common key {key!r} is declared by no notebook ({sorted(declared)})")
        for nb in owners:
            _check_type(value, declared[nb][key], f"{where}: common.{key} (for {nb})")
    for nb, params in declared.items():
        missing = [key for key in REQUIRED_KEYS if key not in params]
        if missing:
            raise ProfileError(f"notebook {nb!r}: parameters cell lacks required key(s) {missing}")


def parameters_for(profile: Profile, notebook: str, declared: dict[str, Any]) -> dict[str, Any]:
    """The parameters one notebook receives: the common keys it declares, then its own section."""
    values = {k: v for k, v in profile.common.items() if k in declared}
    values.update(profile.sections.get(notebook, {}))
    return copy.deepcopy(values)


def notebook_values(profile: Profile, notebook: str) -> dict[str, Any]:
    """Every parameter value ``notebook`` runs with under ``profile``: its declared defaults, then what the
    runner passes (``parameters_for``)."""
    declared = notebook_parameters(NOTEBOOKS_DIR / f"{notebook}.ipynb")
    return {**{k: v["default"] for k, v in declared.items()}, **parameters_for(profile, notebook, declared)}


_PLAIN_TYPES = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)}


def _check_type(value: Any, info: dict[str, Any], where: str) -> None:
    type_name = str(info.get("inferred_type_name", "None")).replace(" ", "")
    if type_name in _PLAIN_TYPES:
        ok = isinstance(value, _PLAIN_TYPES[type_name]) and not (type_name in ("int", "float") and isinstance(value, bool))
    elif type_name.startswith(("list", "List")):
        ok = isinstance(value, list)
    else:
        return
    if not ok:
        raise ProfileError(f"{where}: expected {type_name}, got {value!r}")


def _check_runner_values(study: dict[str, Any], where: str) -> None:
    for key in ("gans", "mask_gans"):
        if key in study and not (isinstance(study[key], list) and all(isinstance(g, str) for g in study[key])):
            raise ProfileError(f"{where}: study.{key} must be a list of GAN names, got {study[key]!r}")
    if "seeds" in study and not (isinstance(study["seeds"], list) and study["seeds"]
                                 and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                                         for s in study["seeds"])):
        raise ProfileError(f"{where}: study.seeds must be a non-empty list of integers >= 0, got {study['seeds']!r}")
    if "sections" in study and not (isinstance(study["sections"], list)
                                    and all(isinstance(s, (str, int)) for s in study["sections"])):
        raise ProfileError(f"{where}: study.sections must be a list of section numbers or names, got {study['sections']!r}")
    if "workers" in study and not (isinstance(study["workers"], int) and study["workers"] >= 1):
        raise ProfileError(f"{where}: study.workers must be an integer >= 1, got {study['workers']!r}")
    if "ray_address" in study and not isinstance(study["ray_address"], str):
        raise ProfileError(f"{where}: study.ray_address must be HOST:PORT, 'auto', 'local' or '', "
                           f"got {study['ray_address']!r}")
    if "ray_resources" in study:
        from medgan_lib.study.executors import check_resources

        check_resources(study["ray_resources"], f"{where}: study.ray_resources")
