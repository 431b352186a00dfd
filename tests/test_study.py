"""Study runner on tiny stand-in notebooks: key checks, failures, skip-on-unchanged, rerun-on-change, index."""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import yaml

from medgan_lib.study import ProfileError, apply_overrides, list_studies, load_profile, run_study
from medgan_lib.study.cli import register
from medgan_lib.study.runner import declared_parameters

# A 1x1 PNG, so a stand-in notebook can drop a "figure" without importing matplotlib.
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")

WRITE = """
import json, os, base64
def put(kind, row):
    os.makedirs(os.path.join(study_dir, 'results'), exist_ok=True)
    with open(os.path.join(study_dir, 'results', kind + '.jsonl'), 'a') as f:
        f.write(json.dumps(row) + '\\n')
"""

BODIES = {
    "01_data_preparation": "import sys\nput('data', {'dataset': dataset, 'n': n, 'python': sys.executable})",
    "02_gan_training": ("for gan in gans:\n"
                        "    if gan == 'bad':\n"
                        "        raise RuntimeError('this GAN diverged')\n"
                        "    put('gan_runs', {'gan': gan, 'seed': seed, 'run': f'00000-{gan}-s{seed}'})"),
    "03_fid_evaluation": ("for gan in gans:\n"
                          "    put('fid', {'gan': gan, 'extractor': 'inception', 'fid': 40.0 + n, 'fid_ci_low': 38.0,"
                          " 'fid_ci_high': 45.0, 'kid': 0.02})\n"
                          "    put('fid', {'gan': gan, 'extractor': 'unet', 'fid': 3.5})\n"
                          "os.makedirs(os.path.join(study_dir, 'figures'), exist_ok=True)\n"
                          f"open(os.path.join(study_dir, 'figures', '03_umap.png'), 'wb').write(base64.b64decode('{PNG}'))"),
    "04_unet_dice": "for gan in gans:\n    put('dice', {'gan': gan, 'condition': 'synthetic', 'dice': 0.61, 'dice_std': 0.05})",
    "05_memory_analysis": ("put('memory', {'gan': 'dcgan', 'mb': 12.5 * n})\n"
                           "from IPython.display import Image, display\n"
                           f"display(Image(data=base64.b64decode('{PNG}')))"),
    "06_hyperparameter_search": "put('tune', {'gan': 'dcgan', 'trial': n})",
    "07_visual_turing_test": "put('turing', {'n': n})",
    "08_conditional_and_translation": "put('cas', {'n': n})",
}


def main(argv: list[str]) -> int:
    """``medgan`` with only the study commands (what ``medgan_lib.cli.main`` does for every group)."""
    parser = argparse.ArgumentParser(prog="medgan")
    register(parser.add_subparsers(dest="group", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


def write_notebook(folder: Path, name: str, body: str, gans: bool = True) -> Path:
    nb = nbformat.v4.new_notebook()
    params = ('study_dir: str = ""\ndataset: str = "cardiac_phantom"\nseed: int = 0\ndevice: str = "auto"\n'
              "n: int = 1  # size of everything\n" + ('gans: list = ["dcgan"]\n' if gans else ""))
    cell = nbformat.v4.new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {name}"), cell, nbformat.v4.new_code_cell(WRITE + body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture
def notebooks(tmp_path: Path) -> Path:
    folder = tmp_path / "notebooks"
    (folder / "params").mkdir(parents=True)
    for name, body in BODIES.items():
        write_notebook(folder, name, body, gans=name in ("02_gan_training", "03_fid_evaluation", "04_unet_dice"))
    profile = {"study": {"gans": ["dcgan"], "seeds": [0], "workers": 2},
               "common": {"dataset": "cardiac_phantom", "seed": 0, "device": "cpu"},
               "01_data_preparation": {"n": 2}, "05_memory_analysis": {"n": 3}}
    (folder / "params" / "tiny.yaml").write_text(yaml.safe_dump(profile))
    return folder


def test_unknown_keys_and_bad_types_are_rejected_with_the_notebook_named(notebooks: Path):
    declared = declared_parameters(notebooks)
    assert set(declared["02_gan_training"]) == {"study_dir", "dataset", "seed", "device", "n", "gans"}
    profile = load_profile("tiny", notebooks / "params")
    bad = apply_overrides(profile, [("03_fid_evaluation.num_sampels", "10")])
    with pytest.raises(ProfileError, match="notebook '03_fid_evaluation' has no parameter 'num_sampels'"):
        run_study(bad, notebooks.parent / "out", notebooks_dir=notebooks)
    with pytest.raises(ProfileError, match="common key 'resolution' is declared by no notebook"):
        run_study(apply_overrides(profile, [("resolution", "64")]), notebooks.parent / "out", notebooks_dir=notebooks)
    with pytest.raises(ProfileError, match=r"05_memory_analysis.n: expected int, got 'many'"):
        run_study(apply_overrides(profile, [("05_memory_analysis.n", "many")]), notebooks.parent / "out",
                  notebooks_dir=notebooks)
    with pytest.raises(ProfileError, match="section '07_extra' names no notebook"):
        run_study(apply_overrides(profile, [("07_extra.n", "1")]), notebooks.parent / "out", notebooks_dir=notebooks)
    with pytest.raises(ProfileError, match="unknown profile 'huge'"):
        load_profile("huge", notebooks / "params")
    assert main(["study", "run", "--notebooks", str(notebooks), "--profile", "tiny", "--out",
                 str(notebooks.parent / "out"), "-p", "nope", "1"]) == 2
    assert not (notebooks.parent / "out" / "study.json").exists()


def test_failing_step_is_reported_while_independent_steps_complete(notebooks: Path, capsys):
    out = notebooks.parent / "study"
    code = main(["study", "run", "--notebooks", str(notebooks), "--profile", "tiny", "--out", str(out),
                 "--gans", "dcgan", "bad"])
    assert code == 1
    state = json.loads((out / "study.json").read_text())
    steps = state["steps"]
    assert state["plan"] == ["01_data_preparation", "02_gan_training-dcgan-s0", "02_gan_training-bad-s0",
                             "03_fid_evaluation", "04_unet_dice", "05_memory_analysis", "06_hyperparameter_search",
                             "07_visual_turing_test", "08_conditional_and_translation"]
    assert steps["02_gan_training-bad-s0"]["status"] == "failed"
    # The kernel is this interpreter (the venv's), whatever other "python3" kernels the machine has.
    data = json.loads((out / "results" / "data.jsonl").read_text())
    assert Path(data["python"]).resolve() == Path(sys.executable).resolve()
    assert steps["02_gan_training-bad-s0"]["error"].startswith("RuntimeError: this GAN diverged")
    # 07 needs every training step (it has no 'gans' list to drop a GAN from): blocked, with the reason.
    assert steps["07_visual_turing_test"]["status"] == "blocked"
    assert "02_gan_training-bad-s0" in steps["07_visual_turing_test"]["error"]
    assert all(steps[n]["status"] == "ok" for n in state["plan"] if n not in ("02_gan_training-bad-s0",
                                                                              "07_visual_turing_test"))
    # Evaluation goes on with the GANs that trained; the failed GAN is left out, not the whole section.
    assert steps["03_fid_evaluation"]["parameters"]["gans"] == ["dcgan"]
    assert steps["03_fid_evaluation"]["parameters"]["study_dir"] == str(out.resolve())
    # The failing notebook is kept, executed up to the failing cell, and rendered.
    failed_nb = nbformat.read(out / steps["02_gan_training-bad-s0"]["notebook"], as_version=4)
    assert any(o.get("ename") == "RuntimeError" for c in failed_nb.cells for o in c.get("outputs", []))
    assert (out / steps["02_gan_training-bad-s0"]["html"]).exists()
    reader = (out / steps["01_data_preparation"]["reader_html"]).read_text()
    assert "put('data'" not in reader and "put(&#39;data&#39;" not in reader
    index = (out / "index.html").read_text()
    assert "this GAN diverged" in index and "html/02_gan_training-bad-s0.html" in index
    assert "figures/03_umap.png" in index  # saved by the notebook under figures/
    # 05 saved none: its last displayed figure is shown, as a file beside the index (never inlined), linked to its page
    assert "thumbs/05_memory_analysis.png" in index and "data:image/png" not in index
    assert (out / "thumbs" / "05_memory_analysis.png").read_bytes() == base64.b64decode(PNG)
    assert "<a href='html/05_memory_analysis.html'" in index
    assert "41 [38, 45]" in index  # our FID with its CI, from results/fid.jsonl
    printed = capsys.readouterr().out
    assert "FAILED 02_gan_training-bad-s0" in printed and "1 failed" in printed
    [listed] = list_studies(out.parent)
    assert listed["status"] == "with failures" and listed["steps"] == {"ok": 7, "failed": 1, "blocked": 1}


def test_unchanged_steps_are_skipped_and_changed_ones_rerun_with_their_dependents(notebooks: Path, monkeypatch):
    # The library's own code is part of every fingerprint; pin it, since others may edit it during the test.
    monkeypatch.setattr("medgan_lib.study.runner.code_hash", lambda: "pinned")
    out = notebooks.parent / "study"
    profile = load_profile("tiny", notebooks / "params")
    first = run_study(profile, out, notebooks_dir=notebooks, echo=lambda _: None)
    assert first.ok and len(first.executed) == 8
    # The search's trial runs must not be taken for the study's GANs: it starts after 03, 04 and 07 finished.
    order = first.executed.index
    assert order("06_hyperparameter_search") > max(order(n) for n in ("03_fid_evaluation", "04_unet_dice",
                                                                        "07_visual_turing_test"))
    again = run_study(profile, out, notebooks_dir=notebooks, echo=lambda _: None)
    assert again.ok and again.executed == []
    assert all(r.cached for r in again.records.values())
    write_notebook(notebooks, "03_fid_evaluation", BODIES["03_fid_evaluation"] + "\nprint('changed')")
    code_changed = run_study(profile, out, notebooks_dir=notebooks, echo=lambda _: None)
    assert code_changed.executed == ["03_fid_evaluation", "04_unet_dice"]  # 04 reads 03's results
    changed = run_study(apply_overrides(profile, [("06_hyperparameter_search.n", "5")]), out,
                        notebooks_dir=notebooks, echo=lambda _: None)
    assert changed.executed == ["06_hyperparameter_search"]
    assert changed.records["06_hyperparameter_search"].parameters["n"] == 5


def test_dry_run_says_why_and_sections_run_alone(notebooks: Path, monkeypatch, capsys):
    from medgan_lib.study.runner import dry_run

    monkeypatch.setattr("medgan_lib.study.runner.code_hash", lambda: "pinned")
    out = notebooks.parent / "study"
    profile = load_profile("tiny", notebooks / "params")
    fresh = dict((name, (action, reason)) for name, action, reason in dry_run(profile, out, notebooks_dir=notebooks))
    assert set(fresh.values()) == {("run", "never ran in this study folder")} and not out.exists()
    blocked = run_study(profile, out, notebooks_dir=notebooks, only=("03",), echo=lambda _: None)
    assert blocked.executed == [] and blocked.records["03_fid_evaluation"].status == "blocked"
    assert "01_data_preparation" in blocked.records["03_fid_evaluation"].error  # what it waits for, named
    assert "never finished" in blocked.records["01_data_preparation"].error
    assert run_study(profile, out, notebooks_dir=notebooks, echo=lambda _: None).ok
    write_notebook(notebooks, "03_fid_evaluation", BODIES["03_fid_evaluation"] + "\nprint('changed')")
    changed = apply_overrides(profile, [("01_data_preparation.n", "3")])
    plan = {name: (action, reason) for name, action, reason in dry_run(changed, out, notebooks_dir=notebooks)}
    assert plan["01_data_preparation"] == ("run", "parameters changed (n: 2 -> 3)")
    assert plan["03_fid_evaluation"][0] == "run" and "the notebook was edited" in plan["03_fid_evaluation"][1]
    assert plan["04_unet_dice"] == ("run", "steps it reads changed: 01_data_preparation, 02_gan_training-dcgan-s0, "
                                           "03_fid_evaluation")
    assert plan["05_memory_analysis"] == ("reuse", "unchanged")
    only = {name: action for name, action, _ in dry_run(changed, out, notebooks_dir=notebooks, only=("03",))}
    assert only["03_fid_evaluation"] == "run" and only["01_data_preparation"] == only["04_unet_dice"] == "keep"
    result = run_study(changed, out, notebooks_dir=notebooks, only=("03_fid_evaluation",), echo=lambda _: None)
    assert result.ok and result.executed == ["03_fid_evaluation"]  # 01's new n waits for a run that asks for it
    with pytest.raises(ProfileError, match="no section '09'"):
        dry_run(profile, out, notebooks_dir=notebooks, only=("09",))
    assert main(["study", "run", "--notebooks", str(notebooks), "--profile", "tiny", "--out", str(out),
                 "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "dry run for" in printed and "run      04_unet_dice" in printed and "reuse    05_memory_analysis" in printed


def test_an_interrupted_study_stops_its_notebook_kernels(tmp_path: Path):
    folder = tmp_path / "notebooks"
    (folder / "params").mkdir(parents=True)
    (folder / "params" / "tiny.yaml").write_text("common: {seed: 0}\n")
    marker = tmp_path / "kernel.pid"
    write_notebook(folder, "01_data_preparation",
                   f"import time\nopen({str(marker)!r}, 'w').write(str(os.getpid()))\ntime.sleep(120)", gans=False)
    runner = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); from test_study import main; "
              f"sys.exit(main(['study', 'run', '--notebooks', {str(folder)!r}, '--profile', 'tiny', "
              f"'--out', {str(tmp_path / 'study')!r}]))")
    proc = subprocess.Popen([sys.executable, "-c", runner])
    deadline = time.monotonic() + 90
    while not (marker.exists() and marker.read_text()) and time.monotonic() < deadline:
        time.sleep(0.5)
    kernel = int(marker.read_text())
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 130
    gone = time.monotonic() + 15  # the kernel stops asynchronously (slowly on a loaded machine), well before its
    while time.monotonic() < gone:  # 120 s sleep would end it
        try:
            os.kill(kernel, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    with pytest.raises(ProcessLookupError):
        os.kill(kernel, 0)  # the notebook's kernel is gone, not left running
    assert json.loads((tmp_path / "study" / "study.json").read_text())["plan"][0] == "01_data_preparation"


def test_masks_only_gans_get_their_own_training_steps_which_never_block_or_count_as_gans(tmp_path: Path):
    from medgan_lib.study.plan import build_plan
    from medgan_lib.study.profiles import Profile
    from medgan_lib.study.runner import FAILED, OK, StepRecord, _prepare

    declared = {name: {k: {} for k in ("study_dir", "dataset", "seed", "device", "gans", "channels")}
                for name in BODIES}
    profile = Profile("t", {"gans": ["dcgan", "spade"], "mask_gans": ["dcgan"], "seeds": [0]}, {}, {})
    steps = {s.name: s for s in build_plan(profile, declared, tmp_path)}
    masks = steps["02_gan_training-masks-dcgan-s0"]
    assert list(steps).index(masks.name) == 3  # after the section's other steps
    assert masks.parameters["channels"] == "masks" and masks.parameters["gans"] == ["dcgan"]
    assert masks.channels == "masks" and set(masks.waits) == {"02_gan_training-dcgan-s0", "02_gan_training-spade-s0"}
    assert "channels" not in steps["02_gan_training-dcgan-s0"].parameters
    # only the Dice table reads masks-only runs; there a failure is soft and removes no GAN from 'gans'
    assert masks.name in steps["04_unet_dice"].needs and masks.name in steps["04_unet_dice"].gan_needs
    assert all(masks.name not in steps[n].needs for n in ("03_fid_evaluation", "07_visual_turing_test"))
    assert masks.name in steps["06_hyperparameter_search"].waits
    write_notebook(tmp_path, "04_unet_dice", "")
    records = {n: StepRecord(n, s.section, OK, fingerprint=n) for n, s in steps.items()}
    records["02_gan_training-dcgan-s0"].status = FAILED
    record = _prepare(steps["04_unet_dice"], records, steps, tmp_path, {"code": "c", "libraries": "l"})
    assert record.status == "pending" and record.parameters["gans"] == ["spade"]
    records["02_gan_training-dcgan-s0"].status, records[masks.name].status = OK, FAILED
    record = _prepare(steps["04_unet_dice"], records, steps, tmp_path, {"code": "c", "libraries": "l"})
    assert record.status == "pending" and record.parameters["gans"] == ["dcgan", "spade"]
    no_channels = {**declared, "02_gan_training": {k: {} for k in ("study_dir", "dataset", "seed", "device", "gans")}}
    with pytest.raises(ProfileError, match="declares no 'channels' parameter"):
        build_plan(profile, no_channels, tmp_path)
    with pytest.raises(ProfileError, match="study.mask_gans must be a list of GAN names"):
        apply_overrides(profile, [("study.mask_gans", "dcgan")])


def _sleeping_study(tmp_path: Path, seconds: int = 120) -> tuple[Path, Path, str]:
    """A one-notebook study whose kernel writes its pid, then sleeps; returns (notebooks, marker, runner code)."""
    folder = tmp_path / "notebooks"
    (folder / "params").mkdir(parents=True)
    (folder / "params" / "tiny.yaml").write_text("common: {seed: 0}\n")
    marker = tmp_path / "kernel.pid"
    write_notebook(folder, "01_data_preparation",
                   f"import time\nopen({str(marker)!r}, 'w').write(str(os.getpid()))\ntime.sleep({seconds})",
                   gans=False)
    runner = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); from test_study import main; "
              f"sys.exit(main(['study', 'run', '--notebooks', {str(folder)!r}, '--profile', 'tiny', "
              f"'--out', {str(tmp_path / 'study')!r}] + sys.argv[1:]))")
    return folder, marker, runner


def _wait_for(marker: Path, timeout: float = 90) -> int:
    deadline = time.monotonic() + timeout
    while not (marker.exists() and marker.read_text()) and time.monotonic() < deadline:
        time.sleep(0.3)
    return int(marker.read_text())


def _gone(pid: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        with open(f"/proc/{pid}/stat") as stat:  # a zombie (exited, not yet reaped) is gone too
            if stat.read().split(") ")[-1].startswith("Z"):
                return True
        time.sleep(0.3)
    return False


def test_a_killed_runner_leaves_no_notebook_running(tmp_path: Path):
    """SIGKILL gives the runner no chance to clean up: its papermill children must still die (PDEATHSIG)."""
    _, marker, runner = _sleeping_study(tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", runner])
    kernel = _wait_for(marker)
    papermill = [int(p) for p in subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                                  text=True).stdout.split()]
    assert papermill, "the runner started no papermill child"
    proc.kill()
    proc.wait(10)
    assert all(_gone(pid) for pid in papermill), "papermill outlived the killed runner"
    assert _gone(kernel), "the notebook's kernel outlived the killed runner"


def test_one_runner_per_study_folder(tmp_path: Path):
    """A second runner on the same folder refuses, naming the first; with --wait it queues behind it."""
    folder, marker, runner = _sleeping_study(tmp_path, seconds=8)
    first = subprocess.Popen([sys.executable, "-c", runner])
    _wait_for(marker)
    second = subprocess.run([sys.executable, "-c", runner], capture_output=True, text=True, timeout=120)
    assert second.returncode == 2
    assert f"study folder {tmp_path / 'study'} is in use by pid {first.pid}" in second.stderr
    assert first.wait(120) == 1  # 1: the other sections' notebooks are missing from this stand-in study
    marker.unlink()
    holder = subprocess.Popen([sys.executable, "-c", runner, "--force"])
    _wait_for(marker)
    queued = subprocess.run([sys.executable, "-c", runner, "--wait", "--force"], capture_output=True, text=True,
                            timeout=180)
    assert holder.wait(60) == 1 and queued.returncode == 1, queued.stderr
    assert "is in use" not in queued.stderr and "ok 01_data_preparation" in queued.stdout  # it waited, then ran


def test_an_unchanged_gan_step_whose_artefacts_are_damaged_runs_again(tmp_path: Path, monkeypatch):
    """A truncated sample shard or checkpoint is not reused as 'unchanged': the step reruns, the shard is drawn
    again, and a damaged checkpoint fails the step naming the file (never a silent success)."""
    from medgan_lib.study.runner import FAILED
    from medgan_lib.training import find_runs

    monkeypatch.setattr("medgan_lib.study.runner.code_hash", lambda: "pinned")
    monkeypatch.setenv("MEDGAN_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "notebooks"
    (folder / "params").mkdir(parents=True)
    write_notebook(folder, "01_data_preparation", "", gans=False)
    write_notebook(folder, "02_gan_training", (
        "from medgan_lib.training import preset, sample, train_gan\n"
        "for gan in gans:\n"
        "    run = train_gan(preset('smoke', gan=gan, dataset=dataset, resolution=32, count=60, seed=seed,\n"
        "                           iterations=2), study_dir)\n"
        "    sample(run, 8, seed=seed)\n"))
    profile = {"study": {"gans": ["dcgan"], "seeds": [0]},
               "common": {"dataset": "cardiac_phantom", "seed": 0, "device": "cpu"}}
    (folder / "params" / "gan.yaml").write_text(yaml.safe_dump(profile))
    out, lines = tmp_path / "study", []
    study = lambda: run_study(load_profile("gan", folder / "params"), out, notebooks_dir=folder,  # noqa: E731
                              echo=lines.append)
    assert study().executed == ["01_data_preparation", "02_gan_training-dcgan-s0"]
    assert study().executed == []
    run, = find_runs(out)
    shard = next(run.path.glob("samples/*/*.npz"))
    shard.write_bytes(shard.read_bytes()[:100])
    again = study()
    assert again.executed == ["02_gan_training-dcgan-s0"] and not run.damaged()
    assert again.records["02_gan_training-dcgan-s0"].status == "ok"
    assert any("unchanged but its output is damaged" in line and str(shard) in line for line in lines)
    run.checkpoint_file.write_bytes(run.checkpoint_file.read_bytes()[:-10])
    failed = study()
    record = failed.records["02_gan_training-dcgan-s0"]
    assert record.status == FAILED and str(run.checkpoint_file) in record.error


def test_a_profile_runs_only_its_sections(tmp_path: Path):
    from medgan_lib.study.plan import build_plan, profile_sections
    from medgan_lib.study.profiles import Profile

    declared = {name: {k: {} for k in ("study_dir", "dataset", "seed", "device", "gans", "channels")}
                for name in BODIES}
    profile = Profile("t", {"gans": ["dcgan"], "seeds": [0], "sections": ["01", 2, "06_hyperparameter_search"]}, {}, {})
    sections = profile_sections(profile)
    assert [s.notebook for s in sections] == ["01_data_preparation", "02_gan_training", "06_hyperparameter_search"]
    steps = {s.name: s for s in build_plan(profile, declared, tmp_path, sections)}
    assert set(steps) == {"01_data_preparation", "02_gan_training-dcgan-s0", "06_hyperparameter_search"}
    assert steps["06_hyperparameter_search"].waits == ("02_gan_training-dcgan-s0",)  # absent sections: no wait
    with pytest.raises(ProfileError, match=r"study.sections: no section '09'"):
        profile_sections(Profile("t", {"sections": ["09"]}, {}, {}))
    with pytest.raises(ProfileError, match="study.sections must be a list"):
        apply_overrides(Profile("t", {}, {}, {}), [("study.sections", "03")])
