"""Training one U-Net for a fixed budget (iterations x batch size, whatever the set size), keeping the
weights that score best on the real validation split."""

from __future__ import annotations

import copy
import dataclasses
import time
from typing import Literal

import numpy as np
import segmentation_models_pytorch as smp
import torch
import torch.nn.functional as F

from medgan_lib.data.dataset import PreparedDataset
from medgan_lib.progress import tqdm
from medgan_lib.runtime import autocast, precision, seed_everything, select_device
from medgan_lib.segmentation.data import augment
from medgan_lib.segmentation.metrics import dice_per_patient, summarize
from medgan_lib.segmentation.unet import build_unet, predict


@dataclasses.dataclass
class SegConfig:
    """The budget and optimiser, identical for every condition of one study."""

    size: Literal["quick", "small", "paper"] = "quick"  # U-Net size (see unet.SIZES)
    iterations: int = 300  # optimiser steps (the same for every condition)
    batch_size: int = 16  # images per step
    lr: float = 3e-3  # Adam learning rate (cosine-decayed to 0)
    val_every: int = 50  # validation (model selection) interval, in steps
    n_synthetic: int = 2000  # synthetic samples drawn per GAN run (the paper: 10,000)
    device: str = "auto"
    amp: bool = False  # mixed-precision training steps on CUDA (bf16 where supported, else fp16 + scaler); CPU: off
    channels_last: bool = False  # channels-last model and batches on CUDA (CPU: off)

    def key(self) -> dict:
        """The fields that decide what a U-Net learns, for result keys: not the device or the memory format, and
        ``amp`` only when on (rows computed before it existed keep their key)."""
        out = {k: v for k, v in dataclasses.asdict(self).items() if k not in ("device", "channels_last", "amp")}
        return {**out, "amp": True} if self.amp else out


def train_unet(images: np.ndarray, masks: np.ndarray, val: PreparedDataset, config: SegConfig, seed: int,
               augmented: bool = False, progress: bool = False) -> tuple[torch.nn.Module, dict]:
    """Train on (images, masks); return the best-on-validation model and a history dict."""
    if len(images) == 0:
        raise ValueError("train_unet: the training set is empty")
    if config.iterations < 1 or config.batch_size < 1 or config.val_every < 1:
        raise ValueError(f"train_unet: iterations, batch_size and val_every must be >= 1, got {config}")
    device = select_device(config.device)
    arithmetic = precision(config.amp, device)
    memory_format = torch.channels_last if config.channels_last and device.type == "cuda" else torch.preserve_format
    seed_everything(seed)
    model = build_unet(images.shape[1], val.num_classes, config.size).to(device, memory_format=memory_format)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    scaler = torch.amp.GradScaler("cuda", enabled=arithmetic == "fp16")
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, config.iterations)
    dice_loss = smp.losses.DiceLoss(mode="multiclass", from_logits=True)
    generator = torch.Generator().manual_seed(seed)
    x_all, y_all = torch.from_numpy(images), torch.from_numpy(masks.astype(np.int64))
    best = {"dice": -1.0, "iteration": 0, "state": None}
    history: dict = {"iteration": [], "loss": [], "val_dice": []}
    start = time.perf_counter()
    for step in tqdm(range(1, config.iterations + 1), disable=not progress, desc="U-Net", leave=False):
        index = torch.randint(len(x_all), (config.batch_size,), generator=generator)
        x, y = x_all[index], y_all[index]
        if augmented:
            x, y = augment(x, y, generator)
        x, y = x.to(device).contiguous(memory_format=memory_format), y.to(device)
        with autocast(arithmetic):
            logits = model(x)
            loss = F.cross_entropy(logits, y) + dice_loss(logits, y)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        schedule.step()
        if step % config.val_every == 0 or step == config.iterations:
            score = evaluate(model, val)["dice"]
            history["iteration"].append(step)
            history["loss"].append(loss.item())
            history["val_dice"].append(score)
            if score > best["dice"]:
                best = {"dice": score, "iteration": step, "state": copy.deepcopy(model.state_dict())}
    model.load_state_dict(best["state"])
    history.update(best_iteration=best["iteration"], best_val_dice=best["dice"],
                   train_seconds=time.perf_counter() - start, precision=arithmetic,
                   channels_last=memory_format is torch.channels_last)
    return model.eval(), history


def evaluate(model: torch.nn.Module, data: PreparedDataset) -> dict:
    """Per-structure and mean Dice (per patient, see metrics) of the model on a real split, plus the
    per-patient values."""
    pred = predict(model, data.images)
    patients, dice = dice_per_patient(pred, data.masks, data.num_classes, data.patient_ids)
    return {**summarize(dice, data.label_names[1:]), "patients": patients.tolist(), "per_patient": dice.tolist()}
