"""Sample grids: PNGs whose tiles show each image and, beside it, its mask in colour (a masks-only run's samples
have no image channels: their tiles are the coloured masks alone); and the architecture figures built from a
trained GAN: SPADE's mask -> image rows, StyleGAN2's style mixing and truncation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from medgan_lib.atomic import atomic_open
from medgan_lib.colours import colour_masks



def grid_array(images: np.ndarray, masks: np.ndarray | None, columns: int | None = None) -> np.ndarray:
    """(H', W', 3) uint8 grid of ``images`` (N, C, H, W) in [-1, 1], each tile followed by its coloured mask
    (C = 0: the coloured masks alone)."""
    n, c, h, w = images.shape
    if c == 0 and masks is None:
        raise ValueError("grid_array: images without channels need their masks to show")
    columns = columns or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / columns))
    rgb = np.clip(np.rint((images + 1) * 127.5), 0, 255).astype(np.uint8)
    rgb = np.repeat(rgb, 3, axis=1) if c == 1 else rgb[:, :3]
    tiles = [rgb.transpose(0, 2, 3, 1)] if c else []
    if masks is not None:
        tiles.append(colour_masks(masks))
    tiles = np.concatenate(tiles, axis=2)
    tile_w = tiles.shape[2]
    pad = 2
    out = np.full((rows * (h + pad) + pad, columns * (tile_w + pad) + pad, 3), 255, dtype=np.uint8)
    for i in range(n):
        r, col = divmod(i, columns)
        y, x = pad + r * (h + pad), pad + col * (tile_w + pad)
        out[y:y + h, x:x + tile_w] = tiles[i]
    return out


def save_grid(path: str | Path, images: np.ndarray, masks: np.ndarray | None, columns: int | None = None) -> Path:
    """Write the grid PNG atomically."""
    with atomic_open(path, "wb") as handle:
        Image.fromarray(grid_array(images, masks, columns)).save(handle, format="PNG")
    return Path(path)


def mask_to_image_grid(gan, masks: np.ndarray, styles: int = 4, seed: int = 0) -> np.ndarray:
    """(rows*H, (styles+1)*W, 3) float grid in [0, 1] for a mask-conditioned GAN (SPADE): each row is one mask
    (coloured) followed by ``styles`` images generated for it with different latents (the same latents in
    every row, so a column shows one style across masks)."""
    masks = np.asarray(masks, dtype=np.uint8)
    if masks.ndim != 3:
        raise ValueError(f"mask_to_image_grid: masks must be (N, H, W), got shape {masks.shape}")
    rows, h, w = masks.shape
    images = np.stack([gan.sample(styles, np.repeat(masks[i:i + 1], styles, axis=0),
                                  generator=torch.Generator().manual_seed(seed))[0] for i in range(rows)])
    rgb = (images + 1) / 2  # (rows, styles, C, H, W)
    rgb = np.repeat(rgb, 3, axis=2) if rgb.shape[2] == 1 else rgb[:, :, :3]
    coloured = colour_masks(masks).astype(np.float32) / 255.0  # (rows, H, W, 3)
    tiles = np.concatenate([coloured[:, None], rgb.transpose(0, 1, 3, 4, 2)], axis=1)  # (rows, styles+1, H, W, 3)
    return tiles.transpose(0, 2, 1, 3, 4).reshape(rows * h, (styles + 1) * w, 3)

@torch.no_grad()
def style_mixing_grid(gan, rows: int = 4, cols: int = 4, cutoff: int | None = None, seed: int = 0
                      ) -> np.ndarray:
    """Image grid (H*(rows+1), W*(cols+1)) in [0, 1] of the first image channel (RGB if 3 channels).

    Top row: column sources B; left column: row sources A; cell (i, j): A_i's coarse styles (layers below
    ``cutoff``, default: up to 8x8) with B_j's fine styles, all from the EMA generator with fixed noise."""
    g = gan.generator_ema
    device = gan._device()
    gen = torch.Generator().manual_seed(seed)
    za, zb = torch.randn(rows, gan.z_dim, generator=gen), torch.randn(cols, gan.z_dim, generator=gen)
    wa, wb = g.styles(za.to(device)), g.styles(zb.to(device))
    cutoff = 4 if cutoff is None else cutoff
    mixed = torch.cat([wa[:, None, :cutoff].expand(-1, cols, -1, -1), wb[None, :, cutoff:].expand(rows, -1, -1, -1)],
                      dim=2).reshape(rows * cols, g.num_ws, -1)

    def render(ws: torch.Tensor) -> torch.Tensor:
        return g.synthesis(ws, torch.Generator(device=device).manual_seed(seed))

    ch = 3 if gan.shape.image_channels == 3 else 1
    imgs_a, imgs_b, imgs_m = (render(w)[:, :ch] for w in (wa, wb, mixed))
    blank = torch.full_like(imgs_a[:1], -1.0)
    tiles = torch.cat([blank, imgs_b, *[torch.cat([imgs_a[i:i + 1], imgs_m[i * cols:(i + 1) * cols]]) for i in range(rows)]])
    return tile_images(tiles.cpu().numpy(), cols + 1)


@torch.no_grad()
def truncation_grid(gan, psis: tuple[float, ...] = (1.0, 0.7, 0.5, 0.0), rows: int = 4, seed: int = 0
                    ) -> np.ndarray:
    """Image grid (H*rows, W*len(psis)) in [0, 1] of the first image channel (RGB if 3 channels).

    Row i: latent z_i; column j: truncation psi_j (w = w_avg + psi_j * (w_i - w_avg)), from the EMA generator
    with one fixed noise map for every cell, so a psi = 0 column shows the same "average" image in every row."""
    g = gan.generator_ema
    device = gan._device()
    z = torch.randn(rows, gan.z_dim, generator=torch.Generator().manual_seed(seed)).to(device)
    ws = torch.cat([g.styles(z, psi)[:, None] for psi in psis], dim=1).reshape(rows * len(psis), g.num_ws, -1)
    imgs = g.synthesis(ws, torch.Generator(device=device).manual_seed(seed), shared_noise=True)
    ch = 3 if gan.shape.image_channels == 3 else 1
    return tile_images(imgs[:, :ch].cpu().numpy(), len(psis))


def tile_images(images: np.ndarray, cols: int) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] with C in {1, 3} -> (rows*H, cols*W[, 3]) float array in [0, 1] for imshow."""
    n, c, h, w = images.shape
    rows = -(-n // cols)
    padded = np.full((rows * cols, c, h, w), -1.0, dtype=np.float32)
    padded[:n] = images
    grid = padded.reshape(rows, cols, c, h, w).transpose(0, 3, 1, 4, 2).reshape(rows * h, cols * w, c)
    grid = np.clip((grid + 1.0) / 2.0, 0.0, 1.0)
    return grid[..., 0] if c == 1 else grid
