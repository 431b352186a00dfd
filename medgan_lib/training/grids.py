"""Sample grids as PNG: each tile shows the image and, beside it, its mask in colour (a masks-only run's
samples have no image channels: their tiles are the coloured masks alone)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from medgan_lib.atomic import atomic_open

# Label colours: background black, then red, green, blue, yellow, magenta, cyan, ...
PALETTE = np.array([[0, 0, 0], [230, 60, 60], [60, 200, 60], [70, 110, 240], [240, 220, 60], [220, 80, 220],
                    [60, 220, 220], [250, 150, 50]], dtype=np.uint8)


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
        tiles.append(PALETTE[masks % len(PALETTE)])
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
    import torch

    masks = np.asarray(masks, dtype=np.uint8)
    if masks.ndim != 3:
        raise ValueError(f"mask_to_image_grid: masks must be (N, H, W), got shape {masks.shape}")
    rows, h, w = masks.shape
    images = np.stack([gan.sample(styles, np.repeat(masks[i:i + 1], styles, axis=0),
                                  generator=torch.Generator().manual_seed(seed))[0] for i in range(rows)])
    rgb = (images + 1) / 2  # (rows, styles, C, H, W)
    rgb = np.repeat(rgb, 3, axis=2) if rgb.shape[2] == 1 else rgb[:, :, :3]
    coloured = PALETTE[masks % len(PALETTE)].astype(np.float32) / 255.0  # (rows, H, W, 3)
    tiles = np.concatenate([coloured[:, None], rgb.transpose(0, 1, 3, 4, 2)], axis=1)  # (rows, styles+1, H, W, 3)
    return tiles.transpose(0, 2, 1, 3, 4).reshape(rows * h, (styles + 1) * w, 3)
