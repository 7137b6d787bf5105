"""Where the processes (ranks) of a data-parallel fit come from, and what they share.

A fusion with ``n_processes`` above 1 starts that many local processes itself (CPU cores
under gloo, or one CUDA device each under NCCL) and joins them; with
``n_processes="process_group"`` it is one rank of a process group that already exists
(``torchrun`` across machines, Ray Train's workers), each rank calling ``fit`` on the same
table. Either way every rank trains by :func:`~sktnce._data_parallel.train_rank` and the fit
ends with one plain network, needing no process group to transform, score, save or load.
No scheduler of sktnce's own: the local processes are torch.multiprocessing's.
"""

import dataclasses
import multiprocessing
import os
import sys
import tempfile
from datetime import timedelta

import torch
import torch.multiprocessing as mp
from sklearn.utils.validation import validate_data
from torch import distributed as dist

from ._data_parallel import train_rank
from ._distributed import all_ranks, broadcast_from_first, rank_and_world_size
from ._modalities import EncodedTable, Preprocessing, check_table
from ._network import TupleInfoNCEModule
from ._training import TrainingState, build_fusion_net, reconstruction_units

__all__ = ["PROCESS_GROUP", "check_data_parallel", "fit_input_once", "train_data_parallel"]

#: ``n_processes`` of a fit that is one rank of an existing process group.
PROCESS_GROUP = "process_group"

#: How long a rank waits for the others in a collective before it gives up; local ranks
#: take the value it has when the fit starts them.
TIMEOUT = timedelta(minutes=10)


def check_data_parallel(n_processes, config, *, warm_start, n_rows):
    """Raise ValueError (or RuntimeError, where the place forbids it) before any
    preprocessing, where a data-parallel fit of ``config`` cannot run as asked."""
    asked = f"n_processes={n_processes!r}"
    refusals = [
        (config.supervision is not None and config.label_loss != "cross_entropy",
         "trains a target-aware fusion with label_loss='cross_entropy' only: the supervised "
         "contrastive term would contrast the labelled rows of every process"),
        (config.partial_share > 0, "takes no partial-tuple batches: set partial_share=0"),
        (warm_start, "starts from new weights: set warm_start=False to fit anew, or "
                     "continue training with n_processes=1"),
        (config.training_module is not TupleInfoNCEModule,
         "trains TupleInfoNCEFusion's own training module only"),
    ]
    for refused, why in refusals:
        if refused:
            raise ValueError(f"A data-parallel fit ({asked}) {why}.")
    if n_processes == PROCESS_GROUP:
        if not (dist.is_available() and dist.is_initialized()):
            raise ValueError(f"{asked} joins the torch.distributed process group that "
                             "torchrun or Ray Train starts, but none is initialised here: "
                             "call torch.distributed.init_process_group first, or give a "
                             "number of local processes.")
        world_size = rank_and_world_size()[1]
    else:
        world_size = n_processes
        _refuse_spawning_here(asked)
        if config.device.type == "cuda" and n_processes > torch.cuda.device_count():
            raise ValueError(f"{asked} on device='cuda' takes one CUDA device per process; "
                             f"torch finds {torch.cuda.device_count()}.")
    if n_rows < 2 * world_size:
        raise ValueError(f"{world_size} processes need at least {2 * world_size} rows, two "
                         f"per process; got {n_rows}.")


def _refuse_spawning_here(asked):
    """Raise RuntimeError inside a worker that must not start processes of its own."""
    process = multiprocessing.current_process()
    worker = None
    if process.daemon or type(process).__name__ == "LokyProcess":
        worker = f"a joblib or multiprocessing worker ({process.name})"
    elif "distributed" in sys.modules and _in_dask_worker():
        worker = "a Dask worker"
    elif dist.is_available() and dist.is_initialized():
        worker = "a torch.distributed process group (torchrun, Ray Train)"
    if worker is not None:
        raise RuntimeError(f"{asked} starts local processes, which it cannot do inside "
                           f"{worker}: use n_processes='process_group' where a process group "
                           "exists, or n_processes=1.")


def _in_dask_worker():
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:
        return False
    return True


def fit_input_once(estimator, specs, X, device, labels=None):
    """As :func:`~sktnce._modalities.fit_input`, with the preprocessing fitted on rank 0
    alone and handed to the others, which encode their own copy of the table with it.
    Every rank must hold the same table (and ``labels``, where given): its encoding is
    checked alike on every rank."""
    X = check_table(X, estimator=estimator, min_rows=2)
    validate_data(estimator, X, reset=True, skip_check_array=True)
    fitted = {}

    def fit():
        fitted["preprocessing"], fitted["encoded"] = Preprocessing.fit(specs, X, device)
        return fitted["preprocessing"]

    preprocessing = broadcast_from_first(fit)
    encoded = fitted["encoded"] if "encoded" in fitted else preprocessing.transform(X, device)
    _check_same_table(encoded, labels)
    return preprocessing, encoded


def _check_same_table(encoded, labels):
    features, missing = encoded
    summary = [float(len(features)), float(features.double().sum()),
               float(features.double().square().sum()), float(missing.sum())]
    if labels is not None:
        codes = labels.codes.double()
        summary += [float(codes.sum()), float((codes * torch.arange(len(codes))).sum())]
    summaries = all_ranks(summary)
    if any(other != summaries[0] for other in summaries):
        raise ValueError("With n_processes='process_group', every process fits on the same "
                         "whole table (the ranks share every global batch), with the same "
                         "labels; these ranks' differ (rows, sums of their encoding, absent "
                         f"modalities, labels, rank by rank: {summaries}).")


def train_data_parallel(n_processes, config, encoded, setting, seeds, *, widths,
                        labels=None):
    """The :class:`~sktnce._training.TrainingState` of a data-parallel fit on ``encoded``
    (and ``labels``, a target-aware configuration's): a plain net (the single-process
    training module) holding the ranks' common weights."""
    training = (config, encoded, setting, seeds, widths, labels)
    if n_processes == PROCESS_GROUP:
        state, losses = _train(*training)
    else:
        state, losses = _train_on_local_processes(n_processes, training)
    n_classes = labels.n_classes if config.supervision is not None else 0
    net = build_fusion_net(config, widths, setting, seeds, initial_state=state,
                           scales=reconstruction_units(config, encoded, widths),
                           n_classes=n_classes)
    net.initialize()
    net.module_.eval()
    return TrainingState(net, tuple(losses), seeds.evaluation)


def _train(config, encoded, setting, seeds, widths, labels):
    return train_rank(config, encoded, setting, seeds, widths=widths, labels=labels)


def _on(device, encoded, labels):
    """``encoded`` and ``labels`` on ``device``."""
    encoded = EncodedTable(encoded.features.to(device), encoded.missing.to(device))
    return encoded, None if labels is None else labels._replace(codes=labels.codes.to(device))


def _train_on_local_processes(world_size, training):
    """Spawn ``world_size`` ranks, wait for all (a rank that raises terminates the others
    and raises here, with its traceback); rank 0's state and losses."""
    # Each rank takes its share of the caller's threads: a fixed count, so that a seeded
    # fit gives the same weights on the same machine.
    threads = max(1, torch.get_num_threads() // world_size)
    config, encoded, setting, seeds, widths, labels = training
    encoded, labels = _on("cpu", encoded, labels)
    with tempfile.TemporaryDirectory(prefix="sktnce-") as folder:
        result = os.path.join(folder, "rank0.pt")
        init_method = "file://" + os.path.join(folder, "rendezvous")
        mp.spawn(_run_rank, args=(world_size, init_method, threads, TIMEOUT,
                                  (config, encoded, setting, seeds, widths, labels), result),
                 nprocs=world_size, join=True)
        saved = torch.load(result, weights_only=True)
    return saved["state"], saved["losses"]


def _run_rank(rank, world_size, init_method, threads, timeout, training, result):
    """One local rank: its process group, its training, rank 0's result written out."""
    torch.set_num_threads(threads)
    config, encoded, setting, seeds, widths, labels = training
    backend = "gloo"
    if config.device.type == "cuda":
        backend, device = "nccl", torch.device("cuda", rank)
        torch.cuda.set_device(device)
        config = dataclasses.replace(config, device=device)
        encoded, labels = _on(device, encoded, labels)
    dist.init_process_group(backend, init_method=init_method, rank=rank,
                            world_size=world_size, timeout=timeout)
    try:
        state, losses = _train(config, encoded, setting, seeds, widths, labels)
        if rank == 0:
            torch.save({"state": {k: v.cpu() for k, v in state.items()}, "losses": losses},
                       result)
        # No rank tears its connections down while another still uses them: a rank whose
        # peer left first could abort in gloo's threads ("terminate called without an
        # active exception", seen once in CI). After a failure the others are killed.
        dist.barrier()
    finally:
        dist.destroy_process_group()
    _end_rank()


def _end_rank():
    """End a local rank that trained, wrote its result and destroyed its process group,
    as a forked process ends: by ``os._exit``, without the interpreter's finalisation.

    A spawned process otherwise ends through that finalisation, which tears down whatever
    torch's C++ side still holds (gloo's transport among it) in no set order, the
    interpreter half gone; a rank aborted once there or near it with "terminate called
    without an active exception" after the barrier above was in place. Nothing is left to
    do: the output streams are flushed here, rank 0's result is closed on disk, and a rank
    that raised never gets here (torch.multiprocessing reports its traceback).
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
