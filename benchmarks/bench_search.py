"""Cost of the bilevel search: wall time of TupleInfoNCESearch against one plain fit.

On one generated data set, in one process: a search with ``n_candidates=5`` trains every
candidate ``epochs_per_round`` epochs per round; the reference is a single
TupleInfoNCEFusion fit with ``epochs_per_round * n_rounds`` epochs, the epochs of one
candidate's path. The ideal ratio, with no overhead, is about
``n_candidates * (1 - validation_fraction) / n_jobs + 1`` (the search trains on the rows it
does not hold out for the reward, then refits the learned setting on all rows with the same
epochs as the reference), plus the reward's evaluations. Prints both times and the ratio.

Run it alone on the machine: another busy process distorts timings badly on two cores.
The search trains each candidate with one torch thread (so its result does not depend on
n_jobs); ``--single-threads`` sets the threads of the reference fit (default: the same, 1).

    python benchmarks/bench_search.py                  # 5,000 rows, 5 rounds of 3 epochs
    python benchmarks/bench_search.py --n-jobs 2       # candidates in 2 processes
    python benchmarks/bench_search.py --quick          # a smoke run on tiny data
"""

import argparse
import time

import numpy as np
import torch
from sklearn.preprocessing import StandardScaler

from sktnce import TupleInfoNCEFusion, TupleInfoNCESearch
from sktnce.datasets import make_multimodal_classification


def run(n_samples=5000, n_rounds=5, epochs_per_round=3, n_candidates=5, n_jobs=1,
        single_threads=1, random_state=0):
    X, _, columns = make_multimodal_classification(n_samples=n_samples, random_state=random_state)
    modalities = [(name, StandardScaler(), cols) for name, cols in columns.items()]
    fusion = TupleInfoNCEFusion(modalities=modalities, max_epochs=n_rounds * epochs_per_round,
                                random_state=random_state)
    search = TupleInfoNCESearch(
        fusion, n_candidates=n_candidates, n_rounds=n_rounds, epochs_per_round=epochs_per_round,
        n_jobs=n_jobs, random_state=random_state,
    )
    single = TupleInfoNCEFusion(modalities=modalities, max_epochs=n_rounds * epochs_per_round,
                                random_state=random_state)

    previous = torch.get_num_threads()
    torch.set_num_threads(single_threads)
    try:
        start = time.perf_counter()
        single.fit(X)
        single_seconds = time.perf_counter() - start
    finally:
        torch.set_num_threads(previous)
    start = time.perf_counter()
    search.fit(X)
    search_seconds = time.perf_counter() - start
    return {
        "single_seconds": single_seconds,
        "search_seconds": search_seconds,
        "ratio": search_seconds / single_seconds,
        "ideal_ratio": n_candidates * (1 - search.validation_fraction) / max(1, n_jobs)
        + search.refit,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description="Wall time of the search against one fit.")
    parser.add_argument("--quick", action="store_true", help="tiny data, for a smoke test")
    parser.add_argument("--n-jobs", type=int, default=1, help="candidates trained in parallel")
    parser.add_argument("--single-threads", type=int, default=1,
                        help="torch threads of the reference fit")
    args = parser.parse_args(argv)
    settings = {"n_jobs": args.n_jobs, "single_threads": args.single_threads}
    if args.quick:
        settings.update(n_samples=200, n_rounds=2, epochs_per_round=1)
    results = run(**settings)
    print(f"torch {torch.__version__}, numpy {np.__version__}, n_jobs={args.n_jobs}, "
          f"reference fit on {args.single_threads} thread(s)")
    print(f"single fit : {results['single_seconds']:.2f} s")
    print(f"search     : {results['search_seconds']:.2f} s")
    print(f"ratio      : {results['ratio']:.2f} (ideal, without overhead: "
          f"{results['ideal_ratio']:.2f})")
    return results


if __name__ == "__main__":
    main()
