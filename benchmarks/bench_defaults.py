"""The defaults study: TupleInfoNCE under changed settings, across every study data set at once.

Each setting is a dict of TupleInfoNCEFusion parameters over the library's defaults. Every
setting is fitted ``--fit-seeds`` times per data set (``random_state`` 0, 1, ...) and probed as
in ``bench_label_efficiency.py`` (the same paired splits, ``--seeds`` of them) at 1%, 5% and
10% of the labels; a cell is the mean over fits and splits. Prints one row per setting: the
probe per data set, its mean change against the first setting (the baseline, ``{}`` by
default) and how many data sets it improves. Choose a default by this table, across the data
sets, never by one of them. One fit per setting is not enough to choose: two fits of one
setting can differ by more than two settings do (``RESULTS.md``).

    python benchmarks/bench_defaults.py "[{}, {'temperature': 0.2}, {'batch_size': 512}]"
    python benchmarks/bench_defaults.py "[{}, {'corruption': 0.1}]" --datasets adult movielens
    python benchmarks/bench_defaults.py "[{}, {'reconstruction': 0.0}]" --fit-seeds 3
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
from bench_label_efficiency import probe_curve  # noqa: E402

FRACTIONS = (0.01, 0.05, 0.1)


def study(settings, datasets, *, seeds=5, n_samples=None, fit_seeds=1):
    """{setting index: {dataset: {fraction: mean probe accuracy}}}."""
    results = {i: {} for i in range(len(settings))}
    for name in datasets:
        X, y, modalities = data.LOADERS[name](n_samples=n_samples or data.STUDY_SIZES[name])
        for i, params in enumerate(settings):
            scores = {f: [] for f in FRACTIONS}
            for fit_seed in range(fit_seeds):
                fusion = methods.tuple_infonce(modalities, **{"random_state": fit_seed, **params})
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", category=UserWarning)
                    Z = methods.as_array(fusion.fit_transform(X))
                for fraction, accuracies in probe_curve(Z, y, seeds, FRACTIONS).items():
                    scores[fraction] += accuracies
            results[i][name] = {f: float(np.mean(scores[f])) for f in FRACTIONS}
            print(f"  {name} {params}: " + "  ".join(
                f"{f:.0%} {results[i][name][f]:.3f}" for f in FRACTIONS), flush=True)
    return results


def markdown(settings, results, datasets):
    header = " | ".join(f"{name} {f:.0%}" for name in datasets for f in FRACTIONS)
    lines = [f"| setting | {header} | mean change | data sets improved (10%) |",
             "|---" * (len(datasets) * len(FRACTIONS) + 3) + "|"]
    base = results[0]
    for i, params in enumerate(settings):
        cells = [f"{results[i][name][f]:.3f}" for name in datasets for f in FRACTIONS]
        change = np.mean([results[i][name][f] - base[name][f]
                          for name in datasets for f in FRACTIONS])
        improved = sum(results[i][name][0.1] > base[name][0.1] for name in datasets)
        label = "defaults" if not params else ", ".join(f"{k}={v}" for k, v in params.items())
        lines.append(f"| {label} | " + " | ".join(cells)
                     + f" | {change:+.3f} | {improved}/{len(datasets)} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("settings", help="a Python list of parameter dicts, baseline first")
    parser.add_argument("--datasets", nargs="+", default=list(data.STUDY_SIZES))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--fit-seeds", type=int, default=1,
                        help="fits of every setting (random_state 0, 1, ...)")
    parser.add_argument("--n-samples", type=int, default=None,
                        help="rows of every data set (default: data.STUDY_SIZES)")
    args = parser.parse_args(argv)
    settings = ast.literal_eval(args.settings)
    results = study(settings, args.datasets, seeds=args.seeds, n_samples=args.n_samples,
                    fit_seeds=args.fit_seeds)
    report = markdown(settings, results, args.datasets)
    print(report)
    return results, report


if __name__ == "__main__":
    main()
