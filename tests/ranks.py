"""Running a test's worker on spawned processes: never a hang, always the rank's error."""

import time

import pytest
import torch.multiprocessing as mp

#: The processes of every data-parallel test.
WORLD_SIZE = 2

#: Seconds a spawn may take before the test fails: a hung collective fails, never hangs CI.
JOIN_TIMEOUT = 120


def run_ranks(worker, *args):
    """``worker(rank, *args)`` on ``WORLD_SIZE`` spawned processes, joined with
    ``JOIN_TIMEOUT``; a rank's exception is raised here (torch terminates the other ranks)."""
    context = mp.spawn(worker, args=args, nprocs=WORLD_SIZE, join=False)
    deadline = time.monotonic() + JOIN_TIMEOUT
    while not context.join(timeout=1):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail(f"the ranks did not finish in {JOIN_TIMEOUT} s")
