"""``medgan data ...``: list datasets, verify a downloaded copy, prepare (and cache) a dataset."""

from __future__ import annotations

import argparse

from medgan_lib.config import ConfigError
from medgan_lib.data.dataset import DatasetError
from medgan_lib.data.views import VIEWS, view_note
from medgan_lib.registry import UnknownNameError


def register(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser("data", help="datasets: list, verify a download, prepare")
    commands = data.add_subparsers(dest="command", required=True)

    listing = commands.add_parser("list", help="every dataset name (phantoms, manifests, folder)")
    listing.set_defaults(func=_list)

    card = commands.add_parser("describe", help="what a dataset is: source, licence, labels, splits (paper's or ours)")
    card.add_argument("name")
    card.set_defaults(func=_describe)

    check = commands.add_parser("verify", help="check a downloaded copy against its manifest; lock its hashes")
    check.add_argument("name", help="dataset with a manifest (acdc, sliver07, idrid, chest_xray, mura_elbow)")
    check.add_argument("--root", required=True, help="folder holding the downloaded data")
    check.add_argument("--update-lock", action="store_true", help="accept changed files and rewrite the lock file")
    check.set_defaults(func=_verify)

    prep = commands.add_parser("prepare", help="build (or find in the cache) a prepared dataset")
    prep.add_argument("name", nargs="?", default="cardiac_phantom")
    prep.add_argument("--root", default=None, help="data folder (real datasets only)")
    prep.add_argument("--resolution", type=int, default=64)
    prep.add_argument("--count", type=int, default=None, help="2-D slices in the whole dataset before splitting")
    prep.add_argument("--seed", type=int, default=0)
    prep.add_argument("--empty-slices", choices=("keep", "drop"), default=None)
    prep.add_argument("--view", choices=VIEWS, default=None,
                      help="keep the films of one view (elbow radiographs: a heuristic, see medgan_lib/data/views.py)")
    prep.set_defaults(func=_prepare)


def _list(args: argparse.Namespace) -> int:
    from medgan_lib.data.sources import DATASETS

    width = max(len(name) for name in DATASETS.names())
    for name in DATASETS.names():
        source = DATASETS[name]
        labels = ", ".join(source.label_names) if source.label_names else "from labels.txt / masks"
        print(f"{name:{width}s} {source.kind:8s} labels: {labels}")
    return 0


def _describe(args: argparse.Namespace) -> int:
    from medgan_lib.data.sources import describe

    try:
        print(describe(args.name))
    except UnknownNameError as err:
        print(f"error: {err}")
        return 2
    return 0


def _verify(args: argparse.Namespace) -> int:
    from medgan_lib.data.verify import verify

    try:
        report = verify(args.name, args.root, update_lock=args.update_lock)
    except (DatasetError, ConfigError, UnknownNameError) as err:
        print(f"error: {err}")
        return 2
    for subset, counts in report.counts.items():
        print(f"{subset}: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    for problem in report.problems:
        print(f"PROBLEM {problem}")
    if report.ok:
        print(f"OK: {args.name} at {report.root} matches its manifest; hashes locked in {report.lock}")
        return 0
    print(f"{len(report.problems)} problem(s); see data_manifest/{args.name}.yaml for the expected layout")
    return 1


def _prepare(args: argparse.Namespace) -> int:
    from medgan_lib.data.spec import DataSpec

    try:
        data = DataSpec(args.name, args.root, args.resolution, args.count, args.seed, args.empty_slices, args.view)
        print(f"{data.label()} (spec {data.hash}); GANs train on: {' + '.join(data.gan_splits)}")
        splits = data.splits(progress=True)
        if data.view:
            print(view_note(splits["train"]))
        for split, ds in splits.items():
            print(f"{split:5s} {len(ds):6d} slices  {len(set(ds.patient_ids.tolist())):5d} patients  "
                  f"images {tuple(ds.images.shape)}  labels {ds.label_names}  hash {ds.meta['hash']}")
    except (DatasetError, ConfigError, UnknownNameError) as err:
        print(f"error: {err}")
        return 2
    return 0
