"""Cost of the bilevel search: wall time and peak memory of TupleInfoNCESearch against one fit.

Time (default): on one generated data set, in one process, runs interleaved ``--repeats``
times (the median is reported):

- one TupleInfoNCEFusion fit of ``epochs_per_round * n_rounds`` epochs (the reference);
- the search with its defaults: a lineage trains those epochs on every row, and every
  round each candidate branches off it for one pass over ``branch_fraction`` (a quarter)
  of the 80% of rows that the reward does not hold out, the candidates stacked into one
  model; without overhead it costs ``1 + 0.8 * n_candidates * branch_fraction /
  epochs_per_round`` fits (1.33 here, 1.2 with the defaults' 5 epochs a round), plus the
  reward's evaluations;
- the same with ``batch_candidates=False``: each branch its own net, ``--n-jobs`` at a
  time, each on one torch thread;
- the rounds design (``branch_fraction=None, refit=True``): every
  candidate trains ``epochs_per_round`` epochs on the training rows, the best carries on,
  and the learned setting is refitted on all rows: ``n_candidates * 0.8 + 1`` fits.

Memory (``--memory N``): peak resident memory above the process's baseline, one fit against
one search (5 candidates, 2 rounds of 1 epoch), each in a fresh process on N generated rows:
"cold" in a process that has run nothing yet, "warm" after the same run on 300 rows, so that
what any run pays once (torch's and skorch's code and buffers, torch.func's for the batched
search) is in the baseline; with ``--device cuda`` also the peak of torch's CUDA allocator.

Run it alone on the machine: another busy process distorts timings badly on two cores.

    python benchmarks/bench_search.py                    # 5,000 rows, 5 rounds of 3 epochs
    python benchmarks/bench_search.py --n-rounds 10 --epochs-per-round 5   # the defaults
    python benchmarks/bench_search.py --n-jobs 2         # one-by-one candidates in 2 processes
    python benchmarks/bench_search.py --device cuda      # on a GPU
    python benchmarks/bench_search.py --memory 100000    # peak memory at 100k rows
    python benchmarks/bench_search.py --quick            # a smoke run on tiny data
    python benchmarks/bench_search.py --json benchmarks/results/search_cost.json
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent))

import results_io  # noqa: E402
from bench_cost import _PeakMemory, _rss_bytes  # noqa: E402

from sktnce import TupleInfoNCEFusion, TupleInfoNCESearch  # noqa: E402
from sktnce.datasets import make_multimodal_classification  # noqa: E402


def _estimators(modalities, *, n_rounds, epochs_per_round, n_candidates, n_jobs, device,
                random_state):
    fusion = TupleInfoNCEFusion(modalities=modalities, max_epochs=n_rounds * epochs_per_round,
                                device=device, random_state=random_state)

    def search(**params):
        return TupleInfoNCESearch(
            fusion, n_candidates=n_candidates, n_rounds=n_rounds,
            epochs_per_round=epochs_per_round, n_jobs=n_jobs, random_state=random_state,
            **params)

    return {"single fit": fusion, "search, batched": search(),
            "search, one by one": search(batch_candidates=False),
            "search, rounds": search(branch_fraction=None, refit=True)}


def _data(n_samples, random_state):
    X, _, columns = make_multimodal_classification(n_samples=n_samples, random_state=random_state)
    return X, [(name, StandardScaler(), cols) for name, cols in columns.items()]


def run(n_samples=5000, n_rounds=5, epochs_per_round=3, n_candidates=5, n_jobs=1,
        device="cpu", repeats=1, random_state=0):
    """Median seconds of each of :func:`_estimators`' fits, and their ratios to one fit."""
    X, modalities = _data(n_samples, random_state)
    estimators = _estimators(modalities, n_rounds=n_rounds, epochs_per_round=epochs_per_round,
                             n_candidates=n_candidates, n_jobs=n_jobs, device=device,
                             random_state=random_state)
    seconds = {name: [] for name in estimators}
    for _ in range(repeats):
        for name, estimator in estimators.items():
            if device != "cpu":
                torch.cuda.synchronize()
            start = time.perf_counter()
            estimator.fit(X)
            if device != "cpu":
                torch.cuda.synchronize()
            seconds[name].append(time.perf_counter() - start)
    medians = {name: float(np.median(times)) for name, times in seconds.items()}
    branch_fraction = estimators["search, batched"].branch_fraction
    return {
        "seconds": medians,
        "ratio": {name: t / medians["single fit"] for name, t in medians.items()},
        "no_overhead_ratio": 1 + 0.8 * n_candidates * branch_fraction / epochs_per_round,
        "no_overhead_ratio_rounds": n_candidates * (1 - 0.2) + 1,
    }


def memory_child(kind, n_samples, device, warm=False):
    """One fit or one search on ``n_samples`` rows, in this process: prints a JSON line.

    ``warm``: first run the same kind on 300 rows, so that the baseline already holds
    what any run pays once (libraries' code and buffers), and the peak is what the data
    costs.
    """
    sizes = [300, n_samples] if warm else [n_samples]
    for size in sizes:
        X, modalities = _data(size, 0)
        estimator = _estimators(modalities, n_rounds=2, epochs_per_round=1, n_candidates=5,
                                n_jobs=1, device=device, random_state=0)[kind]
        if size != n_samples:
            estimator.fit(X)
    baseline = _rss_bytes()
    sampler = _PeakMemory()
    sampler.start()
    estimator.fit(X)
    sampler.stop()
    result = {"kind": kind, "warm": warm, "n_samples": n_samples, "data_mb": X.nbytes / 2**20,
              "peak_over_baseline_mb": (sampler.peak - baseline) / 2**20}
    if device != "cpu":
        result["cuda_peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
    print(json.dumps(result))


def memory(n_samples, device="cpu"):
    """Peak memory of one fit and of each search, each in a fresh process, cold and warm."""
    results = {}
    for warm in ("cold", "warm"):
        for kind in ("single fit", "search, batched", "search, one by one", "search, rounds"):
            out = subprocess.run(
                [sys.executable, __file__, "--memory-child", kind, str(n_samples), device,
                 warm], check=True, capture_output=True, text=True).stdout
            results[warm, kind] = json.loads(out.strip().splitlines()[-1])
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description="Wall time and memory of the search.")
    parser.add_argument("--quick", action="store_true", help="tiny data, for a smoke test")
    parser.add_argument("--n-jobs", type=int, default=1,
                        help="processes of the one-by-one search")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats")
    parser.add_argument("--n-rounds", type=int, default=5)
    parser.add_argument("--epochs-per-round", type=int, default=3)
    parser.add_argument("--memory", type=int, metavar="N", help="peak memory at N rows")
    parser.add_argument("--memory-child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--json", help="write the table and the figures to this file")
    args = parser.parse_args(argv)
    if args.memory_child:
        kind, n_samples, device, warm = args.memory_child
        return memory_child(kind, int(n_samples), device, warm == "warm")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} torch threads, "
          f"device {args.device}")
    if args.memory:
        results = memory(args.memory, args.device)
        print(f"{args.memory} rows, X {results['cold', 'single fit']['data_mb']:.0f} MB; "
              "cold: a fresh process; warm: after the same run on 300 rows")
        for (warm, kind), result in results.items():
            reference = results[warm, "single fit"]
            line = (f"{warm} {kind:20s}: peak {result['peak_over_baseline_mb']:7.1f} MB "
                    "above baseline, "
                    f"{result['peak_over_baseline_mb'] / reference['peak_over_baseline_mb']:.2f}x")
            if "cuda_peak_mb" in result:
                line += (f"; CUDA {result['cuda_peak_mb']:.1f} MB, "
                         f"{result['cuda_peak_mb'] / reference['cuda_peak_mb']:.2f}x")
            print(line)
        if args.json:
            table = ["| run | cold peak | ratio | warm peak | ratio |", "|---|---|---|---|---|"]
            for kind in dict.fromkeys(kind for _, kind in results):
                cells = []
                for warm in ("cold", "warm"):
                    peak = results[warm, kind]["peak_over_baseline_mb"]
                    reference = results[warm, "single fit"]["peak_over_baseline_mb"]
                    cells += [f"{peak:.1f} MB", f"{peak / reference:.2f}"]
                table.append(f"| {kind} | " + " | ".join(cells) + " |")
            results_io.write(args.json, script="bench_search.py", argv=argv,
                             printed="\n".join(table), results=results)
        return results
    settings = {"n_jobs": args.n_jobs, "device": args.device, "repeats": args.repeats,
                "n_rounds": args.n_rounds, "epochs_per_round": args.epochs_per_round}
    if args.quick:
        settings.update(n_samples=200, n_rounds=2, epochs_per_round=1, repeats=1)
    results = run(**settings)
    for name, seconds in results["seconds"].items():
        print(f"{name:20s}: {seconds:7.2f} s  {results['ratio'][name]:5.2f}x")
    print(f"(without overhead or batching gains: {results['no_overhead_ratio']:.2f}x; "
          f"rounds: {results['no_overhead_ratio_rounds']:.1f}x)")
    if args.json:
        table = ["| run | seconds | x single fit |", "|---|---|---|"] + [
            f"| {name} | {seconds:.2f} | {results['ratio'][name]:.2f} |"
            for name, seconds in results["seconds"].items()]
        results_io.write(args.json, script="bench_search.py", argv=argv,
                         printed="\n".join(table), results=results)
    return results


if __name__ == "__main__":
    main()
