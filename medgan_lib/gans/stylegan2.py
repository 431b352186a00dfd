"""StyleGAN2 (Karras et al. 2020; skandarani2023 §2.1.6, chetty2023 §3.3) in plain PyTorch.

Mapping MLP (lr multiplier) -> per-layer styles -> modulated/demodulated 3x3 convolutions with noise
injection, a skip-architecture generator (tRGB outputs summed across resolutions) and a residual
discriminator with minibatch standard deviation. Non-saturating logistic loss, lazy R1 on reals,
optional lazy path-length regularisation, style mixing, and an EMA copy of the generator that
``generate`` uses, with the truncation trick around the tracked average w. Learns the joint image+mask
tensor like every unconditional GAN of the study. Resampling uses the official [1, 3, 3, 1] FIR filter
(``medgan_lib.gans.resample``): transposed conv then filter in the generator's up-convs, filter then
strided conv in the discriminator. Demodulation uses the non-fused form (scale activations, shared
weights), which runs fast on CPU. With lazy regularisation the optimisers' lr and betas get the paper's
correction (Appendix B), through ``optimizer_settings``.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from typing import Any, Callable, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from medgan_lib.config import ConfigError
from medgan_lib import parallel
from medgan_lib.gans.augment import diff_augment
from medgan_lib.gans.base import GAN, GANS, DataShape
from medgan_lib.gans.resample import downsample2d, fir_filter, upsample2d

SQRT2 = math.sqrt(2.0)


@dataclasses.dataclass
class StyleGAN2Options:
    """StyleGAN2 knobs; defaults are the official 256x256 settings (stylegan2-ada-pytorch cfg 'paper256', without
    ADA; checked against medgan_lib/reference/protocols.yaml by the tests)."""

    mapping_layers: int = 8  # depth of the z -> w MLP
    mapping_lr_mul: float = 0.01  # learning-rate multiplier of the mapping network
    channel_base: int = 16384  # channels at resolution r are min(channel_base // r, channel_max)
    channel_max: int = 512
    style_mixing_prob: float = 0.9  # probability that a training batch mixes two latents at a random layer
    r1_gamma: float = 1.0  # R1 weight on real images (gamma / 2 * |grad D(x)|^2)
    r1_interval: int = 16  # lazy R1: every k-th discriminator step, scaled by k
    pl_weight: float = 2.0  # path-length regularisation weight (0 disables it)
    pl_interval: int = 4  # lazy path-length: every k-th generator step, scaled by k
    pl_batch_shrink: int = 2  # path-length batch = batch // shrink
    pl_decay: float = 0.01  # moving-average rate of the target path length
    mbstd_group: int = 8  # minibatch-stddev group size in the discriminator
    ema_kimg: float = 20.0  # half-life of the generator EMA, in thousands of images
    ema_rampup: float = 0.0  # EMA half-life is at most this fraction of the images seen so far (0: off)
    w_avg_beta: float = 0.995  # decay of the tracked average w (one update per generator step)
    truncation_psi: float = 1.0  # generate() uses w_avg + psi * (w - w_avg); 1 = off (what FID measures)

    def __post_init__(self) -> None:
        for name in ("mapping_layers", "channel_base", "channel_max", "r1_interval", "pl_interval",
                     "pl_batch_shrink", "mbstd_group"):
            if getattr(self, name) < 1:
                raise ConfigError(f"stylegan2 option {name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.style_mixing_prob <= 1.0:
            raise ConfigError(f"stylegan2 option style_mixing_prob must be in [0, 1], got {self.style_mixing_prob}")
        for name in ("r1_gamma", "pl_weight", "ema_kimg", "ema_rampup", "mapping_lr_mul", "truncation_psi"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"stylegan2 option {name} must be >= 0, got {getattr(self, name)}")
        if not 0.0 <= self.w_avg_beta < 1.0:
            raise ConfigError(f"stylegan2 option w_avg_beta must be in [0, 1), got {self.w_avg_beta}")


def channels_at(resolution: int, options: StyleGAN2Options) -> int:
    """Feature maps at one resolution: fewer at high resolution, capped at ``channel_max``."""
    return max(1, min(options.channel_base // resolution, options.channel_max))


class EqualLinear(nn.Module):
    """Linear layer with equalised learning rate: N(0,1) weights scaled at run time by lr_mul/sqrt(fan_in)."""

    def __init__(self, fan_in: int, fan_out: int, bias_init: float = 0.0, lr_mul: float = 1.0,
                 activate: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(fan_out, fan_in) / lr_mul)
        self.bias = nn.Parameter(torch.full((fan_out,), float(bias_init)) / lr_mul)
        self.scale = lr_mul / math.sqrt(fan_in)
        self.lr_mul = lr_mul
        self.activate = activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)
        return F.leaky_relu(x, 0.2) * SQRT2 if self.activate else x


class EqualConv2d(nn.Module):
    """Convolution with equalised learning rate (discriminator layers); ``down``: FIR filter, then stride 2."""

    def __init__(self, c_in: int, c_out: int, kernel: int, bias: bool = True, activate: bool = False,
                 down: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(c_out)) if bias else None
        self.scale = 1.0 / math.sqrt(c_in * kernel * kernel)
        self.activate = activate
        self.down = down

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight, pad = self.weight * self.scale, self.weight.shape[-1] // 2
        if self.down and pad == 0:  # 1x1: downsample first, then the (4x cheaper) conv
            x = F.conv2d(downsample2d(x), weight, self.bias)
        elif self.down:  # official upfirdn padding: the strided conv sees H + 1 filtered pixels -> H / 2
            x = F.conv2d(fir_filter(x, pad=(pad + 1, pad + 1)), weight, self.bias, stride=2)
        else:
            x = F.conv2d(x, weight, self.bias, padding=pad)
        return F.leaky_relu(x, 0.2) * SQRT2 if self.activate else x


class MappingNetwork(nn.Module):
    """z -> w: pixel-normalised latent through an MLP with a reduced learning rate; ``w_avg`` is the running
    average of training outputs (the centre of the truncation trick), a buffer so checkpoints keep it."""

    def __init__(self, z_dim: int, w_dim: int, layers: int, lr_mul: float) -> None:
        super().__init__()
        dims = [z_dim] + [w_dim] * layers
        self.net = nn.Sequential(*[EqualLinear(a, b, lr_mul=lr_mul, activate=True) for a, b in zip(dims, dims[1:])])
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = z * torch.rsqrt(z.square().mean(dim=1, keepdim=True) + 1e-8)
        return self.net(z)

    @torch.no_grad()
    def track(self, w: torch.Tensor, beta: float) -> None:
        """w_avg <- beta * w_avg + (1 - beta) * mean(w) (StyleGAN2: beta = 0.995, from zero)."""
        self.w_avg.copy_(parallel.batch_mean(w.detach()).to(self.w_avg.dtype).lerp(self.w_avg, beta))


class ModulatedConv2d(nn.Module):
    """Convolution whose input channels are scaled by a per-sample style and whose outputs are demodulated
    to unit expected variance: y = d * conv(x * s, w) with d_o = 1 / sqrt(sum_{i,k} (w_oik s_i)^2).
    ``up``: 2x upsampling as the official stride-2 transposed conv followed by the FIR filter (gain 4), which
    equals conv(upsample2d(x), w) away from the borders at a quarter of the multiply-adds."""

    def __init__(self, c_in: int, c_out: int, kernel: int, w_dim: int, demodulate: bool = True,
                 up: bool = False) -> None:
        super().__init__()
        self.affine = EqualLinear(w_dim, c_in, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel, kernel))
        self.scale = 1.0 / math.sqrt(c_in * kernel * kernel)
        self.demodulate = demodulate
        self.up = up

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w)  # (N, c_in)
        weight = self.weight * self.scale
        x = x * styles[:, :, None, None]
        if self.up:  # transposed conv with the flipped (in, out) weight = conv of the zero-inserted input
            x = F.conv_transpose2d(x, weight.transpose(0, 1).flip(2, 3), stride=2)  # 2H + k - 2
            x = fir_filter(x, pad=(1, 1), gain=4.0)  # -> 2H for k = 3
        else:
            x = F.conv2d(x, weight, padding=weight.shape[-1] // 2)
        if self.demodulate:
            # sum_{i,k} (w_oik s_i)^2 = sum_i s_i^2 * sum_k w_oik^2
            dcoef = torch.rsqrt(styles.square() @ weight.square().sum(dim=(2, 3)).t() + 1e-8)  # (N, c_out)
            x = x * dcoef[:, :, None, None]
        return x


class StyleLayer(nn.Module):
    """Modulated 3x3 conv (optionally 2x upsampling), per-pixel noise with a learned strength, bias, lrelu."""

    def __init__(self, c_in: int, c_out: int, w_dim: int, up: bool) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(c_in, c_out, 3, w_dim, up=up)
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.bias = nn.Parameter(torch.zeros(c_out))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_gen: torch.Generator | None,
                shared_noise: bool = False) -> torch.Tensor:
        x = self.conv(x, w)
        n, _, h, wd = x.shape
        if noise_gen is None and not shared_noise:  # training: per-sample noise of the global batch
            noise = parallel.randn(n, 1, h, wd, device=x.device)
        else:
            noise = torch.randn((1 if shared_noise else n, 1, h, wd), generator=noise_gen,
                                device=noise_gen.device if noise_gen is not None else x.device).to(x.device)
        x = x + noise * self.noise_strength + self.bias[None, :, None, None]
        return F.leaky_relu(x, 0.2) * SQRT2


class ToRGB(nn.Module):
    """Modulated 1x1 conv (no demodulation) to the output channels; summed across resolutions (skip)."""

    def __init__(self, c_in: int, c_out: int, w_dim: int) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(c_in, c_out, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(c_out))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.conv(x, w) + self.bias[None, :, None, None]


class SynthesisNetwork(nn.Module):
    """Learned 4x4 constant -> style layers up to the output resolution, skip (tRGB) architecture."""

    def __init__(self, w_dim: int, out_channels: int, resolution: int, options: StyleGAN2Options) -> None:
        super().__init__()
        levels = int(math.log2(resolution))
        self.const = nn.Parameter(torch.randn(channels_at(4, options), 4, 4))
        self.layers = nn.ModuleList()
        self.torgb = nn.ModuleList()
        c_prev = channels_at(4, options)
        for level in range(2, levels + 1):
            c = channels_at(2 ** level, options)
            if level > 2:
                self.layers.append(StyleLayer(c_prev, c, w_dim, up=True))
            self.layers.append(StyleLayer(c if level > 2 else c_prev, c, w_dim, up=False))
            self.torgb.append(ToRGB(c, out_channels, w_dim))
            c_prev = c
        self.num_ws = len(self.layers) + 1  # the last tRGB reads one extra w

    def forward(self, ws: torch.Tensor, noise_gen: torch.Generator | None = None, shared_noise: bool = False
                ) -> torch.Tensor:
        """Images from per-layer styles ``ws``; ``shared_noise``: one noise map for the whole batch (grids
        that compare styles under the same noise)."""
        x = self.const[None].expand(ws.shape[0], -1, -1, -1)
        x = self.layers[0](x, ws[:, 0], noise_gen, shared_noise)
        img = self.torgb[0](x, ws[:, 1])
        for level, rgb in enumerate(self.torgb[1:]):
            i = 1 + 2 * level
            x = self.layers[i](x, ws[:, i], noise_gen, shared_noise)
            x = self.layers[i + 1](x, ws[:, i + 1], noise_gen, shared_noise)
            img = upsample2d(img) + rgb(x, ws[:, i + 2])
        return img


class Generator(nn.Module):
    """Mapping + synthesis. ``forward(z)`` maps z and gives the same w to every layer (mixing is in training);
    ``psi`` < 1 truncates w towards the tracked average w."""

    def __init__(self, z_dim: int, out_channels: int, resolution: int, options: StyleGAN2Options) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.mapping = MappingNetwork(z_dim, z_dim, options.mapping_layers, options.mapping_lr_mul)
        self.synthesis = SynthesisNetwork(z_dim, out_channels, resolution, options)
        self.num_ws = self.synthesis.num_ws

    def styles(self, z: torch.Tensor, psi: float = 1.0) -> torch.Tensor:
        """(N, num_ws, w_dim): the same w for every layer, w_avg + psi * (w - w_avg) (psi = 1: untouched)."""
        w = self.mapping(z)
        if psi != 1.0:
            w = self.mapping.w_avg.lerp(w, psi)
        return w[:, None].expand(-1, self.num_ws, -1)

    def forward(self, z: torch.Tensor, noise_gen: torch.Generator | None = None, psi: float = 1.0,
                shared_noise: bool = False) -> torch.Tensor:
        return self.synthesis(self.styles(z, psi), noise_gen, shared_noise)


def minibatch_stddev(x: torch.Tensor, group: int) -> torch.Tensor:
    """Append one channel: the std over groups of samples, averaged over features and pixels."""
    n, c, h, w = x.shape
    g = max(d for d in range(1, min(group, n) + 1) if n % d == 0)
    y = x.reshape(g, n // g, c, h, w)
    y = (y.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))  # (n // g,)
    y = y.repeat(g)[:, None, None, None].expand(n, 1, h, w)
    return torch.cat([x, y], dim=1)


class DiscriminatorBlock(nn.Module):
    """3x3 conv, FIR-filtered stride-2 3x3 conv, plus a FIR-downsampled 1x1 skip; sum scaled by 1/sqrt(2)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv0 = EqualConv2d(c_in, c_in, 3, activate=True)
        self.conv1 = EqualConv2d(c_in, c_out, 3, activate=True, down=True)
        self.skip = EqualConv2d(c_in, c_out, 1, bias=False, down=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.conv1(self.conv0(x)) + self.skip(x)) / SQRT2


class Discriminator(nn.Module):
    """Residual discriminator: fromRGB, blocks down to 4x4, minibatch stddev, conv, two dense layers."""

    def __init__(self, in_channels: int, resolution: int, options: StyleGAN2Options) -> None:
        super().__init__()
        levels = int(math.log2(resolution))
        self.fromrgb = EqualConv2d(in_channels, channels_at(resolution, options), 1, activate=True)
        self.blocks = nn.Sequential(*[DiscriminatorBlock(channels_at(2 ** lv, options), channels_at(2 ** (lv - 1), options))
                                      for lv in range(levels, 2, -1)])
        c4 = channels_at(4, options)
        self.mbstd_group = options.mbstd_group
        self.conv = EqualConv2d(c4 + 1, c4, 3, activate=True)
        self.fc = EqualLinear(c4 * 16, c4, activate=True)
        self.out = EqualLinear(c4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.fromrgb(x))
        x = self.conv(minibatch_stddev(x, self.mbstd_group))
        return self.out(self.fc(x.flatten(1))).squeeze(1)


def r1_penalty(discriminator: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """(D(real), per-sample squared gradient norm |dD(x)/dx|^2), differentiable for the D update."""
    real = real.detach().requires_grad_(True)
    logits = discriminator(real)
    (grad,) = torch.autograd.grad(logits.sum(), real, create_graph=True)
    return logits, grad.square().sum(dim=(1, 2, 3))


@GANS.register("stylegan2")
class StyleGAN2(GAN):
    """StyleGAN2 on the joint image+mask tensor; ``generate`` samples from the EMA generator."""

    Options = StyleGAN2Options
    # chetty2023 §3.3 (official StyleGAN2-ADA settings): Adam beta1 = 0, beta2 = 0.99, lr 0.0025.
    config_defaults: ClassVar[dict[str, Any]] = {"lr_g": 0.0025, "lr_d": 0.0025, "betas_g": (0.0, 0.99),
                                                 "betas_d": (0.0, 0.99)}

    def __init__(self, config: Any, shape: DataShape) -> None:
        super().__init__()
        if shape.resolution < 8 or shape.resolution & (shape.resolution - 1):
            raise ConfigError(f"stylegan2: resolution must be a power of two >= 8, got {shape.resolution}")
        self.options: StyleGAN2Options = config.options(type(self))
        self.shape = shape
        self.z_dim = int(config.latent_dim)
        self.generator = Generator(self.z_dim, shape.joint_channels, shape.resolution, self.options)
        self.discriminator = Discriminator(shape.joint_channels, shape.resolution, self.options)
        self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False)
        self.register_buffer("pl_mean", torch.zeros(()))
        self.register_buffer("images_seen", torch.zeros((), dtype=torch.int64))
        self.policy = config.policy() if config.diff_augment else []
        self._batch = 1  # size of the last generator batch, for the EMA half-life in images

    def augment(self, x: torch.Tensor) -> torch.Tensor:
        """DiffAugment (TrainConfig.diff_augment), the same transforms on reals and fakes."""
        return diff_augment(x, self.policy, self.shape.image_channels) if self.policy else x

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        """Refuse checkpoints of the earlier bilinear/avg-pool networks (they have no average w): their
        weights were trained for different resampling and would give wrong images."""
        if "generator.mapping.w_avg" not in state_dict:
            raise ValueError("stylegan2: this checkpoint predates FIR resampling and the tracked average w "
                             "(it has no generator.mapping.w_avg); its weights do not fit the current networks, "
                             "train the run again")
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    @property
    def batch_group(self) -> int:
        return self.options.mbstd_group

    def optimizer_settings(self, network: str, lr: float, betas: tuple[float, float]
                           ) -> tuple[float, tuple[float, float]]:
        """Lazy regularisation (Karras et al. 2020, Appendix B): a regulariser every k steps adds one step's
        worth of updates per k, so lr *= c and betas **= c with c = k / (k + 1); only when it is enabled."""
        o = self.options
        k = {"generator": o.pl_interval if o.pl_weight > 0 else None,
             "discriminator": o.r1_interval if o.r1_gamma > 0 else None}[network]
        if k is None:
            return lr, betas
        c = k / (k + 1)
        return lr * c, (betas[0] ** c, betas[1] ** c)

    def _ws(self, n: int, device: torch.device, track: bool = False) -> torch.Tensor:
        """Training styles: one w per sample, replaced from a random layer on by a second w (style mixing).
        ``track``: update the average w with the first w (once per generator step)."""
        ws = self.generator.styles(parallel.randn(n, self.z_dim, device=device))
        if track:
            self.generator.mapping.track(ws[:, 0], self.options.w_avg_beta)
        if self.options.style_mixing_prob > 0 and torch.rand(()).item() < self.options.style_mixing_prob:
            cutoff = int(torch.randint(1, ws.shape[1], ()).item())
            ws2 = self.generator.styles(parallel.randn(n, self.z_dim, device=device))
            ws = torch.cat([ws[:, :cutoff], ws2[:, cutoff:]], dim=1)
        return ws

    def discriminator_loss(self, real: torch.Tensor, cond: torch.Tensor | None, step: int
                           ) -> tuple[torch.Tensor, dict[str, float]]:
        with torch.no_grad():
            fake = self.generator.synthesis(self._ws(real.shape[0], real.device))
        fake_logits = self.discriminator(self.augment(fake))
        stats: dict[str, float] = {}
        if self.options.r1_gamma > 0 and step % self.options.r1_interval == 0:
            real_logits, r1 = r1_penalty(lambda x: self.discriminator(self.augment(x)), real)
            reg = r1.mean() * (self.options.r1_gamma / 2 * self.options.r1_interval)
            stats["r1"] = float(r1.detach().mean())
        else:
            real_logits, reg = self.discriminator(self.augment(real)), real.new_zeros(())
        loss = F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean() + reg
        stats.update(d_real=float(real_logits.detach().mean()), d_fake=float(fake_logits.detach().mean()))
        return loss, stats

    def generator_loss(self, real: torch.Tensor, cond: torch.Tensor | None, step: int
                       ) -> tuple[torch.Tensor, dict[str, float]]:
        n = real.shape[0]
        self.images_seen += parallel.global_batch(n)
        self._batch = parallel.global_batch(n)
        fake_logits = self.discriminator(self.augment(self.generator.synthesis(self._ws(n, real.device, track=True))))
        loss = F.softplus(-fake_logits).mean()
        stats = {"d_fake_g": float(fake_logits.detach().mean())}
        if self.options.pl_weight > 0 and step % self.options.pl_interval == 0:
            penalty, length = self._path_length(max(1, n // self.options.pl_batch_shrink), real.device)
            loss = loss + penalty * (self.options.pl_weight * self.options.pl_interval)
            stats["pl_length"] = length
        return loss, stats

    def _path_length(self, n: int, device: torch.device) -> tuple[torch.Tensor, float]:
        """Penalty (|J_w^T y| - a)^2 with y random image-space noise and a the running mean length."""
        ws = self._ws(n, device)
        img = self.generator.synthesis(ws)
        noise = parallel.randn_like(img) / math.sqrt(img.shape[2] * img.shape[3])
        (grad,) = torch.autograd.grad((img * noise).sum(), ws, create_graph=True)
        lengths = grad.square().sum(dim=2).mean(dim=1).sqrt()
        with torch.no_grad():
            self.pl_mean.copy_(self.pl_mean.lerp(parallel.batch_mean(lengths), self.options.pl_decay))
        return (lengths - self.pl_mean).square().mean(), float(lengths.detach().mean())

    @torch.no_grad()
    def after_generator_step(self, step: int) -> None:
        """Move the EMA generator towards the trained one (half-life in images, ramped up early on); buffers
        (the average w) are copied."""
        batch = self._batch
        half_life = self.options.ema_kimg * 1000
        if self.options.ema_rampup > 0:
            half_life = min(half_life, int(self.images_seen) * self.options.ema_rampup)
        beta = 0.5 ** (batch / max(half_life, 1e-8))
        for p_ema, p in zip(self.generator_ema.parameters(), self.generator.parameters()):
            p_ema.copy_(p.detach().lerp(p_ema, beta))
        for b_ema, b in zip(self.generator_ema.buffers(), self.generator.buffers()):
            b_ema.copy_(b)

    @torch.no_grad()
    def generate(self, n: int, cond: torch.Tensor | None = None, generator: torch.Generator | None = None
                 ) -> torch.Tensor:
        device = self._device()
        z = torch.randn(n, self.z_dim, generator=generator,
                        device=generator.device if generator is not None else device).to(device)
        return self.generator_ema(z, noise_gen=generator, psi=self.options.truncation_psi)

    def _device(self) -> torch.device:
        return self.generator_ema.synthesis.const.device
