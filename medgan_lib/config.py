"""Typed dataclass configs: built from dicts/YAML with unknown keys and wrong types rejected by name."""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

C = TypeVar("C")


class ConfigError(ValueError):
    """A configuration value is missing, unknown or of the wrong type; the message names it."""


def check_parameters(declared: dict[str, Any], values: dict[str, Any]) -> None:
    """A notebook's parameters against the types its parameters cell declares (``n: int = 16`` puts ``int`` in
    the kernel's ``__annotations__``). papermill injects ``-p`` values unchecked, so a wrong type stops here,
    with each parameter named, instead of deep inside a library call. An int is accepted for a float."""
    wrong = []
    for name, hint in declared.items():
        if name not in values or not isinstance(hint, type):
            continue
        value = values[name]
        ok = isinstance(value, (int, float) if hint is float else hint) and not (
            hint in (int, float) and isinstance(value, bool))
        if not ok:
            wrong.append(f"'{name}' must be {hint.__name__}, got {value!r} ({type(value).__name__})")
    if wrong:
        raise ConfigError(f"notebook parameter{'s' * (len(wrong) > 1)} of the wrong type: {'; '.join(wrong)}")


def from_dict(cls: type[C], values: dict[str, Any], where: str = "config") -> C:
    """Build dataclass ``cls`` from ``values``; nested dataclasses are built recursively."""
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: expected a mapping for {cls.__name__}, got {type(values).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown} for {cls.__name__}; valid keys: {sorted(fields)}")
    hints = typing.get_type_hints(cls)
    kwargs = {name: _coerce(hints[name], value, f"{where}.{name}") for name, value in values.items()}
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise ConfigError(f"{where}: {err}") from None


def name_list(value: Any, where: str) -> list[str]:
    """A list of names from a parameter that may arrive as one string (``papermill -p gans dcgan``)."""
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ConfigError(f"{where}: expected a list of names (e.g. [dcgan, spade]), got {value!r}")


def to_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)


def load_yaml(cls: type[C], path: str | Path) -> C:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    with open(path) as handle:
        values = yaml.safe_load(handle) or {}
    return from_dict(cls, values, where=str(path))


def replace(config: C, **changes: Any) -> C:
    """``dataclasses.replace`` with the same key and type checks as ``from_dict``."""
    merged = {**to_dict(config), **changes}
    return from_dict(type(config), merged, where=type(config).__name__)


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(arg, value, where)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{where}: {value!r} matches none of {hint}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{where}: {value!r} is not one of {list(args)}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        item = args[0] if args else Any
        items = [_coerce(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return items if origin is list else tuple(items)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if dataclasses.is_dataclass(hint):
        return value if isinstance(value, hint) else from_dict(hint, value, where)
    if hint is Any:
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is Path and isinstance(value, str):
        return Path(value)
    if hint in (int, float, str, bool) and (not isinstance(value, hint) or (hint is int and isinstance(value, bool))):
        raise ConfigError(f"{where}: expected {hint.__name__}, got {value!r}")
    return value
