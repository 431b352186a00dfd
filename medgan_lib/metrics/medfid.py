"""MedFID (chetty2023 Appendix A): Inception-v3 + four 2048-wide dense layers, trained to classify medical images.

Architecture (chetty Table 4): the standard FID Inception-v3 (pool3, 2048 features), four Dense(2048) +
ReLU layers, Dropout(0.2), a softmax classifier; the output of the fourth dense layer is the feature
vector used in the Frechet distance.

Training follows chetty's two stages. First stage (always): RMSprop (lr 1e-4), cross-entropy, backbone
frozen; the head is trained on cached Inception pool3 features, and MedFID features of any image set are
the head applied to its cached pool3 features (no second Inception pass). Second stage (optional,
``finetune_blocks`` > 0; chetty: the top two blocks, here mixed_9 and mixed_10 = Keras mixed9/mixed10 =
torchvision Mixed_7b/Mixed_7c, for 20 epochs): those blocks are unfrozen and trained with the head at a
low learning rate. The input of the unfrozen blocks does not change, so the activations *below* them are
cached (the "inception trunk" extractor, same torch-fidelity preprocessing) and all training epochs run
only the top blocks and the head on them. Feature extraction with a fine-tuned checkpoint streams each
image set once through trunk, blocks and head (one Inception-depth pass, as for the standard FID) and
caches the 2048-d MedFID features. Batch-norm statistics stay those of the standard network (the
TorchScript graph applies them in inference mode); the blocks' convolution weights and batch-norm
offsets are trained. The checkpoint then holds the fine-tuned blocks, their SHA-256 and the stage
settings, and its own SHA-256 is the extractor's weights hash in every result row.

Labelled task: on the default data, which phantom an image comes from (cardiac MRI, liver CT, retina
fundus, chest X-ray, elbow X-ray: modality/anatomy classes); on real data, the MURA-v1.1 body part
(``data="mura"``, ``mura_root``; chetty used MURA and LERA), or any images and labels via ``fit_medfid``.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np
import torch
from torch import nn

from medgan_lib.atomic import ArtefactError, torch_load, torch_save
from medgan_lib.data.mura import MURA_PARTS, mura_parts, mura_training_set
from medgan_lib.hashing import hash_inputs, sha256_file
from medgan_lib.metrics.extractors import (Extractor, FEATURE_EXTRACTORS, OneLayerExtractor,
                                           get_extractor, register_with_torch_fidelity)
from medgan_lib.metrics.features import extract_features, images_hash, to_uint8_rgb
from medgan_lib.metrics.inception import (INCEPTION_CPU_BATCH, WeightsError, inception_trunk_extractor, load_inception,
                                          preprocess_like_torch_fidelity, split_inception)
from medgan_lib.metrics.unet_features import module_sha256
from medgan_lib.paths import cache_dir
from medgan_lib.progress import tqdm
from medgan_lib.runtime import select_device

TF_NAME = "medgan-medfid"
PHANTOMS = ("cardiac_phantom", "liver_phantom", "retina_phantom", "chest_phantom", "elbow_phantom")


@dataclasses.dataclass
class MedFIDConfig:
    """Training of the MedFID head; chetty's values in comments."""

    datasets: tuple[str, ...] = PHANTOMS  # one class per dataset (modality/anatomy)
    per_class: int = 40  # training images per class (chetty: 400)
    resolution: int = 64  # resolution the datasets are prepared at
    epochs: int = 30  # chetty: 50
    batch_size: int = 32
    lr: float = 1e-4  # RMSprop learning rate (chetty: 1e-4)
    width: int = 2048  # dense layer width (chetty: 2048)
    dropout: float = 0.2  # chetty: 0.2
    test_per_class: int | None = None  # held-out images per class for the accuracy (chetty: 100; None: per_class // 4)
    seed: int = 0
    inception_weights: str | None = None  # None: the standard FID network
    finetune_blocks: int = 0  # second stage: top Inception blocks trained with the head (chetty: 2); 0: head only
    finetune_epochs: int = 20  # second-stage epochs (chetty: 20)
    finetune_lr: float = 1e-5  # second-stage RMSprop learning rate (chetty: "fine-tuned", value not given)
    data: Literal["phantoms", "mura"] = "phantoms"  # train_medfid's labelled set: phantom kinds or MURA body parts
    mura_root: str = ""  # the MURA-v1.1 folder (train/, valid/) when data="mura"
    mura_parts: tuple[str, ...] = MURA_PARTS  # MURA body parts, one class each (chetty: all seven, plus LERA)

    def __post_init__(self) -> None:
        if self.data not in ("phantoms", "mura"):
            raise ValueError(f"MedFIDConfig.data must be 'phantoms' or 'mura', got {self.data!r}")
        if self.data == "mura" and not self.mura_root:
            raise ValueError("MedFIDConfig.data='mura' needs mura_root= (the MURA-v1.1 folder holding train/ "
                             "and valid/)")
        if not 0 <= self.finetune_blocks <= 11:
            raise ValueError(f"MedFIDConfig.finetune_blocks must be in 0..11 (Inception-v3 has 11 blocks), "
                             f"got {self.finetune_blocks}")
        self.mura_parts = mura_parts(self.mura_parts)
        if self.per_class < 1 or (self.test_per_class is not None and self.test_per_class < 0):
            raise ValueError(f"MedFIDConfig: per_class must be >= 1 and test_per_class >= 0, got {self.per_class} "
                             f"and {self.test_per_class}")

    @property
    def held_out(self) -> int:
        """Held-out images per class: ``test_per_class``, by default chetty's 400 : 100 ratio."""
        return self.per_class // 4 if self.test_per_class is None else self.test_per_class


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
    """Train the head (and with ``finetune_blocks`` the top Inception blocks) on (images, integer labels), save
    the extractor under ``cache_dir()/medfid/`` and return its path; an identical earlier training (same
    pixels, labels and config) is reused, unless its file cannot be read (then it is trained again, with a warning)."""
    images_u8 = to_uint8_rgb(images)
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) != len(images_u8) or labels.min() < 0 or labels.max() >= len(class_names):
        raise ValueError(f"labels must be {len(images_u8)} integers in [0, {len(class_names)})")
    inception = get_extractor("inception", weights_path=config.inception_weights)
    path = cache_dir() / "medfid" / (hash_inputs(images_hash(images_u8), labels.tolist(), class_names,
                                                  dataclasses.asdict(config), inception.weights_sha256) + ".pt")
    if path.is_file():
        try:
            load_medfid(path)
            return path
        except ArtefactError as err:
            warnings.warn(f"{err}; training the MedFID extractor again")
    target = torch.from_numpy(labels)
    gen = torch.Generator().manual_seed(config.seed)
    order = torch.randperm(len(images_u8), generator=gen)
    test, train = _split_per_class(labels[order.numpy()], order, config.held_out)
    if config.finetune_blocks:
        trunk = inception_trunk_extractor(config.finetune_blocks, config.inception_weights,
                                          None if config.inception_weights is None else inception.weights_sha256)
        acts = torch.from_numpy(extract_features(images_u8, trunk, device=device, progress=progress))
        net, _ = load_inception(config.inception_weights, inception.weights_sha256, optimize=False)
        _, top, block_names = split_inception(net, config.finetune_blocks)
        dev = select_device(device)
        top.to(dev).requires_grad_(False)
        pool = _batched(top, acts, dev)  # = pool3 of the standard network (the same blocks, unchanged yet)
    else:
        pool = torch.from_numpy(extract_features(images_u8, inception, device=device, progress=progress))
    torch.manual_seed(config.seed)  # after extraction: torch-fidelity's DataLoader draws from the global RNG
    head = MedFIDHead(len(class_names), config.width, config.dropout, in_features=pool.shape[1])
    _train(head, head.parameters(), pool, target, train, config.epochs, config.lr, config.batch_size, gen,
           torch.device("cpu"), "MedFID head", progress)
    accuracy = _accuracy(head, pool, target, train, test, torch.device("cpu"))
    record = {"head": head.state_dict(), "classes": list(class_names), "width": config.width,
              "in_features": int(pool.shape[1]), "dropout": config.dropout,
              "inception_sha256": inception.weights_sha256,
              "inception_weights": config.inception_weights, "config": dataclasses.asdict(config),
              "accuracy": accuracy, "n": len(pool), "n_train": len(train), "n_test": len(test), "finetune": None,
              "head_sha256": module_sha256(head)}
    if config.finetune_blocks:
        trainable = [p for name, p in top.named_parameters() if name.endswith((".weight", ".beta"))]
        for param in trainable:
            param.requires_grad_(True)
        head.to(dev)
        model = nn.Sequential(top, head)
        _train(model, trainable + list(head.parameters()), acts, target, train, config.finetune_epochs,
               config.finetune_lr, config.batch_size, gen, dev, "MedFID fine-tuning", progress)
        model.requires_grad_(False)
        top.cpu()
        record.update(head=head.cpu().state_dict(), head_sha256=module_sha256(head), top_blocks=top.state_dict(),
                      accuracy=_accuracy(model, acts, target, train, test, torch.device("cpu")),
                      finetune={"blocks": list(block_names), "epochs": config.finetune_epochs,
                                "lr": config.finetune_lr, "weights_sha256": module_sha256(top),
                                "accuracy_head_only": accuracy,
                                "trainable_parameters": sum(p.numel() for p in trainable)})
    torch_save(path, record)
    return path


def _split_per_class(shuffled_labels: np.ndarray, order: torch.Tensor, held_out: int
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """(test, train) indices: the first ``held_out`` of each class in the shuffled ``order`` are held out (at most
    half of a class), as chetty's 100 test images per class beside 400 for training."""
    test = []
    for label in np.unique(shuffled_labels):
        of_class = order[torch.from_numpy(np.flatnonzero(shuffled_labels == label))]
        test.append(of_class[:min(held_out, len(of_class) // 2)])
    test_idx = torch.cat(test)
    keep = ~torch.isin(order, test_idx)
    return test_idx, order[keep]


def _train(model: nn.Module, params: Any, inputs: torch.Tensor, target: torch.Tensor, train: torch.Tensor,
           epochs: int, lr: float, batch_size: int, gen: torch.Generator, device: torch.device, desc: str,
           progress: bool) -> None:
    """RMSprop + cross-entropy over shuffled mini-batches of ``inputs[train]`` (chetty's optimiser)."""
    opt = torch.optim.RMSprop(params, lr=lr)
    for _ in tqdm(range(epochs), desc=desc, disable=not progress, leave=False):
        model.train()
        for batch in train[torch.randperm(len(train), generator=gen)].split(batch_size):
            loss = nn.functional.cross_entropy(model(inputs[batch].to(device)), target[batch].to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()


def _batched(fn: Callable[[torch.Tensor], torch.Tensor], inputs: torch.Tensor, device: torch.device,
             batch_size: int = 64) -> torch.Tensor:
    """``fn`` over ``inputs`` in batches without gradients, on ``device``; the result on the CPU."""
    with torch.no_grad():
        return torch.cat([fn(chunk.to(device)).cpu() for chunk in inputs.split(batch_size)])


def _accuracy(model: nn.Module, inputs: torch.Tensor, target: torch.Tensor, train: torch.Tensor, test: torch.Tensor,
              device: torch.device) -> dict[str, float | None]:
    """Classification accuracy on the train and held-out indices (None for an empty set)."""
    model.eval()
    return {name: float((_batched(model, inputs[idx], device).argmax(1) == target[idx]).float().mean())
            if len(idx) else None for name, idx in (("train", train), ("test", test))}


def phantom_training_set(config: MedFIDConfig) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """(uint8 RGB images, labels, class names): ``per_class`` + ``held_out`` train-split images of each dataset."""
    from medgan_lib.data import prepare

    images, labels = [], []
    rng = np.random.default_rng(config.seed)
    for label, name in enumerate(config.datasets):
        data = prepare(name, "train", config.resolution)
        wanted = config.per_class + config.held_out
        take = np.sort(rng.choice(len(data), min(wanted, len(data)), replace=False))
        images.append(to_uint8_rgb(data.images[take]))
        labels.append(np.full(len(take), label))
    return np.concatenate(images), np.concatenate(labels), tuple(config.datasets)


def train_medfid(config: MedFIDConfig | None = None, device: str = "auto", progress: bool = True) -> Path:
    """Train (or reuse) the MedFID extractor on ``config.data``: the phantoms of ``config.datasets`` (default: all
    five) or the MURA body parts ``config.mura_parts`` under ``config.mura_root``."""
    config = config or MedFIDConfig()
    if config.data == "mura":
        images, labels, classes = mura_training_set(config.mura_root, config.mura_parts, config.per_class + config.held_out,
                                                    config.resolution, config.seed, progress)
    else:
        images, labels, classes = phantom_training_set(config)
    return fit_medfid(images, labels, classes, config, device, progress)


def load_medfid(path: str | os.PathLike) -> tuple[MedFIDHead, dict[str, Any]]:
    """The trained head (eval mode) and its checkpoint record (classes, accuracy, config, fine-tuning), read as
    tensors and plain values only (never code); a head whose weights differ from the SHA-256 recorded when it
    was trained (a flipped bit the zip format does not notice) is refused."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"MedFID checkpoint {path} does not exist; train one with train_medfid()")
    record = torch_load(path, "MedFID checkpoint", ("head", "classes", "width", "dropout", "in_features"))
    head = MedFIDHead(len(record["classes"]), record["width"], record["dropout"], record["in_features"])
    head.load_state_dict(record["head"])
    if "head_sha256" in record and module_sha256(head) != record["head_sha256"]:
        raise ArtefactError(f"MedFID checkpoint {path} is damaged: its head's weights do not match the SHA-256 "
                            f"recorded when it was trained ({record['head_sha256'][:12]}…)")
    return head.eval().requires_grad_(False), record


def load_finetuned_inception(record: dict[str, Any]) -> tuple[nn.Module, nn.Module]:
    """(trunk, fine-tuned top blocks) of a fine-tuned MedFID checkpoint record, hash-checked, eval mode."""
    finetune = record["finetune"]
    net, _ = load_inception(record["inception_weights"], record["inception_sha256"], optimize=False)
    trunk, top, _ = split_inception(net, len(finetune["blocks"]))
    top.load_state_dict(record["top_blocks"])
    if module_sha256(top) != finetune["weights_sha256"]:
        raise WeightsError(f"fine-tuned MedFID blocks {finetune['blocks']} do not match their recorded SHA-256 "
                           f"{finetune['weights_sha256']}; the checkpoint is damaged")
    return trunk.eval().requires_grad_(False), top.eval().requires_grad_(False)


class MedFIDFeatures(OneLayerExtractor):
    """torch-fidelity extractor: standard Inception-v3 (pool3, or with fine-tuned top blocks) -> trained MedFID
    dense layers ('medfid')."""

    LAYER = "medfid"

    def __init__(self, name, features_list, medfid_checkpoint=None, feature_device="cpu", **kwargs):
        super().__init__(name, features_list)
        self.head, record = load_medfid(medfid_checkpoint)
        if record.get("finetune"):
            trunk, top = load_finetuned_inception(record)
            self.net = nn.Sequential(trunk, top)
        else:
            self.net, _ = load_inception(record["inception_weights"], record["inception_sha256"], device=feature_device)

    def forward(self, x):
        x = preprocess_like_torch_fidelity(x).contiguous(memory_format=torch.channels_last)
        return (self.head.features(self.net(x)),)


register_with_torch_fidelity(TF_NAME, MedFIDFeatures)


@FEATURE_EXTRACTORS.register("medfid")
def medfid_extractor(checkpoint: str | os.PathLike | None = None) -> Extractor:
    """MedFID extractor from a checkpoint written by ``fit_medfid``/``train_medfid``. With a frozen backbone its
    features are derived from the cached pool3 features; with fine-tuned blocks each image set streams through
    trunk, blocks and head in batches and only the 2048-d result is cached (caching the trunk activations,
    80 kB floats per image, would take ~32 GB at the paper's 8 x 10,000 samples)."""
    if checkpoint is None:
        raise ValueError("extractor 'medfid' needs checkpoint= (from medgan_lib.metrics.medfid.train_medfid()); "
                         "pass extractor_options={'medfid': {'checkpoint': path}}")
    head, record = load_medfid(checkpoint)
    identity = ("medfid", TF_NAME, "medfid", sha256_file(checkpoint), {"medfid_checkpoint": str(checkpoint)})
    if record.get("finetune"):
        return Extractor(*identity, cpu_batch_size=INCEPTION_CPU_BATCH)
    weights = record["inception_weights"]
    base = get_extractor("inception", weights_path=weights,
                         weights_sha256=None if weights is None else record["inception_sha256"])

    def derive(pool: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return head.features(torch.from_numpy(pool)).numpy()

    return Extractor(*identity, derive=(base, derive))
