"""Data-parallel fits (``n_processes``): throughput, communication, probe accuracy.

1. Throughput: rows per second of an epoch of ``fit`` on W local processes against one
   process on all the machine's threads, interleaved, median of the repeats. An epoch's
   time is the difference between fits of ``--epochs`` epochs and of 1, over the difference,
   so that starting the processes (imports, rendezvous) is counted apart: the start-up.
2. Communication: what one rank's collectives send and take per training step (the
   embeddings and projections gathered, their gradients summed back, the gradient
   average), timed alone on W spawned ranks with a step's shapes, against the step.
3. Accuracy: the linear probe on the fused vector, 10% of the rows labelled, of a fusion
   fitted on W processes against one process, on study sets, one fit per split.

On a machine with W CUDA devices, ``--device cuda`` runs 1 and 2 on them (NCCL). Run alone.

    python benchmarks/bench_data_parallel.py --json benchmarks/results/data_parallel.json
    python benchmarks/bench_data_parallel.py --quick          # tiny sizes, a smoke run
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.multiprocessing as mp
from sklearn.metrics import accuracy_score
from torch import distributed as dist

from sktnce import TupleInfoNCEFusion
from sktnce._distributed import average_gradients, gather_rows

sys.path.insert(0, str(Path(__file__).resolve().parent))

import data  # noqa: E402
import results_io  # noqa: E402
from bench_cost import WIDTHS  # noqa: E402
from bench_cost import _data as throughput_table  # noqa: E402  (bench_cost's table)
from bench_label_efficiency import linear_probe, paired_splits  # noqa: E402


def fit_seconds(X, modalities, *, n_processes, epochs, batch_size, device):
    fusion = TupleInfoNCEFusion(modalities=modalities, n_processes=n_processes,
                                max_epochs=epochs, batch_size=batch_size, random_state=0,
                                device=device)
    start = time.perf_counter()
    fusion.fit(X)
    return time.perf_counter() - start


def throughput(n_rows, batch_sizes, world_sizes, epochs, repeats, device):
    """``{(batch_size, W): {"rows_per_s", "startup_s"}}``, medians of interleaved repeats."""
    X, modalities = throughput_table(n_rows)
    seconds = {(b, w, e): [] for b in batch_sizes for w in world_sizes for e in (1, epochs)}
    for _ in range(repeats):
        for key in seconds:
            batch_size, world_size, n_epochs = key
            seconds[key].append(fit_seconds(X, modalities, n_processes=world_size,
                                            epochs=n_epochs, batch_size=batch_size,
                                            device=device))
    figures = {}
    for b in batch_sizes:
        for w in world_sizes:
            long, short = (statistics.median(seconds[b, w, e]) for e in (epochs, 1))
            epoch = (long - short) / (epochs - 1)
            figures[b, w] = {"rows_per_s": n_rows / epoch, "startup_s": short - epoch,
                             "epoch_s": epoch}
    return figures


def _time_collectives(rank, world_size, init_file, shapes, repeats, out):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank,
                            world_size=world_size)
    try:
        torch.set_num_threads(1)
        share, embedding_width, projection_dim, n_parameters = shapes
        parameters = [torch.zeros(n_parameters, requires_grad=True)]
        times = []
        for _ in range(repeats + 1):  # the first warms the connections up
            start = time.perf_counter()
            embeddings = torch.randn(share, embedding_width, requires_grad=True)
            z1, z2 = (torch.randn(share, projection_dim, requires_grad=True) for _ in "12")
            gather_rows(torch.zeros(share, embedding_width // 32 or 1, dtype=torch.uint8))
            gathered = [gather_rows(t) for t in (embeddings, z1, z2)]
            sum(g.sum() for g in gathered).backward()
            parameters[0].grad = torch.ones(n_parameters)
            average_gradients(parameters)
            times.append(time.perf_counter() - start)
        if rank == 0:
            torch.save(statistics.median(times[1:]), out)
    finally:
        dist.destroy_process_group()


def communication(batch_size, world_size, repeats=50):
    """``{"bytes", "seconds"}`` of one rank's collectives in one training step of the
    default network on the throughput table, batch ``batch_size``."""
    X, modalities = throughput_table(64)
    fusion = TupleInfoNCEFusion(modalities=modalities, max_epochs=1, random_state=0).fit(X)
    encoder = fusion.net_.module_.encoder
    n_parameters = sum(p.numel() for p in encoder.parameters())
    k, e, p = len(WIDTHS), fusion.embedding_dim, fusion.projection_dim
    share = batch_size // world_size
    row = (k * e + 2 * p) * 4  # a row's embeddings and projections, float32
    # The gathers send the share to every other rank (absent flags as bytes); the sums of
    # the gathered rows' gradients and the gradient average are all_reduces, which send
    # 2 (W - 1) / W of their buffer in a ring.
    ring = 2 * (world_size - 1) / world_size
    sent = (world_size - 1) * share * (row + k) + ring * (batch_size * row + 4 * n_parameters)
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "seconds.pt")
        mp.spawn(_time_collectives, args=(world_size, os.path.join(folder, "init"),
                                          (share, k * e, p, n_parameters), repeats, out),
                 nprocs=world_size, join=True)
        return {"bytes": sent, "seconds": torch.load(out)}


def probe_accuracy(name, world_sizes, seeds, fraction=0.1):
    """``{W: [accuracy per split]}`` of the probe on fusions fitted on W processes."""
    X, y, modalities = data.LOADERS[name](data.study_rows(name))
    scores = {w: [] for w in world_sizes}
    for fraction_, rows, test in paired_splits(y, seeds, [fraction]):
        split = len(scores[world_sizes[0]])
        for w in world_sizes:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                Z = TupleInfoNCEFusion(modalities=modalities, n_processes=w,
                                       random_state=split).fit_transform(X)
                predicted = linear_probe().fit(Z[rows], y[rows]).predict(Z[test])
            scores[w].append(float(accuracy_score(y[test], predicted)))
    return scores


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[256, 1024])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--datasets", nargs="+", default=["generated", "multiple_features"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.batch_sizes, args.epochs, args.repeats = 2000, [256], 2, 1
        args.datasets, args.seeds = ["generated"], 1
    world_sizes = [1, args.processes]
    threads = torch.get_num_threads()
    lines = [f"Throughput: {args.rows} rows in 3 modalities ({sum(WIDTHS)} columns), default "
             f"network, {args.device}; one process on {threads} threads against "
             f"{args.processes} processes on {max(1, threads // args.processes)} each.", "",
             "| batch_size | processes | rows per second (epoch) | ratio to one process | "
             "start-up (s) | collectives per step (ms) | their share of a step | "
             "sent per step and rank (kB) |",
             "|---|---|---|---|---|---|---|---|"]
    figures = throughput(args.rows, args.batch_sizes, world_sizes, args.epochs,
                         args.repeats, args.device)
    results = {"throughput": figures, "communication": {}, "accuracy": {}}
    for b in args.batch_sizes:
        one = figures[b, 1]
        for w in world_sizes:
            f = figures[b, w]
            cells = ["", "", ""]
            if w > 1:
                comm = results["communication"][b] = communication(b, w)
                step = f["epoch_s"] / -(-args.rows // b)
                cells = [f"{1e3 * comm['seconds']:.2f}", f"{comm['seconds'] / step:.0%}",
                         f"{comm['bytes'] / 1e3:.0f}"]
            lines.append(f"| {b} | {w} | {f['rows_per_s']:,.0f} | "
                         f"{f['rows_per_s'] / one['rows_per_s']:.2f} | "
                         f"{f['startup_s']:.1f} | " + " | ".join(cells) + " |")
    lines += ["", f"Linear probe, 10% of the rows labelled, {args.seeds} splits, one fit each "
              "(default parameters):", "",
              "| data set | one process | " + f"{args.processes} processes | change |",
              "|---|---|---|---|"]
    for name in args.datasets:
        scores = results["accuracy"][name] = probe_accuracy(name, world_sizes, args.seeds)
        one, many = (np.asarray(scores[w]) for w in world_sizes)
        lines.append(f"| {name} | {one.mean():.3f} ± {one.std():.3f} | "
                     f"{many.mean():.3f} ± {many.std():.3f} | {many.mean() - one.mean():+.3f} |")
    results_io.report(lines, args.json, script="bench_data_parallel.py",
                      argv=sys.argv[1:] if argv is None else argv, results=results)


if __name__ == "__main__":
    main()
