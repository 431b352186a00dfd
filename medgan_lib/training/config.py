"""``TrainConfig``: every knob of a GAN run (skandarani2023 Table 1, chetty2023, belmekki) and named presets.

A preset is a named set of overrides. ``preset("quick", gan="hinge")`` layers: dataclass defaults, the
scale profile / paper experiment named, the GAN's own defaults (``GAN.config_defaults``, e.g. n_critic=5
for WGAN-GP), then explicit overrides. Names can be chained with ``+``: ``preset("quick+WGAN-GP2")``.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Literal

from medgan_lib import config as cfg
from medgan_lib.config import ConfigError
from medgan_lib.data.dataset import DatasetError
from medgan_lib.data.spec import DataSpec
from medgan_lib.reference import assumed, load_belmekki_table1, load_chetty_experiments, published

Activation = Literal["relu", "leaky_relu", "elu", "selu"]
Norm = Literal["batch", "instance", "none"]
WeightInit = Literal["normal", "xavier", "xavier_uniform", "kaiming", "default"]

# Fields that may change when a run is resumed: they do not alter what is computed per iteration.
RESUMABLE_FIELDS = ("iterations", "checkpoint_every", "grid_every", "log_every", "device", "progress",
                    "loss_warn_bound", "channels_last")  # loss_warn_bound only decides what summary.json warns of;
# channels_last only how tensors are laid out in memory
# Fields of configs written by earlier versions that never changed training: read and ignored, so those runs
# still load and match (collapse_ratio: the mode-collapse rule is now medgan_lib.diversity's, one for every page).
RETIRED_FIELDS = ("collapse_ratio",)
FLOAT32_MAX = 3.4028234663852886e38  # the largest finite float32: a learning rate above it overflows in the optimiser


@dataclasses.dataclass
class TrainConfig:
    """One GAN training run. Each field is one knob; validation happens on construction."""

    # --- what to train on ---
    gan: str = "dcgan"  # registered GAN name: vanilla, dcgan, lsgan, wgan, wgan_gp, hinge, spade, stylegan2
    # which data (dataset, root, resolution, count, split seed); the GAN trains on its ``gan_train()`` images.
    # ``from_dict``/``preset`` also take the flat keys dataset, root, resolution, count and data_seed.
    data: DataSpec = dataclasses.field(default_factory=DataSpec)
    seed: int = 0  # seeds data order, weights, latents and augmentations
    # what an unconditional GAN learns: "joint" image + one-hot mask channels (every sample comes with its mask);
    # "masks": the one-hot mask channels alone, a mask generator SPADE can sample from (skandarani §2.1.5)
    channels: Literal["joint", "masks"] = "joint"
    # --- schedule ---
    iterations: int = 1000  # generator steps; each runs n_critic discriminator steps first
    batch_size: int = 64  # images per discriminator/generator step
    n_critic: int = 1  # discriminator steps per generator step (WGAN: 5)
    # --- optimisers (different lr_g/lr_d = TTUR, belmekki §III.B) ---
    optimizer: Literal["adam", "adas"] = "adam"  # Adam or AdaS (medgan_lib.optim.Adas)
    lr_g: float = 2e-4  # generator learning rate (AdaS: initial step size)
    lr_d: float = 2e-4  # discriminator learning rate (AdaS: initial step size)
    betas_g: tuple[float, float] = (0.5, 0.999)  # Adam betas of G (AdaS: beta2 is used for its RMS average)
    betas_d: tuple[float, float] = (0.5, 0.999)  # Adam betas of D
    # --- networks (skandarani Table 1) ---
    latent_dim: int = 100  # length of the latent vector z
    filters_g: int = 32  # base filter count of G (channels of its last hidden layer)
    filters_d: int = 32  # base filter count of D (channels of its first layer)
    activation_g: Activation = "relu"  # hidden activation of G
    activation_d: Activation = "leaky_relu"  # hidden activation of D (leaky slope 0.2)
    norm_g: Norm = "batch"  # normalisation in G's hidden layers
    norm_d: Norm = "batch"  # normalisation in D's hidden layers (never on D's first layer)
    spectral_norm_g: bool = False  # spectral normalisation on every G layer
    spectral_norm_d: bool = False  # spectral normalisation on every D layer
    weight_init: WeightInit = "normal"  # weight initialisation of conv/linear layers ("default": PyTorch's)
    weight_init_gain: float = 0.02  # std for "normal", gain for xavier, scale factor for kaiming
    # --- losses and regularisers (skandarani Table 1) ---
    gradient_penalty_weight: float = 10.0  # WGAN-GP penalty weight lambda (wgan_gp only)
    clip_value: float = 0.01  # WGAN weight clipping bound c (wgan only; 0 disables clipping)
    feature_matching_weight: float = 0.0  # weight of the feature-matching loss added to G's loss
    label_smoothing: bool = False  # one-sided label smoothing: real targets 0.9 (BCE and LSGAN losses)
    vgg_loss_weight: float = 0.0  # weight of the VGG16 perceptual loss between fake and real images
    vgg_weights: str | None = None  # local path of torchvision VGG16 weights; required when vgg_loss_weight > 0
    # --- augmentation ---
    diff_augment: bool = False  # DiffAugment on every D input, real and fake alike
    diff_augment_policy: str = "color,translation,cutout"  # comma-separated DiffAugment transforms
    data_augmentation: bool = False  # classic augmentation of real batches (random flips and shifts)
    # --- per-GAN options (validated against the GAN class's Options dataclass) ---
    gan_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    # --- bookkeeping ---
    checkpoint_every: int = 500  # iterations between atomic checkpoints (and at the end)
    grid_every: int = 250  # iterations between sample-grid PNGs in grids/ (and at the end)
    log_every: int = 1  # iterations between rows of stats.jsonl
    grid_size: int = 16  # samples per grid (a square number looks best)
    loss_warn_bound: float = 1e4  # a finite |D or G loss| above this is warned of in summary.json (training goes on)
    device: str = "auto"  # "auto" (CUDA when present), "cpu", "cuda"
    amp: bool = False  # mixed precision on CUDA: bf16 autocast where supported, else fp16 with a scaler (CPU: off)
    channels_last: bool = False  # channels-last memory format for the networks and batches on CUDA (CPU: off)
    progress: bool = True  # tqdm progress bar

    def __post_init__(self) -> None:
        _check_literals(self)
        res = self.data.resolution
        if not (isinstance(res, int) and 32 <= res <= 256 and res & (res - 1) == 0):
            raise ConfigError(f"TrainConfig.data.resolution: expected a power of two in 32..256, got {res!r}")
        for name in ("iterations", "checkpoint_every", "grid_every", "log_every", "grid_size"):
            if getattr(self, name) < (0 if name == "iterations" else 1):
                raise ConfigError(f"TrainConfig.{name}: must be positive, got {getattr(self, name)!r}")
        for name in ("batch_size", "n_critic", "latent_dim", "filters_g", "filters_d"):
            if getattr(self, name) < 1:
                raise ConfigError(f"TrainConfig.{name}: must be >= 1, got {getattr(self, name)!r}")
        for name in ("lr_g", "lr_d"):  # finite in float32, the weights' type: 1e39 would overflow there
            if not (0 < getattr(self, name) <= FLOAT32_MAX):
                raise ConfigError(f"TrainConfig.{name}: learning rate must be a finite number > 0 (in float32), "
                                  f"got {getattr(self, name)!r}")
        for name in ("betas_g", "betas_d"):
            betas = tuple(getattr(self, name))
            if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
                raise ConfigError(f"TrainConfig.{name}: expected two numbers in [0, 1), got {betas!r}")
            setattr(self, name, betas)
        for name in ("weight_init_gain", "gradient_penalty_weight", "clip_value", "feature_matching_weight",
                     "vgg_loss_weight"):
            if getattr(self, name) < 0:
                raise ConfigError(f"TrainConfig.{name}: must be >= 0, got {getattr(self, name)!r}")
        if not self.loss_warn_bound > 0:
            raise ConfigError(f"TrainConfig.loss_warn_bound: must be a number > 0 (inf: never warn), "
                              f"got {self.loss_warn_bound!r}")
        if self.seed < 0:
            raise ConfigError(f"TrainConfig.seed: must be >= 0, got {self.seed!r}")
        if self.vgg_loss_weight > 0 and not self.vgg_weights:
            raise ConfigError("TrainConfig.vgg_weights: vgg_loss_weight > 0 needs a local path to torchvision "
                              "VGG16 weights (e.g. vgg16-397923af.pth); nothing is downloaded here")
        from medgan_lib.gans import GANS
        from medgan_lib.gans.augment import POLICIES

        gan_cls = GANS[self.gan]  # unknown names raise UnknownNameError listing the valid ones
        bad = [p for p in self.policy() if p not in POLICIES]
        if bad:
            raise ConfigError(f"TrainConfig.diff_augment_policy: unknown transform(s) {bad}; valid: {sorted(POLICIES)}")
        if self.channels == "masks" and gan_cls.conditional:
            raise ConfigError(f"TrainConfig.channels: 'masks' trains an unconditional mask generator; GAN '{self.gan}' "
                              "is conditioned on masks and generates images, so it needs channels='joint'")
        if dataclasses.is_dataclass(gan_cls.Options):
            cfg.from_dict(gan_cls.Options, dict(self.gan_options), where=f"TrainConfig.gan_options ({self.gan})")
        elif self.gan_options:
            raise ConfigError(f"TrainConfig.gan_options: GAN '{self.gan}' takes no options, got {self.gan_options}")

    def policy(self) -> list[str]:
        return [p.strip() for p in self.diff_augment_policy.split(",") if p.strip()]

    def options(self, gan_cls: type) -> Any:
        """``gan_options`` as the GAN's typed ``Options`` dataclass (defaults filled in)."""
        return cfg.from_dict(gan_cls.Options, dict(self.gan_options), where=f"TrainConfig.gan_options ({self.gan})")

    @property
    def dataset(self) -> str:
        return self.data.dataset

    @property
    def resolution(self) -> int:
        return self.data.resolution

    def to_dict(self) -> dict[str, Any]:
        out = cfg.to_dict(self)
        out["betas_g"], out["betas_d"] = list(self.betas_g), list(self.betas_d)
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any], where: str = "TrainConfig") -> "TrainConfig":
        values = {k: v for k, v in values.items() if k not in RETIRED_FIELDS}
        try:
            return cfg.from_dict(cls, fold_data(values), where)
        except DatasetError as err:
            raise ConfigError(f"{where}: {err}") from None


# Flat data keys accepted by from_dict/preset (and found in runs written before DataSpec) -> DataSpec field.
DATA_KEYS = {"dataset": "dataset", "root": "root", "resolution": "resolution", "count": "count", "data_seed": "seed"}


def fold_data(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with the flat data keys moved into ``data`` (flat keys win over a given ``data`` mapping)."""
    if not isinstance(values, dict):
        return values
    flat = {DATA_KEYS[k]: v for k, v in values.items() if k in DATA_KEYS}
    if not flat:
        return values
    data = values.get("data") or {}
    data = data.to_dict() if isinstance(data, DataSpec) else dict(data)
    return {**{k: v for k, v in values.items() if k not in DATA_KEYS}, "data": {**data, **flat}}


def _check_literals(config: TrainConfig) -> None:
    for name, hint in typing.get_type_hints(type(config)).items():
        if typing.get_origin(hint) is Literal and getattr(config, name) not in typing.get_args(hint):
            raise ConfigError(f"TrainConfig.{name}: {getattr(config, name)!r} is not one of {list(typing.get_args(hint))}")


def config_differences(old: dict[str, Any], new: dict[str, Any], ignore: tuple[str, ...] = RESUMABLE_FIELDS
                       ) -> list[str]:
    """Human-readable ``key: old -> new`` lines for the hyperparameters that differ; a field missing from
    one side (a run written before the field existed) counts as the field's default."""
    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig) if f.default is not dataclasses.MISSING}
    defaults["data"] = DataSpec().to_dict()
    old, new = {**defaults, **fold_data(old)}, {**defaults, **fold_data(new)}
    old["data"], new["data"] = ({**defaults["data"], **side["data"]} for side in (old, new))
    keys = sorted((set(old) | set(new)) - set(ignore) - set(RETIRED_FIELDS))
    return [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in keys if _norm(old.get(k)) != _norm(new.get(k))]


def _norm(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


# The quick profile's data resolution: at 32x32 a 2-core CPU trains every GAN far enough in its budget to draw
# matching images and masks (at 64x64, 1000 DCGAN iterations, 2.4 min, gave a synthetic-only Dice of 0.08).
QUICK_RESOLUTION = 32
# The quick profile's budget principle: the same wall-clock training time for every GAN run (joint and masks-only)
# on the reference machine (2 CPU cores, AVX2, no GPU), so the study compares what each GAN learns for the same
# compute, as on a teacher's laptop. A GAN's iterations = QUICK_BUDGET_SECONDS / its seconds per iteration at its
# quick settings, measured at 32x32 on an idle reference machine with bench/gan_budget.py (which prints the
# ratio on yours; measured at commit f7b95bb). Key "gan:masks": the masks-only run.
# 120 s (ours): at 80 s, Vanilla, DCGAN and WGAN-GP stayed below a synthetic-only Dice of 0.3 (0.21, 0.22, 0.21,
# commit d63f5db); the same runs given 1.5x / 2x their 80 s iterations reached Vanilla 0.52 / 0.37, DCGAN 0.53 /
# 0.60, WGAN-GP 0.16 / 0.36, StyleGAN2 - / 0.15 (one GAN and U-Net seed each, 2026-12-02); 2x would put the study
# over its 30 min.
QUICK_BUDGET_SECONDS = 120
QUICK_SECONDS_PER_ITERATION = {"vanilla": 0.070, "dcgan": 0.043, "lsgan": 0.048, "wgan": 0.076, "wgan_gp": 0.132,
                               "hinge": 0.049, "spade": 0.285, "stylegan2": 0.26, "dcgan:masks": 0.046,  # 2026-12-01
                               # 08's GANs on their phantoms (bench/gan_budget.py, idle, commit 394e5e1, 2026-12-03)
                               "cgan": 0.0448, "acgan": 0.0469, "infogan": 0.0436, "pix2pix": 0.0422,
                               "cyclegan": 0.141}


def _budget(key: str) -> int:
    """Iterations of ``key``'s quick run under the equal wall-clock budget, rounded to tens."""
    return max(10, int(round(QUICK_BUDGET_SECONDS / QUICK_SECONDS_PER_ITERATION[key], -1)))


# Scale profiles: smoke (CI, seconds), quick (2-core CPU, QUICK_BUDGET_SECONDS per GAN), paper (GPU, hours).
SCALE_PRESETS: dict[str, dict[str, Any]] = {
    "smoke": dict(iterations=4, batch_size=8, filters_g=8, filters_d=8, checkpoint_every=2,
                  grid_every=2, grid_size=4, progress=False),
    # quick: 840 phantom slices are a small dataset: without DiffAugment (and, for BCE/LSGAN, label smoothing) D
    # wins within ~50 iterations and G collapses (measured: diversity ratio 0.03-0.14 without, 0.40-0.45 with).
    "quick": dict(iterations=_budget("dcgan"), batch_size=32, filters_g=16, filters_d=16, diff_augment=True,
                  label_smoothing=True, checkpoint_every=500, grid_every=250, grid_size=16),
    # paper: skandarani gives no iteration counts or resolution; 20000 iterations (and paper.yaml's 256 px) are ours
    "paper": dict(iterations=assumed("skandarani2023", "iterations"), batch_size=64, filters_g=64, filters_d=64,
                  checkpoint_every=1000, grid_every=1000, grid_size=64),
}

# Per-GAN adjustments of a scale profile, applied over the GAN's own defaults. Quick (ours, not the papers'; one
# GAN seed, synthetic-only U-Net Dice at 32x32 (1 U-Net seed), measured on the cardiac phantom at commit f7b95bb):
# - iterations from the equal budget above (a WGAN iteration runs n_critic critic steps, so it gets fewer);
# - WGAN and WGAN-GP: 2 critic steps instead of 5, and a larger learning rate than the WGAN papers' (WGAN lr 5e-5
#   gave Dice 0.04 in 1000 iterations, 2e-4 gave 0.49; WGAN-GP lr 1e-4 gave 0.00 in 700, 5e-4 gave 0.41;
#   WGAN-GP with 1 critic step, 1200 iterations, 0.01);
# - LSGAN and WGAN-GP: larger learning rates, chosen on three GAN seeds each (synthetic-only Dice, seeds 0 / 1 / 2,
#   commit dd1dfb0, 2026-12-02): LSGAN lr 2e-4 gave 0.15 / 0.47 / 0.47, 5e-4 gave 0.48 / 0.60 / 0.53 (TTUR 1e-4 / 4e-4:
#   0.37 / 0.15 / 0.43); WGAN-GP lr 5e-4 gave 0.30 / 0.47 / 0.52, 1e-3 gave 0.58 / 0.40 / 0.52;
# - Vanilla: half-width layers (the MLP's full-image layers dominate its cost) and no DiffAugment: random shifts
#   blind a fully connected D (D(real) = D(fake) = 0.46 throughout, every sample the same, Dice 0.07; without,
#   Dice 0.38 in 1500 iterations);
# - StyleGAN2 and SPADE: narrow networks; paper: the official widths. StyleGAN2 at 64x64, same cost: batch 32
#   r1_gamma 1 gave Dice 0.24, FID 357; r1_gamma 0.05: 0.17, 359; batch 16 r1_gamma 1: 0.08, 339.
# Short runs (smoke, quick) keep a short generator EMA with a ramp-up (ours): 'paper256''s 20 kimg half-life without
# ramp-up would leave the EMA generator near its initial weights after quick's ~10 kimg.
_SHORT_RUN_EMA = {"mbstd_group": 4, "ema_kimg": 10.0, "ema_rampup": 0.05}
SCALE_GAN_PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "smoke": {"stylegan2": dict(gan_options={"channel_base": 256, "channel_max": 32, "mapping_layers": 2,
                                             "pl_weight": 0.0, **_SHORT_RUN_EMA}),
              "spade": dict(gan_options={"spade_hidden": 8, "channel_max": 64})},
    "quick": {"lsgan": dict(iterations=_budget("lsgan"), lr_g=5e-4, lr_d=5e-4), "hinge": dict(iterations=_budget("hinge")),
              "wgan": dict(n_critic=2, lr_g=2e-4, lr_d=2e-4, iterations=_budget("wgan")),
              "wgan_gp": dict(n_critic=2, lr_g=1e-3, lr_d=1e-3, iterations=_budget("wgan_gp")),
              "vanilla": dict(iterations=_budget("vanilla"), diff_augment=False,
                              gan_options={"hidden": [128, 256, 512]}),
              "stylegan2": dict(iterations=_budget("stylegan2"), batch_size=32, latent_dim=64, diff_augment=False,
                                gan_options={"channel_base": 512, "channel_max": 64, "mapping_layers": 2,
                                             "pl_weight": 0.0, "r1_gamma": 1.0, "r1_interval": 16,
                                             "style_mixing_prob": 0.0, **_SHORT_RUN_EMA}),
              # SPADE quick: one learning rate 2e-4 for G and D instead of SPADE's published TTUR 1e-4 / 4e-4 (ours:
              # a measured choice for the quick budget, labelled in 02's report)
              "spade": dict(iterations=_budget("spade"), batch_size=16, filters_g=16, filters_d=16, lr_g=2e-4,
                            lr_d=2e-4, spectral_norm_g=False, gan_options={"spade_hidden": 16, "channel_max": 128}),
              # the review's GANs (08), ours: the conv pair's quick widths; the translation GANs with batch 8 (Isola
              # et al. and Zhu et al. train with batch 1) and no DiffAugment (their papers use none)
              "cgan": dict(iterations=_budget("cgan")), "acgan": dict(iterations=_budget("acgan")),
              "infogan": dict(iterations=_budget("infogan")),
              "pix2pix": dict(iterations=_budget("pix2pix"), batch_size=8, diff_augment=False, label_smoothing=False),
              "cyclegan": dict(iterations=_budget("cyclegan"), batch_size=8, diff_augment=False,
                               label_smoothing=False)},
    # paper: the official implementations' settings (skandarani §3.2 "without any change"); StyleGAN2 'paper256'
    # trains batch 64 (over 8 GPUs): on one GPU at 256x256 it may need a smaller batch_size (then say so).
    "paper": {"stylegan2": dict(latent_dim=512, batch_size=published("skandarani2023", "stylegan2_paper256")["batch_size"],
                                amp=True),
              "spade": dict(filters_g=64, filters_d=64, latent_dim=256, batch_size=16)},
}

# Masks-only runs (channels="masks") of a scale profile, per GAN, applied over its per-GAN adjustments. Quick: the
# same wall-clock budget as every other GAN run.
SCALE_MASK_PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "quick": {"dcgan": dict(iterations=_budget("dcgan:masks"))},
}

# ---- The papers' experiments. Each preset carries its paper's whole protocol (networks, optimiser, and every
# training trick switched off that the paper did not use), whatever scale it is chained with: "quick+Vanilla2" is
# chetty's Vanilla2 at the quick budget, without quick's DiffAugment and label smoothing. The numbers are read from
# medgan_lib/reference/: the papers' tables, and protocols.yaml (published settings with their source, and our
# assumptions, labelled with why, where a paper is silent).
NO_TRICKS = dict(diff_augment=False, label_smoothing=False, data_augmentation=False, feature_matching_weight=0.0,
                 vgg_loss_weight=0.0, spectral_norm_g=False, spectral_norm_d=False)


def _chetty_networks(label: str) -> dict[str, Any]:
    """chetty's networks for a Table 1-2 GAN label: the PyTorch-GAN MLPs (gan.py, wgan_gp.py) or StyleGAN2."""
    mlp = {"hidden": list(published("chetty2023", "vanilla_generator")),
           "hidden_d": list(published("chetty2023", "vanilla_discriminator"))}
    common = dict(NO_TRICKS, optimizer=published("chetty2023", "optimizer"), activation_g="leaky_relu",
                  activation_d="leaky_relu", norm_g="batch", norm_d="none", weight_init="normal", latent_dim=100)
    if label == "vanilla_mlp":
        return dict(common, gan="vanilla", gan_options=mlp)
    if label == "wgan_gp":
        # Table 2's "gradient clip value of 0.01" is not applied: protocols.yaml, chetty2023 assumptions.
        return dict(common, gan="wgan_gp", n_critic=published("chetty2023", "wgan_gp_n_critic"),
                    gradient_penalty_weight=float(published("chetty2023", "gradient_penalty_weight")),
                    gan_options={**mlp, "networks": "mlp"})
    if label == "stylegan2":  # the official StyleGAN2 defaults (StyleGAN2Options), without ADA
        return dict(NO_TRICKS, gan="stylegan2")
    raise ConfigError(f"chetty2023_experiments.csv: unknown GAN label '{label}'")


def _chetty_preset(row: dict[str, Any]) -> dict[str, Any]:
    betas = (row["beta1"], row["beta2"])
    values = dict(_chetty_networks(row["gan"]), lr_g=row["lr"], lr_d=row["lr"], betas_g=betas, betas_d=betas)
    if row["batch_size"]:
        values["batch_size"] = row["batch_size"]
    return values


def belmekki_preset_name(row: dict[str, Any]) -> str:
    """The preset name of a belmekki Table I row, e.g. belmekki_adas_elu_ttur."""
    activation = "elu" if row["activation"] == "ELU" else "relu"
    return f"belmekki_{row['optimizer'].lower()}_{activation}" + ("_ttur" if row["ttur"] == "yes" else "")


def _belmekki_preset(row: dict[str, Any]) -> dict[str, Any]:
    """belmekki Table II's DCGAN with a Table I row's optimiser, non-linearity and TTUR. The learning rates,
    betas and batch size are ours (the paper gives none; protocols.yaml says why)."""
    lr, betas = assumed("belmekki", "lr"), tuple(assumed("belmekki", "betas"))
    values = dict(NO_TRICKS, gan="dcgan", optimizer=row["optimizer"].lower(),
                  activation_g=published("belmekki", "activation"), activation_d=published("belmekki", "activation"),
                  norm_g=published("belmekki", "norm_g"), norm_d=published("belmekki", "norm_d"),
                  filters_g=published("belmekki", "filters"), filters_d=published("belmekki", "filters"),
                  latent_dim=published("belmekki", "latent_dim"), batch_size=assumed("belmekki", "batch_size"),
                  betas_g=betas, betas_d=betas, lr_g=lr, lr_d=lr)
    if row["activation"] != "ELU":  # the conventional DCGAN: ReLU G, LeakyReLU D, BatchNorm in both (§V.C)
        values.update(activation_g="relu", activation_d="leaky_relu", norm_g="batch")
    if row["ttur"] == "yes":
        values["lr_g"], values["lr_d"] = assumed("belmekki", "ttur_lr")
    return values


EXPERIMENT_PRESETS: dict[str, dict[str, Any]] = {row["experiment"]: _chetty_preset(row)
                                                 for row in load_chetty_experiments()}
_BELMEKKI_ROWS = load_belmekki_table1()
EXPERIMENT_PRESETS.update({belmekki_preset_name(row): _belmekki_preset(row) for row in _BELMEKKI_ROWS})
# Table II is "the top-performing configuration": Table I's lowest FID (ELU, TTUR, AdaS).
EXPERIMENT_PRESETS["belmekki_table2"] = dict(
    EXPERIMENT_PRESETS[belmekki_preset_name(min(_BELMEKKI_ROWS, key=lambda row: row["fid"]))])

# belmekki Figure 8 removes BatchNorm from "a generator model", but Table II's G has none: this variant (ours) puts
# BatchNorm in G's hidden layers and none in D, so removing it measures G's BatchNorm alone (05 sweeps both).
EXPERIMENT_PRESETS["belmekki_fig8_generator"] = dict(EXPERIMENT_PRESETS["belmekki_table2"], norm_g="batch", norm_d="none")

# A paper experiment named without a scale runs at its paper's scale: preset("Vanilla2") = preset("chetty+Vanilla2").
HOME_SCALE = {name: ("chetty" if name in {row["experiment"] for row in load_chetty_experiments()} else "belmekki")
              for name in EXPERIMENT_PRESETS}

# The paper scales. chetty: 256x256, batch 64, 8000 discriminator steps (WGAN-GP: 8000 / n_critic generator steps,
# our reading of "iterations"); each GAN's 02 run uses chetty's baseline experiment for it (the source
# implementation's Vanilla1, Gulrajani et al.'s WGAN-GP2, the official StyleGAN2). belmekki: 64x64, Table II.
CHETTY_BASELINES = {"vanilla": "Vanilla1", "wgan_gp": "WGAN-GP2", "stylegan2": "StyleGAN2"}
SCALE_PRESETS["chetty"] = dict(iterations=published("chetty2023", "iterations"),
                               resolution=published("chetty2023", "resolution"),
                               batch_size=published("chetty2023", "batch_size"),
                               checkpoint_every=1000, grid_every=1000, grid_size=16)
SCALE_GAN_PRESETS["chetty"] = {gan: dict(EXPERIMENT_PRESETS[name]) for gan, name in CHETTY_BASELINES.items()}
SCALE_GAN_PRESETS["chetty"]["wgan_gp"]["iterations"] = (published("chetty2023", "iterations")
                                                        // published("chetty2023", "wgan_gp_n_critic"))
# belmekki trains "150 epochs" of a VinBigData portion of unstated size: 5000 steps of batch 64 is 150 epochs of
# ~2100 images (ours).
SCALE_PRESETS["belmekki"] = dict(iterations=5000, resolution=published("belmekki", "resolution"),
                                 batch_size=assumed("belmekki", "batch_size"), checkpoint_every=1000,
                                 grid_every=500, grid_size=16)
SCALE_GAN_PRESETS["belmekki"] = {"dcgan": dict(EXPERIMENT_PRESETS["belmekki_table2"])}

PRESETS: dict[str, dict[str, Any]] = {**SCALE_PRESETS, **EXPERIMENT_PRESETS}


def preset_values(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(scale overrides, experiment overrides) of one preset name or a ``+``-chain applied left to right."""
    scale: dict[str, Any] = {}
    experiment: dict[str, Any] = {}
    for part in _parts(name):
        if part in SCALE_PRESETS:
            scale.update(SCALE_PRESETS[part])
        elif part in EXPERIMENT_PRESETS:
            experiment.update(EXPERIMENT_PRESETS[part])
        else:
            raise ConfigError(f"unknown preset '{part}'; valid presets: {', '.join(PRESETS)}")
    return scale, experiment


def preset(name: str = "quick", **overrides: Any) -> TrainConfig:
    """A ``TrainConfig`` from a preset name (or ``a+b`` chain). Layers, later winning: dataclass defaults,
    scale profile, the GAN's ``config_defaults``, the profile's per-GAN adjustments (and, for a masks-only run,
    its masks-only ones), paper-experiment values, then ``overrides``."""
    from medgan_lib.gans import GANS

    scale, experiment = preset_values(name)
    gan = overrides.get("gan", experiment.get("gan", TrainConfig.gan))
    channels = overrides.get("channels", experiment.get("channels", TrainConfig.channels))
    per_gan: dict[str, Any] = {}
    for part in _parts(name):
        per_gan.update(SCALE_GAN_PRESETS.get(part, {}).get(gan, {}))
        if channels == "masks":
            per_gan.update(SCALE_MASK_PRESETS.get(part, {}).get(gan, {}))
    merged: dict[str, Any] = {}
    data: dict[str, Any] = {}
    for layer in (scale, dict(GANS[gan].config_defaults), per_gan, experiment, overrides):
        layer = fold_data(dict(layer))  # each layer's data keys over the earlier layers' (a scale's resolution
        spec = layer.pop("data", None)  # yields to an explicit DataSpec)
        data.update(spec.to_dict() if isinstance(spec, DataSpec) else dict(spec or {}))
        merged.update(layer)
    return TrainConfig.from_dict({**merged, **({"data": data} if data else {}), "gan": gan}, where=f"preset '{name}'")


def _parts(name: str) -> list[str]:
    """The parts of a preset chain; a chain of paper experiments only starts with the first one's home scale."""
    parts = [p.strip() for p in name.split("+")]
    if parts and not any(p in SCALE_PRESETS for p in parts) and parts[0] in HOME_SCALE:
        parts.insert(0, HOME_SCALE[parts[0]])
    return parts


def paper_of(name: str) -> tuple[str, str | None]:
    """(paper, scale) of a preset chain: the paper whose protocol it runs (chetty2023, belmekki, or skandarani2023 for
    the study's own scales) and its scale profile."""
    parts = _parts(name)
    scale = next((p for p in parts if p in SCALE_PRESETS), None)
    for part in parts:
        if part in EXPERIMENT_PRESETS or part in ("chetty", "belmekki"):
            return ("belmekki" if part.startswith("belmekki") else "chetty2023"), scale
    return "skandarani2023", scale


def settings_table(name: str, configs: dict[str, TrainConfig] | None = None):
    """The protocol of the paper preset ``name`` reproduces, as published and as ours (reference.protocol_table),
    with the values each run of ``configs`` (GAN name -> its config) used."""
    from medgan_lib.reference import protocol_table

    paper, scale = paper_of(name)
    return protocol_table(paper, scale, configs)


def protocol_notes(name: str) -> str:
    """Footnotes for the settings table of preset ``name``: the paper's own inconsistencies, as printed there."""
    from medgan_lib.reference import footnotes

    return footnotes(paper_of(name)[0])
