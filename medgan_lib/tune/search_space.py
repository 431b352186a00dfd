"""The papers' search spaces as data, and the trials they expand to (random, grid, chetty, belmekki).

skandarani2023 Table 1, chetty2023 Tables 1-2 and belmekki Table I are read from the package's
published-numbers folder (``medgan_lib/reference/``); ``KEY_TO_FIELDS`` is the one table that maps a search-space key to ``TrainConfig`` fields.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import numpy as np
import yaml

from medgan_lib.config import ConfigError
from medgan_lib.hashing import hash_inputs
from medgan_lib.names import registered_gan
from medgan_lib.reference import load_belmekki_table1, load_chetty_experiments, reference_file
from medgan_lib.training.config import EXPERIMENT_PRESETS, belmekki_preset_name


# search-space key (as the papers name it) -> the TrainConfig field(s) it sets
KEY_TO_FIELDS: dict[str, tuple[str, ...]] = {
    "differentiable_augmentation": ("diff_augment",),
    "activation_discriminator": ("activation_d",),
    "activation_generator": ("activation_g",),
    "norm_discriminator": ("norm_d",),
    "norm_generator": ("norm_g",),
    "filters_discriminator": ("filters_d",),
    "filters_generator": ("filters_g",),
    "spectral_norm_discriminator": ("spectral_norm_d",),
    "spectral_norm_generator": ("spectral_norm_g",),
    "weight_init": ("weight_init",),
    "weight_init_gain": ("weight_init_gain",),
    "gradient_penalty_weight": ("gradient_penalty_weight",),
    "weight_clip": ("clip_value",),
    "feature_matching_weight": ("feature_matching_weight",),
    "vgg_loss_weight": ("vgg_loss_weight",),
    "learning_rate": ("lr_g", "lr_d"),  # one rate for both networks, as in Table 1 and chetty's tables
    "label_smoothing": ("label_smoothing",),
    "data_augmentation": ("data_augmentation",),
}

# chetty's Adam betas (beta1, beta2) set betas_g and betas_d together
BETA_KEYS = ("beta1", "beta2")

# belmekki's Table I columns describe what the trial's preset sets; they set no field themselves
DESCRIPTIVE_KEYS = ("optimizer", "activation", "ttur")

# knobs of Table 1 that only exist for some GANs (skandarani §3.1)
ONLY_FOR: dict[str, tuple[str, ...]] = {"gradient_penalty_weight": ("wgan_gp",), "weight_clip": ("wgan",)}

# the GANs skandarani searched over (Figure 5); SPADE and StyleGAN were not searched
SKANDARANI_GANS = ("dcgan", "lsgan", "wgan", "hinge")



@dataclasses.dataclass(frozen=True)
class TrialSpec:
    """One trial: a GAN, the knob values it tries, a seed and a budget; everything that names its run."""

    study: str  # study name (several studies can share one study folder)
    gan: str  # registered GAN name
    label: str  # configuration name: a paper experiment ("Vanilla3"), grid values, or "r07" (random search)
    params: dict[str, Any]  # search-space values, keyed as the papers name them
    seed: int
    iterations: int  # training budget of the trial
    interval: int  # FID is evaluated (and reported to the scheduler) every `interval` iterations
    preset: str = "quick"  # TrainConfig preset (or "scale+experiment" chain) the trial starts from
    base: dict[str, Any] = dataclasses.field(default_factory=dict)  # TrainConfig fields shared by the study

    @property
    def config_id(self) -> str:
        """Hash of the configuration without the seed: rows with equal config_id are repeated seeds."""
        return hash_inputs(self.gan, self.preset, self.params, self.base, self.iterations, self.interval)

    @property
    def trial_id(self) -> str:
        return hash_inputs(self.config_id, self.seed)

    @property
    def intervals(self) -> list[int]:
        """Steps after which the trial is evaluated, ending at the budget."""
        steps = list(range(self.interval, self.iterations, self.interval))
        return steps + [self.iterations]

    def overrides(self) -> dict[str, Any]:
        """TrainConfig fields this trial sets on top of its preset."""
        unknown = sorted(set(self.params) - set(KEY_TO_FIELDS) - set(BETA_KEYS) - set(DESCRIPTIVE_KEYS))
        if unknown:
            raise ConfigError(f"trial {self.label}: search-space key(s) {unknown} have no TrainConfig field in KEY_TO_FIELDS")
        knobs = {field: value for key, value in self.params.items() for field in KEY_TO_FIELDS.get(key, ())}
        if any(key in self.params for key in BETA_KEYS):
            betas = [float(self.params[key]) for key in BETA_KEYS]
            knobs.update(betas_g=betas, betas_d=betas)
        return {**self.base, **knobs, "gan": self.gan, "seed": self.seed, "iterations": self.iterations}

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrialSpec":
        return cls(**values)


def load_skandarani_table1() -> dict[str, list[Any]]:
    """skandarani2023 Table 1: knob -> the values searched over, as printed."""
    with open(reference_file("skandarani2023_table1_search_space.yaml")) as handle:
        return yaml.safe_load(handle)


def skandarani_space(gan: str, restrict: dict[str, list[Any]] | None = None,
                     exclude: tuple[str, ...] = ("vgg_loss_weight",)) -> dict[str, list[Any]]:
    """Table 1 for one GAN: GAN-specific knobs only where they apply, ``restrict`` narrowing values.

    The VGG loss is excluded by default because its weights cannot be downloaded here (pass
    ``exclude=()`` and a ``vgg_weights`` path in the study's base config to search it)."""
    table = load_skandarani_table1()
    restrict = dict(restrict or {})
    unknown = sorted(set(restrict) - set(table))
    if unknown:
        raise ConfigError(f"restrict: unknown search-space key(s) {unknown}; valid keys: {sorted(table)}")
    space = {}
    for key, values in table.items():
        if key in exclude or gan not in ONLY_FOR.get(key, (gan,)):
            continue
        if key in restrict:
            bad = [v for v in restrict[key] if v not in values]
            if bad or not restrict[key]:
                raise ConfigError(f"restrict.{key}: {restrict[key]!r} must be a non-empty subset of Table 1's {values}")
            values = list(restrict[key])
        space[key] = list(values)
    return space


def random_trials(study: str, gans: list[str], num_trials: int, seeds: list[int], iterations: int,
                  interval: int, base: dict[str, Any], search_seed: int = 0,
                  restrict: dict[str, list[Any]] | None = None, scale: str = "quick") -> list[TrialSpec]:
    """Random search over Table 1: ``num_trials`` distinct configurations per GAN, each run per seed.

    Knob values that ``restrict`` pins to one value act as fixed settings."""
    trials = []
    for gan in gans:
        space = skandarani_space(gan, restrict)
        rng = np.random.default_rng([search_seed, *map(ord, gan)])
        size = int(np.prod([len(v) for v in space.values()]))
        if num_trials > size:
            raise ConfigError(f"num_trials={num_trials} exceeds the {size} distinct configurations of the space for {gan}")
        seen: list[dict[str, Any]] = []
        while len(seen) < num_trials:
            params = {key: _plain(values[rng.integers(len(values))]) for key, values in space.items()}
            if params not in seen:
                seen.append(params)
        labels = [f"r{index:02d}" for index in range(1, len(seen) + 1)]
        trials += _expand(study, gan, seen, labels, seeds, iterations, interval, base, scale)
    return trials


def grid_trials(study: str, gans: list[str], grid_keys: list[str], seeds: list[int], iterations: int,
                interval: int, base: dict[str, Any], restrict: dict[str, list[Any]] | None = None,
                scale: str = "quick") -> list[TrialSpec]:
    """Grid search: every combination of the ``grid_keys`` values of Table 1 (others at the preset)."""
    trials = []
    for gan in gans:
        space = skandarani_space(gan, restrict)
        keys = [key for key in grid_keys if key in space]
        missing = sorted(set(grid_keys) - set(load_skandarani_table1()))
        if missing:
            raise ConfigError(f"grid_keys: unknown search-space key(s) {missing}; valid keys: {sorted(space)}")
        combos = [dict(zip(keys, values)) for values in itertools.product(*(space[key] for key in keys))]
        labels = [", ".join(f"{key}={value}" for key, value in combo.items()) or "default" for combo in combos]
        trials += _expand(study, gan, combos, labels, seeds, iterations, interval, base, scale)
    return trials


def chetty_trials(study: str, gans: list[str], seeds: list[int], iterations: int, interval: int,
                  base: dict[str, Any], scale: str = "quick") -> list[TrialSpec]:
    """chetty2023's learning-rate/beta experiments for the requested GANs, each run per seed. ``iterations`` and
    ``interval`` count discriminator steps, as 02's chetty runs do (our reading of chetty's "iterations"): a
    WGAN-GP trial with 5 critic steps trains a fifth as many generator steps."""
    trials = []
    for row in load_chetty_experiments():
        gan = registered_gan(row["gan"])
        if gan not in gans:
            continue
        params = {"learning_rate": row["lr"], "beta1": row["beta1"], "beta2": row["beta2"]}
        # the experiment's preset (batch size 64 etc.) when the training module has one; the study's
        # base config (e.g. a smaller batch for the quick profile) still wins over it
        chain = f"{scale}+{row['experiment']}" if row["experiment"] in EXPERIMENT_PRESETS else scale
        n_critic = int(EXPERIMENT_PRESETS.get(row["experiment"], {}).get("n_critic", 1))
        steps, every = max(1, iterations // n_critic), max(1, interval // n_critic)
        for seed in seeds:
            trials.append(TrialSpec(study, gan, row["experiment"], params, seed, steps, every,
                                    preset=chain, base=dict(base)))
    if not trials:
        found = sorted({registered_gan(row["gan"]) for row in load_chetty_experiments()})
        raise ConfigError(f"gans={gans}: chetty2023 has experiments only for {found}")
    return trials


def belmekki_trials(study: str, seeds: list[int], iterations: int, interval: int, base: dict[str, Any],
                    scale: str = "quick") -> list[TrialSpec]:
    """belmekki's four Table I configurations (their DCGAN), each run per seed."""
    trials = []
    for row in load_belmekki_table1():
        preset = belmekki_preset_name(row)
        label = f"{row['optimizer']}-{row['activation']}" + ("-TTUR" if row["ttur"] == "yes" else "")
        params = {"optimizer": row["optimizer"], "activation": row["activation"], "ttur": row["ttur"]}
        for seed in seeds:
            trials.append(TrialSpec(study, "dcgan", label, params, seed, iterations, interval,
                                    preset=f"{scale}+{preset}", base=dict(base)))
    return trials


def _expand(study: str, gan: str, configs: list[dict[str, Any]], labels: list[str], seeds: list[int],
            iterations: int, interval: int, base: dict[str, Any], scale: str) -> list[TrialSpec]:
    return [TrialSpec(study, gan, label, params, seed, iterations, interval, scale, dict(base))
            for params, label in zip(configs, labels) for seed in seeds]


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
