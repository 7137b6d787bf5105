"""The defaults study: TupleInfoNCE under changed settings, across every study data set at once.

Each setting is a dict of TupleInfoNCEFusion parameters over the library's defaults. Every
setting is fitted ``--fit-seeds`` times per data set (``random_state`` 0, 1, ...) and probed as
in ``bench_label_efficiency.py`` (the same paired splits, ``--seeds`` of them) at 1%, 5% and
10% of the labels; a cell is the mean over fits and splits. Prints one row per setting: the
probe per data set, its mean and worst change against the first setting (the baseline, ``{}``
by default; a data set's change is its mean over the label shares) and how many data sets it
improves. Then the leave-one-set-out choice: for each data set, the setting with the best mean
change over the *other* sets, what it scored on the held-out set, and the regret against the
best setting there. Choose a default by the held-out figures, never by one data set. One fit
per setting is not enough to choose: two fits of one setting can differ by more than two
settings do (``RESULTS.md``).

    python benchmarks/bench_defaults.py "[{}, {'temperature': 0.2}, {'batch_size': 512}]"
    python benchmarks/bench_defaults.py "[{}, {'corruption': 0.1}]" --datasets adult movielens
    python benchmarks/bench_defaults.py "[{}, {'reconstruction': 0.0}]" --fit-seeds 3
    python benchmarks/bench_defaults.py "[{}, {'n_components': 64}]" --datasets adult --json a.json
    python benchmarks/bench_defaults.py "[{}, {'n_components': 64}]" --from-json a.json b.json
    python benchmarks/bench_defaults.py "[{}, {'variant': 'periodic'}]"  # methods.VARIANTS
    python benchmarks/bench_defaults.py "[{}, {'variant': 'periodic'}]" --time  # fit-time ratios

A setting's ``"variant"`` key names a variant of the training module in
``methods.VARIANTS`` (periodic numeric embeddings, corruption from nearby values), tried
here before it becomes a parameter; its other keys are parameters as usual.
"""

import argparse
import ast
import json
import statistics
import sys
import time
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
                fusion = methods.variant(modalities, **{"random_state": fit_seed, **params})
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", category=UserWarning)
                    Z = methods.as_array(fusion.fit_transform(X))
                for fraction, accuracies in probe_curve(Z, y, seeds, FRACTIONS).items():
                    scores[fraction] += accuracies
            results[i][name] = {f: float(np.mean(scores[f])) for f in FRACTIONS}
            print(f"  {name} {params}: " + "  ".join(
                f"{f:.0%} {results[i][name][f]:.3f}" for f in FRACTIONS), flush=True)
    return results


def fit_time_ratios(settings, datasets, *, n_samples=None, repeats=3):
    """{dataset: [median fit seconds of each setting / the baseline's]}: the settings'
    fits interleaved ``repeats`` times in this process (``random_state=0``). Run alone."""
    ratios = {}
    for name in datasets:
        X, _, modalities = data.LOADERS[name](n_samples=n_samples or data.STUDY_SIZES[name])
        seconds = [[] for _ in settings]
        for _ in range(repeats):
            for i, params in enumerate(settings):
                fusion = methods.variant(modalities, **{"random_state": 0, **params})
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", category=UserWarning)
                    fusion.fit(X)
                seconds[i].append(time.perf_counter() - start)
        medians = [statistics.median(s) for s in seconds]
        ratios[name] = [m / medians[0] for m in medians]
        print(f"  {name}: baseline {medians[0]:.1f} s; " + "  ".join(
            f"{_label(p)} {r:.2f}x" for p, r in zip(settings[1:], ratios[name][1:])),
            flush=True)
    return ratios


def changes(results, datasets):
    """{setting index: {dataset: change against setting 0, averaged over the label shares}}."""
    base = results[0]
    return {i: {name: float(np.mean([by_set[name][f] - base[name][f] for f in FRACTIONS]))
                for name in datasets}
            for i, by_set in results.items()}


def leave_one_set_out(results, datasets):
    """For each held-out data set: the setting chosen by its mean change over the others,
    its change on the held-out set, the best change there, and the regret (best - chosen)."""
    if len(datasets) < 2:
        return []
    change = changes(results, datasets)
    rows = []
    for held_out in datasets:
        others = [name for name in datasets if name != held_out]
        chosen = max(change, key=lambda i: (np.mean([change[i][n] for n in others]), -i))
        best = max(change, key=lambda i: (change[i][held_out], -i))
        rows.append({"held_out": held_out, "chosen": chosen,
                     "chosen_change": change[chosen][held_out], "best": best,
                     "best_change": change[best][held_out],
                     "regret": change[best][held_out] - change[chosen][held_out]})
    return rows


def read_json(paths, n_settings):
    """``(results, datasets)`` merged from ``--json`` files of the same settings."""
    results = {i: {} for i in range(n_settings)}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for i, by_set in json.load(f).items():
                for name, cells in by_set.items():
                    results[int(i)][name] = {float(k): v for k, v in cells.items()}
    return results, list(results[0])


def _label(params):
    return "defaults" if not params else ", ".join(f"{k}={v}" for k, v in params.items())


def markdown(settings, results, datasets):
    header = " | ".join(f"{name} {f:.0%}" for name in datasets for f in FRACTIONS)
    lines = [f"| setting | {header} | mean change | worst change | data sets improved (10%) |",
             "|---" * (len(datasets) * len(FRACTIONS) + 4) + "|"]
    base = results[0]
    change = changes(results, datasets)
    for i, params in enumerate(settings):
        cells = [f"{results[i][name][f]:.3f}" for name in datasets for f in FRACTIONS]
        per_set = list(change[i].values())
        improved = sum(results[i][name][0.1] > base[name][0.1] for name in datasets)
        lines.append(f"| {_label(params)} | " + " | ".join(cells)
                     + f" | {np.mean(per_set):+.3f} | {min(per_set):+.3f}"
                     + f" | {improved}/{len(datasets)} |")
    rows = leave_one_set_out(results, datasets)
    if not rows:
        return "\n".join(lines + ["", "(the leave-one-set-out choice needs two data sets)"])
    lines += ["", "| held-out data set | chosen on the others | its change there | best there "
              "| best change | regret |", "|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['held_out']} | {_label(settings[row['chosen']])} "
                     f"| {row['chosen_change']:+.3f} | {_label(settings[row['best']])} "
                     f"| {row['best_change']:+.3f} | {row['regret']:.3f} |")
    held_out = np.mean([row["chosen_change"] for row in rows])
    regret = np.mean([row["regret"] for row in rows])
    lines.append(f"| mean | | {held_out:+.3f} | | | {regret:.3f} |")
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
    parser.add_argument("--json", help="write the cells to this file")
    parser.add_argument("--time", action="store_true",
                        help="measure each setting's fit time against the baseline's instead")
    parser.add_argument("--from-json", nargs="+", metavar="FILE",
                        help="report the cells of earlier runs of the same settings (on "
                             "other data sets, say) instead of running")
    args = parser.parse_args(argv)
    settings = ast.literal_eval(args.settings)
    if args.time:
        return fit_time_ratios(settings, args.datasets, n_samples=args.n_samples), None
    if args.from_json:
        results, datasets = read_json(args.from_json, len(settings))
    else:
        datasets = args.datasets
        results = study(settings, datasets, seeds=args.seeds, n_samples=args.n_samples,
                        fit_seeds=args.fit_seeds)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({str(i): {name: {str(k): v for k, v in cells.items()}
                                for name, cells in by_set.items()}
                       for i, by_set in results.items()}, f, indent=1)
    report = markdown(settings, results, datasets)
    print(report)
    return results, report


if __name__ == "__main__":
    main()
