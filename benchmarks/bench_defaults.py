"""Probe accuracy of TupleInfoNCE under changed defaults, to tune them across data sets.

    python benchmarks/bench_defaults.py multiple_features "[{}, {'modality_dropout': 0.3}]"
    python benchmarks/bench_defaults.py clothing_tfidf "[{}, {'corruption': 0.1}]" --n-samples 5000

Each setting is a dict of TupleInfoNCEFusion parameters over the library's defaults; prints
the probe's accuracy with 10% and 100% of the labels (2 seeds, as bench_quality.py) and the
mean cross-modal accuracy.
"""

import argparse
import ast
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import data  # noqa: E402
import methods  # noqa: E402
from bench_quality import probe_scores  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=list(data.LOADERS))
    parser.add_argument("settings", help="a Python list of parameter dicts")
    parser.add_argument("--n-samples", type=int, default=None)
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args(argv)
    X, y, modalities = data.LOADERS[args.dataset](n_samples=args.n_samples)
    results = []
    for params in ast.literal_eval(args.settings):
        fusion = methods.tuple_infonce(modalities, **{"random_state": 0, **params})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            Z = fusion.fit_transform(X)
        scores = probe_scores(Z, y, args.seeds)
        results.append((params, np.mean(scores[0.1]), np.mean(scores[1.0]), fusion.score(X)))
        print(f"{args.dataset} {params}: 10% {results[-1][1]:.3f}  100% {results[-1][2]:.3f}  "
              f"score {results[-1][3]:.3f}", flush=True)
    return results


if __name__ == "__main__":
    main()
