"""Where a study's steps execute: threads of this process (the default), or Ray tasks on a cluster.

Both run the same function (``runner._execute``: papermill in a child process) and hand back a
``concurrent.futures.Future`` of its ``StepRecord``, so the runner's scheduling, skip and resume rules do not
depend on where a step ran. On Ray each step is a task with the resources its section declares
(``study.ray_resources`` in the profile); a task whose worker dies is retried once, then the step fails with its
log. The study folder must be storage every worker shares: ``RayExecutor`` checks that before any step starts.
"""

from __future__ import annotations

import concurrent.futures as futures
import contextlib
import os
import secrets
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from medgan_lib.study.profiles import ProfileError

DEFAULT_RESOURCES = {"num_cpus": 1, "num_gpus": 0}  # a step's Ray task unless study.ray_resources says otherwise
RESOURCE_KEYS = tuple(DEFAULT_RESOURCES)
LOCAL = "local"  # --ray-address local: start a Ray instance on this machine for the study


class SharedStorageError(RuntimeError):
    """A Ray worker cannot see the study folder the driver writes to."""


class LocalExecutor:
    """Steps in threads of this process, ``workers`` at a time (their notebooks in child processes)."""

    name = "local threads"

    def __init__(self, workers: int, stop: Callable[[], None]) -> None:
        self.threads = max(1, (os.cpu_count() or 1) // workers)
        self._pool = futures.ThreadPoolExecutor(max_workers=workers)
        self._stop = stop

    def check(self, sections: Iterable[str]) -> None:
        """Nothing to check: every step runs here."""

    def submit(self, section: str, fn: Callable[..., Any], *args: Any) -> futures.Future:
        return self._pool.submit(fn, *args, self.threads)

    def stop(self) -> None:
        self._stop()

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class RayExecutor:
    """Steps as Ray tasks: ``address`` HOST:PORT (or "auto") joins a running cluster, ``"local"`` starts one on
    this machine; ``resources`` maps a section (name or number) to Ray task options (num_cpus, num_gpus), the rest
    getting ``DEFAULT_RESOURCES``."""

    name = "Ray"

    def __init__(self, address: str, out: Path, resources: dict[str, dict[str, Any]] | None = None) -> None:
        import ray

        from medgan_lib.tune.study import ray_session  # imports Ray Tune: only when Ray runs the study

        self._ray = ray
        self.resources = check_resources(resources or {})
        self._refs: list[Any] = []
        self._session = contextlib.ExitStack()  # the Ray this executor started, shut down on close
        self._session.enter_context(ray_session(None if address == LOCAL else address, num_cpus=os.cpu_count() or 1))
        try:
            check_shared(out)
        except BaseException:
            self._session.close()
            raise

    def options(self, section: str) -> dict[str, Any]:
        """The Ray task options of a step of ``section`` (its name, e.g. 02_gan_training, or its number)."""
        number = section.split("_", 1)[0]
        return {**DEFAULT_RESOURCES, **self.resources.get(number, {}), **self.resources.get(section, {})}

    def check(self, sections: Iterable[str]) -> None:
        """Refuse, before any step starts, a step that asks for more CPUs or GPUs than the whole cluster has (it
        would wait forever); an autoscaling cluster may lack them now and add them later: give it the resources."""
        total = self._ray.cluster_resources()
        have = {"num_cpus": total.get("CPU", 0), "num_gpus": total.get("GPU", 0)}
        for section in dict.fromkeys(sections):
            wants = self.options(section)
            short = [f"{key} {wants[key]} (the cluster has {have[key]:g})" for key in RESOURCE_KEYS
                     if wants[key] > have[key]]
            if short:
                raise ProfileError(f"study.ray_resources: a {section} step asks for {', '.join(short)}; lower it in "
                                   f"the profile (-p study.ray_resources ...) or add nodes that have them")

    def submit(self, section: str, fn: Callable[..., Any], *args: Any) -> futures.Future:
        options = self.options(section)
        threads = max(1, int(options["num_cpus"]))
        task = self._ray.remote(fn).options(**options, max_retries=1, retry_exceptions=False)
        ref = task.remote(*args, threads)
        self._refs.append(ref)
        return ref.future()

    def stop(self) -> None:
        """Cancel every step still running (its worker is killed, and papermill's kernel with it)."""
        for ref in self._refs:
            with contextlib.suppress(Exception):
                self._ray.cancel(ref, force=True)

    def close(self) -> None:
        self._session.close()


def check_resources(resources: dict[str, Any], where: str = "study.ray_resources") -> dict[str, dict[str, Any]]:
    """``resources`` checked: section -> {num_cpus: > 0, num_gpus: >= 0}."""
    if not isinstance(resources, dict):
        raise ProfileError(f"{where} must map sections to Ray resources, got {resources!r}")
    for section, values in resources.items():
        if not isinstance(values, dict) or set(values) - set(RESOURCE_KEYS):
            raise ProfileError(f"{where}.{section}: expected a mapping with keys from {list(RESOURCE_KEYS)}, "
                               f"got {values!r}")
        for key, value in values.items():
            low = 0 if key == "num_gpus" else 1e-9
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low:
                raise ProfileError(f"{where}.{section}.{key}: expected a number {'>= 0' if low == 0 else '> 0'}, "
                                   f"got {value!r}")
    return {str(section): dict(values) for section, values in resources.items()}


def _write_probe(path: str, token: str) -> str:
    """Run on a worker: write ``token`` to ``path`` in the study folder as the worker sees it."""
    import socket

    Path(path).write_text(token)
    return socket.gethostname()


def check_shared(out: Path, timeout: float = 120.0) -> None:
    """A worker writes a probe file into ``out``; the driver must read it back, else the folder is not shared."""
    import ray

    token = secrets.token_hex(8)
    probe = Path(out) / f".ray-probe-{token}"
    try:
        host = ray.get(ray.remote(_write_probe).options(num_cpus=0).remote(str(probe), token), timeout=timeout)
    except Exception as err:
        raise SharedStorageError(f"a Ray worker could not write into the study folder {out} ({type(err).__name__}: "
                                 f"{err}); the study folder must be on storage every worker shares "
                                 f"(e.g. NFS mounted at the same path)") from None
    try:
        seen = probe.read_text() if probe.is_file() else None
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()
    if seen != token:
        raise SharedStorageError(f"the study folder {out} is not shared with the Ray workers: a worker on {host} wrote "
                                 f"a probe file there that this machine cannot see; put the study folder on storage "
                                 f"every worker mounts at the same path (--out), or run without --ray-address")


@contextlib.contextmanager
def executor(workers: int, ray_address: str | None, out: Path, resources: dict[str, dict[str, Any]] | None,
             stop_local: Callable[[], None]) -> Iterator[LocalExecutor | RayExecutor]:
    """The executor of one study run: Ray when ``ray_address`` is given, else local threads; closed afterwards."""
    chosen = RayExecutor(ray_address, out, resources) if ray_address else LocalExecutor(workers, stop_local)
    try:
        yield chosen
    finally:
        chosen.close()

