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
