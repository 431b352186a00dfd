"""Shared test settings."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    """Unit tests use tiny tensors: one torch thread is fastest for them, and immune to a CPU shared with
    other processes (two threads on a busy 2-core machine were measured ~200x slower on small ops)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def ray_local(request):
    """A local Ray (2 CPUs) for one test module; the module's own engine classes travel to the workers by value."""
    import ray
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(request.module)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield
    finally:
        ray.shutdown()


class _ToySource:
    """The dataset name "toy": tests that hand ``train_gan`` their own arrays (``data=``) still need a DataSpec
    whose name is registered; it holds no files, so ``prepare`` must be patched where a test reads it."""

    kind = "phantom"
    name = "toy"
    default_count = None
    gan_splits = ("train",)

    def resolve_root(self, root):
        return None

    def load(self, *args, **kwargs):
        raise RuntimeError("the 'toy' test dataset has no data: pass data= or patch medgan_lib.data.spec.prepare")


def _register_toy() -> None:
    from medgan_lib.data import DATASETS

    if "toy" not in DATASETS:
        DATASETS.register("toy")(_ToySource())


_register_toy()
