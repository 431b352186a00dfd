"""Wall time of every step of a study run (default: the quick profile) against its budget, and the total.

    python bench/study_time.py                      # read reports/quick-cardiac_phantom/study.json
    python bench/study_time.py --run [--force]      # run the quick study first (--force: rerun every step)
    python bench/study_time.py --study reports/smoke-cardiac_phantom
    python bench/study_time.py --estimate --profile paper --gpu-memory 16 --gpu-tflops 15.7   # plan GPUs

Times are the runner's record (papermill process start to end, kernel start included). Reused steps show
the time of the run that produced them. ``--estimate`` runs nothing of the study: it prints, for each step of
the profile that trains or extracts on a GPU, the memory per GPU, the GPUs a GAN run needs for its batch and the
hours, estimated on this machine (medgan_lib.memory.gpu_plan says how, and what the numbers leave out).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Budgets of the quick profile on this 2-core CPU (seconds per step; training is per GAN run: its 120 s of
# training, QUICK_BUDGET_SECONDS, plus kernel start, sampling and figures), 30 min in all with the venv set-up.
BUDGETS = {"01_data_preparation": 30, "02_gan_training": 140, "03_fid_evaluation": 330, "04_unet_dice": 240,
           "05_memory_analysis": 90, "06_hyperparameter_search": 150, "07_visual_turing_test": 30}
TOTAL_BUDGET = 30 * 60


def estimate(profile_name: str, gpu_gib: float, gpu_tflops: float, dataset: str | None = None,
             calibrate_at: int = 256):
    """The GPU plan of a profile's steps (a table: step, what, gpus, memory_gib_per_gpu, hours), from the
    parameters each notebook would receive (its defaults, then the profile's keys, as the runner passes them)."""
    from medgan_lib.gans.base import DataShape
    from medgan_lib.memory.gan_memory import dataset_shape
    from medgan_lib.memory.gpu_plan import (V100_TFLOPS, calibrated_rate, gan_rows,
                                            gan_step_cost, hours, inception_flops_per_image, plan_table,
                                            unet_step_cost)
    from medgan_lib.progress import tqdm
    from medgan_lib.study.profiles import load_profile, notebook_values
    from medgan_lib.training.config import preset

    profile = load_profile(profile_name)
    study = profile.study

    dataset = dataset or notebook_values(profile, "01_data_preparation").get("dataset", "cardiac_phantom")
    train = notebook_values(profile, "02_gan_training")
    resolution = int(train.get("resolution", 64))
    shape = dataset_shape(dataset, resolution)
    print(f"calibrating on StyleGAN2 at {calibrate_at} px (stylegan2-ada-pytorch's V100 speed) ...")
    v100 = calibrated_rate(preset("paper", gan="stylegan2", resolution=calibrate_at),
                           dataset_shape(dataset, calibrate_at))
    rate = v100 * gpu_tflops / V100_TFLOPS
    seeds = len(study.get("seeds", [0]))
    known: dict[str, object] = {}  # a configuration's cost, whatever its iterations (02 and 06 share many)
    # Each cost is counted in a fresh process: a 256 px StyleGAN2's count peaks near 10 GiB of host memory, and
    # the allocator does not hand it back, so eight in one process exhausted 24 GiB.

    def cost_of(config, shape):
        key = json.dumps({**config.to_dict(), "iterations": None, "shape": list(dataclasses.astuple(shape))},
                         sort_keys=True, default=str)
        if key not in known:
            with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
                known[key] = pool.submit(gan_step_cost, config, shape).result()
        return known[key]

    costs = {}
    for gan in tqdm(study.get("gans", []), desc="GAN steps"):
        config = preset(train.get("preset", "paper"), gan=gan, resolution=resolution,
                        **({"iterations": train["iterations"]} if train.get("iterations") else {}))
        costs[gan] = (cost_of(config, shape), config.iterations)
    for gan in study.get("mask_gans", []):
        config = preset(train.get("preset", "paper"), gan=gan, resolution=resolution, channels="masks")
        costs[f"masks-{gan}"] = (cost_of(config, DataShape(0, shape.num_classes, resolution)), config.iterations)
    rows = gan_rows(costs, rate, gpu_gib)
    for row in rows:
        row["what"] += f"; x {seeds} GAN seed(s)" if seeds > 1 else ""

    fid = notebook_values(profile, "03_fid_evaluation")
    images = int(fid.get("n", 10000)) * len(costs) * seeds
    rows.append({"step": "03_fid_evaluation", "what": f"Inception-v3 features of {images} generated images (per "
                 "ImageNet extractor; the real sets add their size)", "gpus": 1,
                 "hours": hours(inception_flops_per_image() * images, rate, 1)})
    dice = notebook_values(profile, "04_unet_dice")
    unet = unet_step_cost(dice.get("unet_size", "paper"), shape.image_channels, shape.num_classes, resolution,
                          int(dice.get("batch_size", 32)))
    unets = (2 + len(costs) - len(study.get("mask_gans", [])) + len(dice.get("mix_gans", []))
             + (1 if study.get("mask_gans") and "spade" in costs else 0)) * int(dice.get("n_seeds", 1))
    iterations = int(dice.get("iterations", 300))
    rows.append({"step": "04_unet_dice", "what": f"{unets} U-Nets x {iterations} steps of batch {unet.batch_size}",
                 "gpus": 1, "memory_gib_per_gpu": unet.memory_gib(1),
                 "hours": hours(unet.flops_per_image * unet.batch_size * iterations * unets, rate, 1)})
    tune = notebook_values(profile, "06_hyperparameter_search")
    trials = int(tune.get("num_trials", 4)) * len(tune.get("tune_seeds", [0]))
    tune_costs = {}
    for gan in tune.get("tune_gans", []):
        config = preset(tune.get("scale", "paper"), gan=gan, resolution=int(tune.get("resolution", resolution)),
                        batch_size=int(tune.get("batch_size", 64)))
        tune_costs[gan] = (cost_of(config, dataset_shape(dataset, config.resolution)),
                           int(tune.get("iterations", config.iterations)) * trials)
    for row in gan_rows(tune_costs, rate, gpu_gib, "06_hyperparameter_search"):
        row["what"] = f"{trials} trials, at most " + row["what"] + " in all (ASHA stops most trials early)"
        rows.append(row)
    return plan_table(rows), rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--study", type=Path, help="study folder (default: reports/<profile>-cardiac_phantom)")
    parser.add_argument("--run", action="store_true", help="run the study first")
    parser.add_argument("--force", action="store_true", help="with --run: rerun every step, even unchanged ones")
    parser.add_argument("--estimate", action="store_true", help="plan the profile on GPUs instead (runs nothing)")
    parser.add_argument("--gpu-memory", type=float, default=16.0, help="GiB per GPU (--estimate)")
    parser.add_argument("--gpu-tflops", type=float, default=15.7, help="peak FP32 TFLOP/s per GPU (--estimate; "
                        "V100 15.7, A100 19.5, H100 SXM 67)")
    parser.add_argument("--calibrate-at", type=int, default=256, choices=(128, 256),
                        help="StyleGAN2 resolution whose published V100 speed calibrates the rate (--estimate)")
    parser.add_argument("--dataset", default=None, help="dataset whose channels and labels the networks get "
                        "(--estimate; default: the profile's)")
    args = parser.parse_args()
    if args.estimate:
        import pandas as pd

        table, rate = estimate(args.profile, args.gpu_memory, args.gpu_tflops, args.dataset, args.calibrate_at)
        print(f"profile {args.profile}: GPUs of {args.gpu_memory:g} GiB and {args.gpu_tflops:g} peak TFLOP/s "
              f"(effective {rate / 1e12:.1f} TFLOP/s on StyleGAN2, calibrated); estimates, not measurements:")
        with pd.option_context("display.width", 200, "display.max_colwidth", 110):
            print(table.to_string(index=False))
        gans = table[table.step.str.startswith("02")]
        print(f"GAN training in all: {gans.hours.sum():.3g} h one run after another, "
              f"{(gans.hours * gans.gpus).sum():.3g} GPU-hours; 01, 05 and 07 take minutes and are not listed")
        return 0
    study = args.study or REPO / "reports" / f"{args.profile}-cardiac_phantom"
    if args.run:
        command = [sys.executable, "-m", "medgan_lib.cli", "study", "run", "--profile", args.profile, "--out", str(study)]
        subprocess.run(command + (["--force"] if args.force else []), cwd=REPO)
    path = study / "study.json"
    if not path.exists():
        print(f"no study record at {path}; run the study first (--run)", file=sys.stderr)
        return 2
    state = json.loads(path.read_text())
    print(f"study {study.name}: profile {state.get('profile')}, started {state.get('started')}")
    print(f"{'step':<36} {'status':<8} {'wall s':>8} {'budget s':>9} {'ratio':>6}")
    total = 0.0
    for name in state["plan"]:
        rec = state["steps"].get(name, {})
        seconds = rec.get("wall_time") or 0.0
        total += seconds
        budget = BUDGETS.get(rec.get("section", name))
        ratio = f"{seconds / budget:.2f}" if budget else ""
        note = " (reused)" if rec.get("cached") else ""
        print(f"{name:<36} {rec.get('status', 'not run'):<8} {seconds:>8.1f} {budget or '':>9} {ratio:>6}{note}")
    print(f"{'sum of steps':<36} {'':<8} {total:>8.1f} {TOTAL_BUDGET:>9} {total / TOTAL_BUDGET:>6.2f}")
    print(f"{'runner wall time (last run)':<36} {'':<8} {state.get('wall_time', 0):>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
