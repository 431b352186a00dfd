"""Wall time of every step of a study run (default: the quick profile) against its budget, and the total.

    python bench/study_time.py                      # read reports/quick-cardiac_phantom/study.json
    python bench/study_time.py --run [--force]      # run the quick study first (--force: rerun every step)
    python bench/study_time.py --study reports/smoke-cardiac_phantom

Times are the runner's record (papermill process start to end, kernel start included). Reused steps show
the time of the run that produced them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Budgets of the quick profile on this 2-core CPU (seconds per step; training is per GAN run: its 120 s of
# training, QUICK_BUDGET_SECONDS, plus kernel start, sampling and figures), 30 min in all with the venv set-up.
BUDGETS = {"01_data_preparation": 30, "02_gan_training": 140, "03_fid_evaluation": 330, "04_unet_dice": 240,
           "05_memory_analysis": 90, "06_hyperparameter_search": 150, "07_visual_turing_test": 30}
TOTAL_BUDGET = 30 * 60


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--study", type=Path, help="study folder (default: reports/<profile>-cardiac_phantom)")
    parser.add_argument("--run", action="store_true", help="run the study first")
    parser.add_argument("--force", action="store_true", help="with --run: rerun every step, even unchanged ones")
    args = parser.parse_args()
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
