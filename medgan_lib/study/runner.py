"""Run a study: execute the section notebooks with papermill into ``<out>/notebooks/``, render them to
HTML, skip steps whose inputs are unchanged, run independent steps in parallel, keep going past failures.

Everything the notebooks write goes to ``<out>`` itself (their ``study_dir``): ``runs/``, ``results/``,
``figures/``. The runner's own record, with the wall time of every step, is ``<out>/study.json``.
"""

from __future__ import annotations

import concurrent.futures as futures
import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import nbformat
import yaml

from medgan_lib.atomic import write_json, write_text
from medgan_lib.hashing import hash_inputs, sha256_file
from medgan_lib.locks import exclusive
from medgan_lib.provenance import code_version, library_versions
from medgan_lib.study.executors import LocalExecutor, RayExecutor, executor
from medgan_lib.study.plan import SECTIONS, Section, Step, build_plan, profile_sections, select_sections
from medgan_lib.study.profiles import NOTEBOOKS_DIR, Profile, ProfileError, notebook_parameters, validate

STATE_FILE = "study.json"
LOCK_FILE = ".study.lock"  # held by the runner of the folder (medgan_lib.locks)
# Started before papermill, in its own process: SIGTERM it when the runner dies, even by SIGKILL (Linux
# PR_SET_PDEATHSIG, kept across exec; 1 is its prctl number); its kernel follows, as ipykernel exits when its
# parent does. So no orphan keeps writing into a study folder that a rerun is using.
DIE_WITH_PARENT = ("import ctypes, os, signal, sys\n"
                   "parent = os.getppid()\n"
                   "if sys.platform.startswith('linux'):\n"
                   "    ctypes.CDLL(None).prctl(1, signal.SIGTERM)\n"
                   "if os.getppid() != parent:\n"
                   "    sys.exit(143)\n"
                   "os.execv(sys.argv[1], sys.argv[1:])\n")
LIBRARY_DIR = Path(__file__).resolve().parents[1]
_CHILDREN: set[subprocess.Popen] = set()  # running papermill processes, stopped if the study is interrupted
_LOCK = threading.Lock()
# Statuses of a step: ran or reused (ok), failed, blocked by a failed step it needs, or notebook absent.
OK, FAILED, BLOCKED, MISSING = "ok", "failed", "blocked", "missing"


@dataclasses.dataclass
class StepRecord:
    """What happened to one step, as stored in ``study.json`` (paths relative to the study folder)."""

    name: str
    section: str
    status: str
    cached: bool = False
    gan: str | None = None
    seed: int | None = None
    fingerprint: str | None = None
    inputs: dict[str, Any] = dataclasses.field(default_factory=dict)  # what the fingerprint hashes, by part
    parameters: dict[str, Any] = dataclasses.field(default_factory=dict)
    started: str | None = None
    wall_time: float | None = None
    error: str | None = None
    notebook: str | None = None
    html: str | None = None
    reader_html: str | None = None
    log: str | None = None


@dataclasses.dataclass
class StudyResult:
    out: Path
    records: dict[str, StepRecord]
    plan: list[str]
    executed: list[str]
    index_error: str | None = None  # why index.html could not be written (the previous one is kept)

    @property
    def failed(self) -> list[str]:
        return [n for n in self.plan if self.records[n].status != OK]

    @property
    def ok(self) -> bool:
        return not self.failed and self.index_error is None


def code_hash(library_dir: Path = LIBRARY_DIR) -> str:
    """Hash of the library's source and package data and of the dataset manifests beside it (not the study
    runner's own code, which decides how notebooks are run, not what they compute)."""
    manifests = library_dir.parent / "data_manifest"
    files = sorted(p for p in library_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                   and "study" not in p.relative_to(library_dir).parts[:1] and p.suffix != ".pyc")
    files += sorted(manifests.glob("*.yaml")) if manifests.is_dir() else []
    return hash_inputs([(str(p.relative_to(library_dir.parent)), sha256_file(p)) for p in files])


def load_state(out: Path) -> dict[str, Any]:
    path = Path(out) / STATE_FILE
    if not path.exists():
        return {}
    return json.loads(path.read_text())


def records_of(state: dict[str, Any]) -> dict[str, StepRecord]:
    return {name: StepRecord(**rec) for name, rec in state.get("steps", {}).items()}


def _unchecked(sections: tuple[Section, ...], declared: dict[str, Any]) -> tuple[str, ...]:
    """Sections whose profile values are not checked: the study's sections this run leaves out, and those whose
    notebook is absent (their steps are reported missing)."""
    running = {s.notebook for s in sections}
    return tuple(s.notebook for s in SECTIONS if s.notebook not in running) + tuple(
        s.notebook for s in sections if s.notebook not in declared)


def declared_parameters(notebooks_dir: Path, sections: tuple[Section, ...] = SECTIONS) -> dict[str, dict[str, Any]]:
    """Parameters declared by each section notebook that exists (absent notebooks are left out)."""
    declared = {}
    for section in sections:
        path = Path(notebooks_dir) / f"{section.notebook}.ipynb"
        if path.exists():
            declared[section.notebook] = notebook_parameters(path)
            if section.per_gan and "gans" not in declared[section.notebook]:
                raise ProfileError(f"notebook {section.notebook!r} runs once per GAN but declares no 'gans' parameter")
    return declared


class KernelUnreachable(RuntimeError):
    """The notebooks' kernels could not be reached on 127.0.0.1, so no step can run."""


def check_loopback() -> None:
    """Refuse before the first notebook starts when nothing answers on 127.0.0.1: papermill talks to its kernel
    over ZeroMQ sockets there, and each step would otherwise fail after 60 s with "Kernel didn't respond"."""
    try:
        with socket.socket() as server:
            server.bind(("127.0.0.1", 0))
            server.listen(1)
            with socket.create_connection(server.getsockname(), timeout=5):
                pass
    except OSError as error:
        raise KernelUnreachable(f"the notebook kernels cannot be reached on 127.0.0.1 ({error}): papermill talks to "
                                f"them over the loopback interface; bring it up (e.g. `ip link set lo up`) and "
                                f"run again") from error


def run_study(profile: Profile, out: Path, *, notebooks_dir: Path = NOTEBOOKS_DIR, force: bool = False,
              workers: int | None = None, sections: tuple[Section, ...] = SECTIONS, only: tuple[str, ...] = (),
              echo: Callable[[str], None] = print, heartbeat: float = 30.0, wait: bool = False,
              ray_address: str | None = None) -> StudyResult:
    """Execute the study's notebooks into ``out``; reuse steps whose fingerprint (notebook, parameters,
    library code, library versions, fingerprints of the steps it reads) is unchanged unless ``force``.
    ``only`` (section names or their numbers, "03") runs those sections alone: every other step keeps its
    previous result, unrun. One runner per study folder: a second one raises ``Locked`` naming the first
    (``wait``: queue behind it). ``ray_address`` (else the profile's ``study.ray_address``; HOST:PORT, "auto",
    or "local") runs each step as a Ray task (``executors.RayExecutor``); without one, local threads."""
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    ray_address = ray_address or profile.study.get("ray_address") or None
    with exclusive(out / LOCK_FILE, wait=wait, what=f"study folder {out}"):
        return _run_study(profile, out, notebooks_dir, force, workers, sections, only, echo, heartbeat, ray_address)


def dry_run(profile: Profile, out: Path, *, notebooks_dir: Path = NOTEBOOKS_DIR, force: bool = False,
            sections: tuple[Section, ...] = SECTIONS, only: tuple[str, ...] = ()) -> list[tuple[str, str, str]]:
    """What ``run_study`` would do with each step, and why, without running or writing anything:
    (step, action, reason), action one of run, reuse, keep (not in ``only``), blocked, missing. Steps a dry run
    expects to run are taken to succeed."""
    out = Path(out).resolve()
    notebooks_dir = Path(notebooks_dir).resolve()
    sections = profile_sections(profile, sections)
    declared = declared_parameters(notebooks_dir, sections)
    validate(profile, declared, absent=_unchecked(sections, declared))
    steps = build_plan(profile, declared, out, sections)
    by_name = {s.name: s for s in steps}
    previous = records_of(load_state(out))
    env = _environment()
    chosen = select_sections(only, sections) if only else None
    records: dict[str, StepRecord] = {}
    plan = []
    for step in steps:  # in plan order every step comes after the steps it needs
        record = _prepare(step, records, by_name, notebooks_dir, env)
        action, reason = _decide(step, record, previous.get(step.name), out, force, chosen)
        records[step.name] = previous[step.name] if action in ("reuse", "keep") else \
            dataclasses.replace(record, status=OK if action == "run" else record.status)
        plan.append((step.name, action, reason))
    return plan


def _environment() -> dict[str, str]:
    """The parts of every fingerprint that are not the step's own: the library's code and library versions."""
    return {"code": code_hash(), "libraries": hash_inputs(library_versions())}


def _run_study(profile: Profile, out: Path, notebooks_dir: Path, force: bool, workers: int | None,
               sections: tuple[Section, ...], only: tuple[str, ...], echo: Callable[[str], None],
               heartbeat: float, ray_address: str | None) -> StudyResult:
    notebooks_dir = Path(notebooks_dir).resolve()
    sections = profile_sections(profile, sections)
    declared = declared_parameters(notebooks_dir, sections)
    validate(profile, declared, absent=_unchecked(sections, declared))
    chosen = select_sections(only, sections) if only else None
    steps = build_plan(profile, declared, out, sections)
    workers = workers or profile.workers
    by_name = {s.name: s for s in steps}
    previous = records_of(load_state(out))
    env = _environment()
    # This run's records; a previous record is kept on disk until its step is decided again (so an
    # interrupted run loses nothing finished) but dropped as soon as its step starts executing.
    records: dict[str, StepRecord] = {n: r for n, r in previous.items() if n not in by_name}
    executed: list[str] = []
    state = {"profile": profile.name, "study": profile.study, "common": profile.common, "sections": profile.sections,
             "notebooks_dir": str(notebooks_dir), "plan": [s.name for s in steps], "started": _now(),
             "code_version": code_version()}
    started_at = time.monotonic()
    pending = list(steps)
    running: dict[futures.Future, tuple[Step, float, StepRecord]] = {}
    total = len(steps)

    def done_count() -> int:
        return sum(1 for s in steps if s.name in records)

    def save() -> None:
        state["steps"] = {n: dataclasses.asdict(r) for n, r in {**previous, **records}.items()}
        state["wall_time"] = time.monotonic() - started_at
        write_json(out / STATE_FILE, state)

    def schedule(pool: LocalExecutor | RayExecutor) -> None:
        """Start every step whose needs are met (or reuse it), wait for one to finish, until all are done."""
        while pending or running:
            progressed = True
            while progressed:
                progressed = False
                for step in list(pending):
                    if any(n not in records for n in step.needs + step.waits):
                        continue
                    record = _prepare(step, records, by_name, notebooks_dir, env)
                    old = previous.get(step.name)
                    action, reason = _decide(step, record, old, out, force, chosen)
                    if action in (BLOCKED, MISSING):
                        records[step.name] = record if record.status != "pending" else \
                            dataclasses.replace(record, status=BLOCKED, error=reason)
                        echo(f"[{done_count()}/{total}] {action.upper()} {step.name}: {reason}")
                    elif action in ("reuse", "keep"):
                        records[step.name] = dataclasses.replace(old, cached=True)
                        echo(f"[{done_count()}/{total}] {'unchanged' if action == 'reuse' else 'kept'} {step.name} "
                             f"({reason}; it ran {old.wall_time or 0:.0f} s)")
                    elif len(running) < workers:
                        if not running and not executed:
                            check_loopback()  # once, before the first notebook of this run starts
                        echo(f"[{done_count()}/{total}] running {step.name} ({reason}) ...")
                        previous.pop(step.name, None)
                        future = pool.submit(step.section, _execute, step, record, out, notebooks_dir)
                        running[future] = (step, time.monotonic(), record)
                    else:
                        continue
                    pending.remove(step)
                    progressed = True
                save()
            if not running:
                continue
            finished, _ = futures.wait(running, timeout=heartbeat, return_when=futures.FIRST_COMPLETED)
            if not finished:
                busy = ", ".join(f"{s.name} ({time.monotonic() - t0:.0f} s)" for s, t0, _ in running.values())
                echo(f"  ... running: {busy}; {total - done_count() - len(running)} waiting")
            for future in finished:
                step, t0, submitted = running.pop(future)
                try:
                    record = future.result()
                except Exception as err:  # e.g. a Ray worker lost twice: the step fails, the study goes on
                    record = dataclasses.replace(submitted, status=FAILED, wall_time=round(time.monotonic() - t0, 2),
                                                 error=f"{type(err).__name__}: {err}".splitlines()[0],
                                                 log=f"logs/{step.name}.log")
                _render(record, out)
                records[step.name] = record
                executed.append(step.name)
                remaining = total - done_count()
                if record.status == OK:
                    echo(f"[{done_count()}/{total}] ok {step.name} in {record.wall_time:.1f} s; {remaining} remaining")
                else:
                    echo(f"[{done_count()}/{total}] FAILED {step.name} after {record.wall_time:.1f} s: {record.error}; "
                         f"{remaining} remaining")
                save()

    with executor(workers, ray_address, out, profile.study.get("ray_resources"), _stop_children) as pool:
        pool.check(s.section for s in steps)
        echo(f"study {out.name}: profile {profile.name}, {total} steps, {workers} at a time on {pool.name}, "
             f"output {out}")
        try:
            schedule(pool)
        except BaseException:  # interrupted: stop the notebooks now, keep what finished, re-raise
            pool.stop()
            save()
            raise
    state["finished"] = _now()
    save()
    from medgan_lib.study.report import write_index

    try:
        write_index(out)
        index_error = None
    except Exception as err:  # the steps are done and recorded; the run is not ok, the previous index is kept
        index_error = f"{type(err).__name__}: {err}"
        echo(f"study {out.name}: could not write {out / 'index.html'} ({index_error}); the previous index, if any, "
             f"is kept. Free space or fix the error, then run `medgan study report {out}`")
    result = StudyResult(out, {n: records[n] for n in state["plan"]}, state["plan"], executed, index_error)
    echo(summary(result))
    return result


def summary(result: StudyResult) -> str:
    """Closing lines: counts per status, total time, failures with their errors, the index path."""
    recs = [result.records[n] for n in result.plan]
    counts = {s: sum(1 for r in recs if r.status == s) for s in (OK, FAILED, BLOCKED, MISSING)}
    reused = sum(1 for r in recs if r.status == OK and r.cached)
    ran = sum(r.wall_time or 0 for r in recs if not r.cached and r.status in (OK, FAILED))
    lines = [f"study {result.out.name}: {counts[OK]} ok ({reused} reused), {counts[FAILED]} failed, "
             f"{counts[BLOCKED]} blocked, {counts[MISSING]} missing; {ran:.0f} s of notebook execution",
             f"index: {result.out / 'index.html'}"]
    lines += [f"  {r.status}: {r.name}: {r.error}" for r in recs if r.status != OK]
    if result.index_error:
        lines.append(f"  index not written: {result.index_error}")
    return "\n".join(lines)


def _prepare(step: Step, records: dict[str, StepRecord], by_name: dict[str, Step], notebooks_dir: Path,
             env: dict[str, str]) -> StepRecord:
    """Decide a step's final parameters and fingerprint once what it needs has finished, or why it cannot run."""
    record = StepRecord(step.name, step.section, "pending", gan=step.gan, seed=step.seed,
                        parameters=dict(step.parameters))
    source = notebooks_dir / f"{step.section}.ipynb"
    if not source.exists():
        record.status, record.error = MISSING, f"notebook {source.name} is not in {notebooks_dir}"
        return record
    hard = [n for n in step.needs if n not in step.gan_needs and records[n].status != OK]
    if hard:
        record.status, record.error = BLOCKED, f"needs {', '.join(hard)}, which did not succeed"
        return record
    if step.gan_needs:
        good = {by_name[n].gan for n in step.gan_needs if records[n].status == OK and by_name[n].channels == "joint"}
        gans = [g for g in step.parameters.get("gans", []) if g in good]
        if not gans:
            record.status, record.error = BLOCKED, "no GAN of the study trained successfully"
            return record
        record.parameters["gans"] = gans
    used = sorted(n for n in step.needs if records[n].status == OK)
    record.inputs = {"notebook": sha256_file(source), **env, "needs": {n: records[n].fingerprint for n in used}}
    record.fingerprint = hash_inputs(record.inputs["notebook"], record.parameters, env["code"], env["libraries"],
                                     [(n, records[n].fingerprint) for n in used])
    return record


def _decide(step: Step, record: StepRecord, old: StepRecord | None, out: Path, force: bool,
            chosen: set[str] | None) -> tuple[str, str]:
    """What to do with a step whose needs are decided, and why: run, reuse (unchanged), keep (outside the
    sections asked for), blocked or missing. The one place the rerun rules live (the runner and dry runs ask it)."""
    if record.status != "pending":
        return record.status, record.error or ""
    finished = old is not None and old.status == OK and bool(old.notebook) and (out / old.notebook).exists()
    if chosen is not None and step.section not in chosen:
        return ("keep", "not in --sections") if finished else \
            (BLOCKED, "not in --sections and never finished in this study folder: run it first")
    if force:
        return "run", "--force"
    if old is None:
        return "run", "never ran in this study folder"
    if old.status != OK:
        return "run", f"it {old.status} last time"
    if not finished:
        return "run", "its executed notebook is gone"
    if old.fingerprint != record.fingerprint:
        return "run", _what_changed(old, record)
    damage = _damaged_outputs(step, out)
    if damage:
        return "run", "unchanged but its output is damaged: " + "; ".join(damage)
    return "reuse", "unchanged"


def _what_changed(old: StepRecord, new: StepRecord) -> str:
    """Which input of a step's fingerprint differs from its last run (parameters named with old and new values)."""
    changes = [f"{k}: {old.parameters.get(k)!r} -> {new.parameters.get(k)!r}"
               for k in sorted(set(old.parameters) | set(new.parameters)) if old.parameters.get(k) != new.parameters.get(k)]
    if changes:
        return "parameters changed (" + ", ".join(changes) + ")"
    if not old.inputs:
        return "inputs changed (its last run predates the record of which)"
    parts = {"notebook": "the notebook was edited", "code": "the library's code changed",
             "libraries": "library versions changed"}
    reasons = [text for key, text in parts.items() if old.inputs.get(key) != new.inputs.get(key)]
    upstream = [n for n in sorted(set(old.inputs.get("needs", {})) | set(new.inputs.get("needs", {})))
                if old.inputs.get("needs", {}).get(n) != new.inputs.get("needs", {}).get(n)]
    if upstream:
        reasons.append("steps it reads changed: " + ", ".join(upstream))
    return "; ".join(reasons) or "inputs changed"


def _damaged_outputs(step: Step, out: Path) -> list[str]:
    """Damaged artefacts of an unchanged step, which must then run again: for a GAN training step, its runs'
    checkpoints and sample sets (checked against their recorded sizes and SHA-256)."""
    if step.gan is None:
        return []
    from medgan_lib.training import find_runs

    return [problem for run in find_runs(out, gan=step.gan, channels=step.channels)
            if step.seed is None or run.config.seed == step.seed for problem in run.damaged()]


def _execute(step: Step, record: StepRecord, out: Path, notebooks_dir: Path, threads: int) -> StepRecord:
    """Run one notebook through papermill in its own process (its kernel is the venv's python3), with ``threads``
    threads; in a local thread or in a Ray task alike."""
    record = dataclasses.replace(record, started=_now(), notebook=f"notebooks/{step.name}.ipynb",
                                 log=f"logs/{step.name}.log")
    output = out / record.notebook
    params_file = out / "params" / f"{step.name}.yaml"
    write_text(params_file, yaml.safe_dump(record.parameters, sort_keys=True))
    output.parent.mkdir(parents=True, exist_ok=True)
    (out / "logs").mkdir(parents=True, exist_ok=True)
    if output.exists():
        output.unlink()
    env = dict(os.environ)
    # The kernel named python3 must be this interpreter's (ipykernel's spec, whose argv "python" becomes
    # sys.executable), not a user-level kernel of another Python that happens to share the name.
    env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(Path(sys.prefix) / "share" / "jupyter"),
                                                        env.get("JUPYTER_PATH")]))
    env.setdefault("OMP_NUM_THREADS", str(threads))
    env.pop("RAY_ADDRESS", None)  # a notebook's own Ray (06's search) follows its ray_address, not the runner's
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"  # figures inline, whatever the caller set
    env["MEDGAN_NO_PROGRESS"] = "1"  # a widget bar would be saved frozen at 0 % (medgan_lib.progress)
    command = [sys.executable, "-m", "papermill", str(notebooks_dir / f"{step.section}.ipynb"), str(output),
               "-f", str(params_file), "-k", "python3", "--cwd", str(notebooks_dir), "--no-progress-bar",
               "--log-output"]
    t0 = time.monotonic()
    log_path = out / record.log
    returncode = _papermill(command, log_path, "w", env, notebooks_dir)
    if returncode != 0 and _kernel_never_started(log_path):
        # Jupyter picks the kernel's ports, frees them, then the kernel binds them: a kernel starting at the same
        # moment can take one (papermill#511). No cell ran, so starting again is safe.
        with open(log_path, "a") as log:
            log.write("\n[runner] the kernel could not bind its ports (another kernel started at the same moment); "
                      "starting it once more\n")
        returncode = _papermill(command, log_path, "a", env, notebooks_dir)
    record.wall_time = round(time.monotonic() - t0, 2)
    if returncode == 0:
        record.status = OK
    else:
        record.status = FAILED
        record.error = _error_of(output, out / record.log)
    if not output.exists():
        record.notebook = None
    return record


def _papermill(command: list[str], log_path: Path, mode: str, env: dict[str, str], cwd: Path) -> int:
    """Run ``command`` (papermill) in a child that dies with this process, its output into ``log_path``."""
    with open(log_path, mode) as log:
        log.write("$ " + " ".join(command) + "\n")
        log.flush()
        proc = subprocess.Popen([sys.executable, "-c", DIE_WITH_PARENT, *command], stdout=log,
                                stderr=subprocess.STDOUT, env=env, cwd=cwd)
        with _LOCK:
            _CHILDREN.add(proc)
        try:
            return proc.wait()
        finally:
            with _LOCK:
                _CHILDREN.discard(proc)


def _kernel_never_started(log_path: Path) -> bool:
    """Whether the last attempt logged in ``log_path`` failed because its kernel could not bind a port."""
    text = log_path.read_text(errors="replace").rsplit("\n$ ", 1)[-1]
    return "Kernel died before replying to kernel_info" in text and "Address already in use" in text


def _stop_children(grace: float = 20.0) -> None:
    """Interrupt running papermill processes (SIGINT: papermill shuts its kernel down), kill stragglers."""
    with _LOCK:
        children = list(_CHILDREN)
    for proc in children:
        proc.send_signal(signal.SIGINT)
    for proc in children:
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()


def _error_of(notebook: Path, log: Path) -> str:
    """The exception of the failing cell (``Name: message (cell N)``), else the log's last line."""
    if notebook.exists():
        try:
            nb = nbformat.read(notebook, as_version=4)
            for cell in nb.cells:
                for output in cell.get("outputs", []):
                    if output.get("output_type") == "error":
                        return f"{output.get('ename')}: {output.get('evalue')} (cell In [{cell.get('execution_count')}])"
        except (OSError, ValueError):
            pass
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()] if log.exists() else []
    return lines[-1][:500] if lines else "the notebook did not run (no output written)"


def _render(record: StepRecord, out: Path) -> None:
    """HTML of an executed (or partly executed) notebook: full, and for readers with code hidden."""
    if not record.notebook:
        return
    from medgan_lib.study.render import render_html

    try:
        record.html = render_html(out / record.notebook, out / "html" / f"{record.name}.html")
        record.reader_html = render_html(out / record.notebook, out / "html" / f"{record.name}.reader.html",
                                         hide_code=True)
    except Exception as err:  # a broken notebook file must not stop the study; the index shows why
        record.error = (record.error or "") + f" [HTML rendering failed: {type(err).__name__}: {err}]"
    for attr in ("html", "reader_html"):
        value = getattr(record, attr)
        if value:
            setattr(record, attr, str(Path(value).relative_to(out)))


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
