"""MedFID (chetty2023 Appendix A): Inception-v3 + four 2048-wide dense layers, trained to classify medical images.

Architecture (chetty Table 4): the standard FID Inception-v3 (pool3, 2048 features, frozen), four
Dense(2048) + ReLU layers, Dropout(0.2), a softmax classifier; the output of the fourth dense layer is
the feature vector used in the Frechet distance. Training follows chetty's first stage: RMSprop
(lr 1e-4), cross-entropy, backbone frozen. Because the backbone is frozen, the head is trained on
cached Inception features, and MedFID features of any image set are the head applied to its cached
Inception features (no second Inception pass). chetty's optional second stage (unfreezing the top two
Inception blocks) is not done here: it needs a GPU.

Labelled task: on the default data, which phantom an image comes from (cardiac MRI, liver CT, retina
fundus, chest X-ray, elbow X-ray: modality/anatomy classes); on real data, e.g. MURA body parts
(pass the images and labels to ``fit_medfid``).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from medgan_lib.atomic import torch_save
from medgan_lib.hashing import hash_inputs, sha256_file
from medgan_lib.metrics.extractors import (Extractor, FEATURE_EXTRACTORS, OneLayerExtractor,
                                           get_extractor, register_with_torch_fidelity)
from medgan_lib.metrics.features import extract_features, images_hash, to_uint8_rgb
from medgan_lib.metrics.inception import load_inception, preprocess_like_torch_fidelity
from medgan_lib.paths import cache_dir

TF_NAME = "medgan-medfid"
PHANTOMS = ("cardiac_phantom", "liver_phantom", "retina_phantom", "chest_phantom", "elbow_phantom")


@dataclasses.dataclass
class MedFIDConfig:
    """Training of the MedFID head; chetty's values in comments."""

    datasets: tuple[str, ...] = PHANTOMS  # one class per dataset (modality/anatomy)
    per_class: int = 40  # training images per class (chetty: 400 train + 100 test)
    resolution: int = 64  # resolution the datasets are prepared at
    epochs: int = 30  # chetty: 50
    batch_size: int = 32
    lr: float = 1e-4  # RMSprop learning rate (chetty: 1e-4)
    width: int = 2048  # dense layer width (chetty: 2048)
    dropout: float = 0.2  # chetty: 0.2
    test_fraction: float = 0.2  # held out to report accuracy (chetty: 80/20)
    seed: int = 0
    inception_weights: str | None = None  # None: the standard FID network


class MedFIDHead(nn.Module):
    """Four Dense(width)+ReLU layers (the MedFID features), Dropout, and the classifier."""

    def __init__(self, classes: int, width: int = 2048, dropout: float = 0.2, in_features: int = 2048) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(4):
            layers += [nn.Linear(in_features if i == 0 else width, width), nn.ReLU()]
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(width, classes)

    def forward(self, pool: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.features(pool)))


def fit_medfid(images: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...], config: MedFIDConfig,
               device: str = "auto", progress: bool = True) -> Path:
    """Train the head on (images, integer labels), save the extractor under ``cache_dir()/medfid/`` and
    return its path; an identical earlier training (same pixels, labels and config) is reused."""
    images_u8 = to_uint8_rgb(images)
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) != len(images_u8) or labels.min() < 0 or labels.max() >= len(class_names):
        raise ValueError(f"labels must be {len(images_u8)} integers in [0, {len(class_names)})")
    inception = get_extractor("inception", weights_path=config.inception_weights)
    path = cache_dir() / "medfid" / (hash_inputs(images_hash(images_u8), labels.tolist(), class_names,
                                                  dataclasses.asdict(config), inception.weights_sha256) + ".pt")
    if path.is_file():
        return path
    pool = torch.from_numpy(extract_features(images_u8, inception, device=device, progress=progress))
    target = torch.from_numpy(labels)
    gen = torch.Generator().manual_seed(config.seed)
    order = torch.randperm(len(pool), generator=gen)
    n_test = int(round(config.test_fraction * len(pool)))
    test, train = order[:n_test], order[n_test:]
    torch.manual_seed(config.seed)
    head = MedFIDHead(len(class_names), config.width, config.dropout, in_features=pool.shape[1])
    opt = torch.optim.RMSprop(head.parameters(), lr=config.lr)
    for _ in tqdm(range(config.epochs), desc="MedFID head", disable=not progress, leave=False):
        head.train()
        for batch in train[torch.randperm(len(train), generator=gen)].split(config.batch_size):
            loss = nn.functional.cross_entropy(head(pool[batch]), target[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
    head.eval()
    with torch.no_grad():
        accuracy = {name: float((head(pool[idx]).argmax(1) == target[idx]).float().mean()) if len(idx) else None
                    for name, idx in (("train", train), ("test", test))}
    torch_save(path, {"head": head.state_dict(), "classes": list(class_names), "width": config.width,
                      "in_features": int(pool.shape[1]), "dropout": config.dropout, "inception_sha256": inception.weights_sha256,
                      "inception_weights": config.inception_weights, "config": dataclasses.asdict(config),
                      "accuracy": accuracy, "n": len(pool)})
    return path


def phantom_training_set(config: MedFIDConfig) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """(uint8 RGB images, labels, class names): ``per_class`` train-split images of each dataset."""
    from medgan_lib.data import prepare

    images, labels = [], []
    rng = np.random.default_rng(config.seed)
    for label, name in enumerate(config.datasets):
        data = prepare(name, "train", config.resolution)
        take = np.sort(rng.choice(len(data), min(config.per_class, len(data)), replace=False))
        images.append(to_uint8_rgb(data.images[take]))
        labels.append(np.full(len(take), label))
    return np.concatenate(images), np.concatenate(labels), tuple(config.datasets)


def train_medfid(config: MedFIDConfig | None = None, device: str = "auto", progress: bool = True) -> Path:
    """Train (or reuse) the MedFID extractor on the datasets of ``config`` (default: the five phantoms)."""
    config = config or MedFIDConfig()
    images, labels, classes = phantom_training_set(config)
    return fit_medfid(images, labels, classes, config, device, progress)


def load_medfid(path: str | os.PathLike) -> tuple[MedFIDHead, dict[str, Any]]:
    """The trained head (eval mode) and its checkpoint record (classes, accuracy, config)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"MedFID checkpoint {path} does not exist; train one with train_medfid()")
    record = torch.load(path, map_location="cpu", weights_only=False)
    head = MedFIDHead(len(record["classes"]), record["width"], record["dropout"], record["in_features"])
    head.load_state_dict(record["head"])
    return head.eval().requires_grad_(False), record


class MedFIDFeatures(OneLayerExtractor):
    """torch-fidelity extractor: standard Inception-v3 pool3 -> trained MedFID dense layers ('medfid')."""

    LAYER = "medfid"

    def __init__(self, name, features_list, medfid_checkpoint=None, **kwargs):
        super().__init__(name, features_list)
        self.head, record = load_medfid(medfid_checkpoint)
        self.net, _ = load_inception(record["inception_weights"], record["inception_sha256"])

    def forward(self, x):
        return (self.head.features(self.net(preprocess_like_torch_fidelity(x))),)


register_with_torch_fidelity(TF_NAME, MedFIDFeatures)


@FEATURE_EXTRACTORS.register("medfid")
def medfid_extractor(checkpoint: str | os.PathLike | None = None) -> Extractor:
    """MedFID extractor from a checkpoint written by ``fit_medfid``/``train_medfid``; its features are derived
    from the cached Inception features (the backbone is the frozen standard network)."""
    if checkpoint is None:
        raise ValueError("extractor 'medfid' needs checkpoint= (from medgan_lib.metrics.medfid.train_medfid()); "
                         "pass extractor_options={'medfid': {'checkpoint': path}}")
    head, record = load_medfid(checkpoint)
    base = get_extractor("inception", weights_path=record["inception_weights"],
                         weights_sha256=None if record["inception_weights"] is None else record["inception_sha256"])

    def derive(pool: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return head.features(torch.from_numpy(pool)).numpy()

    return Extractor("medfid", TF_NAME, "medfid", sha256_file(checkpoint), {"medfid_checkpoint": str(checkpoint)},
                     derive=(base, derive))
