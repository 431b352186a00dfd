"""``medgan study run|list|report``: run the section notebooks into rendered reports, list studies, re-render."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from medgan_lib.atomic import NoSpaceError
from medgan_lib.locks import Locked
from medgan_lib.study.profiles import NOTEBOOKS_DIR, PROFILES_DIR, REPO, ProfileError, apply_overrides, load_profile

REPORTS_DIR = REPO / "reports"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("study", help="run the whole study (all section notebooks) into reports/")
    commands = parser.add_subparsers(dest="study_command", required=True)

    run = commands.add_parser("run", help="execute the section notebooks with papermill and render the reports")
    profiles = ", ".join(sorted(p.stem for p in PROFILES_DIR.glob("*.yaml")))
    run.add_argument("--profile", default="quick", help=f"notebooks/params/<profile>.yaml: {profiles}")
    run.add_argument("--dataset", help="dataset name (default: the profile's, cardiac_phantom)")
    run.add_argument("--root", help="folder of a downloaded real dataset")
    run.add_argument("--gans", nargs="+", metavar="GAN", help="GANs to train and evaluate (default: the profile's)")
    run.add_argument("--seeds", nargs="+", type=int, metavar="SEED", help="GAN training seeds (one run per GAN and seed)")
    run.add_argument("--out", type=Path, help="study folder (default: reports/<profile>-<dataset>)")
    run.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"),
                     help="override a parameter: KEY (all notebooks declaring it) or NOTEBOOK.KEY; VALUE is YAML")
    run.add_argument("--force", action="store_true", help="rerun every step (of --sections) even if its inputs are "
                                                          "unchanged")
    run.add_argument("--sections", nargs="+", metavar="SECTION", default=(),
                     help="run only these sections (03 or 03_fid_evaluation); every other step keeps its last result")
    run.add_argument("--dry-run", action="store_true",
                     help="list which steps would run or be reused, and why, without running anything")
    run.add_argument("--wait", action="store_true",
                     help="if another runner is using the study folder, wait for it instead of refusing")
    run.add_argument("--workers", type=int, help="steps run in parallel (default: the profile's)")
    run.add_argument("--ray-address", metavar="HOST:PORT",
                     help="run each step as a Ray task on this cluster ('auto': the running one, 'local': start one "
                          "here); the study folder must be shared storage (default: the profile's study.ray_address; "
                          "none: local threads)")
    run.add_argument("--notebooks", type=Path, default=NOTEBOOKS_DIR,
                     help="folder of the section notebooks; profiles are read from its params/")
    run.set_defaults(func=_run)

    lister = commands.add_parser("list", help="list the studies under reports/ with their status")
    lister.add_argument("--reports", type=Path, default=REPORTS_DIR)
    lister.set_defaults(func=_list)

    report = commands.add_parser("report", help="re-render index.html of a study without running anything")
    report.add_argument("study", nargs="*", help="study folder or name under reports/ (default: every study)")
    report.add_argument("--reports", type=Path, default=REPORTS_DIR)
    report.set_defaults(func=_report)

    findings = commands.add_parser("findings", help="print the papers' findings with the verdicts this study's "
                                                    "results give (the index's findings table)")
    findings.add_argument("study", help="study folder or name under reports/")
    findings.add_argument("--reports", type=Path, default=REPORTS_DIR)
    findings.set_defaults(func=_findings)


def _run(args: argparse.Namespace) -> int:
    from medgan_lib.study.executors import SharedStorageError
    from medgan_lib.study.runner import KernelUnreachable, dry_run, run_study

    signal.signal(signal.SIGTERM, _terminate)  # like Ctrl-C: stop the notebooks, keep the finished steps
    try:
        profile = load_profile(args.profile, args.notebooks / "params")
        profile = apply_overrides(profile, args.param, dataset=args.dataset, root=args.root, gans=args.gans,
                                  seeds=args.seeds, workers=args.workers)
        out = args.out or REPORTS_DIR / f"{profile.name}-{profile.common.get('dataset', 'default')}"
        if args.dry_run:
            return _print_plan(dry_run(profile, out, notebooks_dir=args.notebooks, force=args.force,
                                       only=tuple(args.sections)), out)
        result = run_study(profile, out, notebooks_dir=args.notebooks, force=args.force, wait=args.wait,
                           only=tuple(args.sections), ray_address=args.ray_address)
    except (ProfileError, Locked, KernelUnreachable, SharedStorageError) as err:
        print(f"medgan study run: {err}", file=sys.stderr)
        return 2
    except NoSpaceError as err:  # e.g. the runner's own study.json: the finished steps are kept, the rest is not
        print(f"medgan study run: {err}; free some space and run again (finished steps are reused)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("medgan study run: interrupted; finished steps are kept and reused by the next run", file=sys.stderr)
        return 130
    return 0 if result.ok else 1


def _print_plan(plan: list[tuple[str, str, str]], out: Path) -> int:
    print(f"dry run for {out} (nothing is run or written):")
    width = max(len(name) for name, _, _ in plan)
    for name, action, reason in plan:
        print(f"  {action:<8} {name:<{width}}  {reason}")
    counts = {a: sum(1 for _, action, _ in plan if action == a) for a in ("run", "reuse", "keep", "blocked", "missing")}
    print("  " + ", ".join(f"{n} {a}" for a, n in counts.items() if n))
    return 0


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _list(args: argparse.Namespace) -> int:
    from medgan_lib.study.report import list_studies

    studies = list_studies(args.reports)
    if not studies:
        print(f"no studies under {args.reports}")
        return 0
    print(f"{'study':<32} {'profile':<8} {'dataset':<18} {'status':<14} {'wall time':>9}  steps")
    for s in studies:
        steps = ", ".join(f"{n} {k}" for k, n in s["steps"].items())
        print(f"{s['name']:<32} {s['profile'] or '?':<8} {s['dataset'] or '?':<18} {s['status']:<14} "
              f"{(s['wall_time'] or 0):>8.0f}s  {steps}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from medgan_lib.study.report import write_index

    folders = [Path(s) if Path(s).is_dir() else args.reports / s for s in args.study] or \
        sorted(p.parent for p in Path(args.reports).glob("*/study.json"))
    status = 0
    for folder in folders:
        if not (folder / "study.json").exists():
            print(f"medgan study report: {folder} is not a study folder (no study.json)", file=sys.stderr)
            status = 2
            continue
        print(f"wrote {write_index(folder)}")
    return status


def _findings(args: argparse.Namespace) -> int:
    from medgan_lib.study.findings import evaluate_findings
    from medgan_lib.study.report import study_results
    from medgan_lib.study.runner import load_state

    folder = Path(args.study) if Path(args.study).is_dir() else args.reports / args.study
    if not (folder / "study.json").exists():
        print(f"medgan study findings: {folder} is not a study folder (no study.json)", file=sys.stderr)
        return 2
    dataset = load_state(folder).get("common", {}).get("dataset", "cardiac_phantom")
    table = evaluate_findings(study_results(folder), dataset)
    for row in table.to_dict("records"):
        print(f"[{row['verdict']}] {row['paper']} {row['section']}: {row['claim']}\n    ours: {row['ours']} "
              f"(n: {row['n']})" + (f"\n    {row['detail']}" if row["detail"] else ""))
    return 0
