"""Linear-probe quality of each representation, with few and with all labels.

For each data set and method: the representation is learned without labels on all rows;
then, for each of 5 seeds, a stratified 70/30 split; StandardScaler + LogisticRegression is
trained on 10% and on 100% of the training labels and scored on the test rows. The
supervised MLP reference trains on the same labelled rows. Also reports, for the sktnce
models, each modality's cross-modal accuracy A^k (top-1 among ``score_chunk_size``).

    python benchmarks/bench_quality.py                       # all data sets, full settings
    python benchmarks/bench_quality.py --quick               # small samples, few epochs
    python benchmarks/bench_quality.py --datasets generated multiple_features
    python benchmarks/bench_quality.py --json benchmarks/results/quality.json
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

import data
import methods
import results_io
from bench_label_efficiency import paired_splits, probe_curve

# max_epochs None: the library's default, since the defaults are what is being judged.
FULL = {"n_samples": None, "max_epochs": None, "seeds": 5,
        "search": {"n_rounds": 8, "epochs_per_round": 5, "n_candidates": 5}}
QUICK = {"n_samples": 1500, "max_epochs": 15, "seeds": 2,
         "search": {"n_rounds": 3, "epochs_per_round": 5, "n_candidates": 4}}
LABEL_FRACTIONS = (0.1, 1.0)


def probe_scores(Z, y, seeds):
    """{fraction: [test accuracy per seed]} of a linear probe on the representation Z."""
    return probe_curve(Z, y, seeds, LABEL_FRACTIONS)


def supervised_scores(X, y, modalities, seeds):
    scores = {f: [] for f in LABEL_FRACTIONS}
    for index, (fraction, rows, test) in enumerate(paired_splits(y, seeds, LABEL_FRACTIONS)):
        model = methods.supervised_mlp(modalities, random_state=index // len(LABEL_FRACTIONS))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=ConvergenceWarning)
            model.fit(X.iloc[rows], y[rows])
        scores[fraction].append(model.score(X.iloc[test], y[test]))
    return scores


def run_dataset(name, settings, only=None):
    X, y, modalities = data.LOADERS[name](n_samples=settings["n_samples"])
    neural = {"random_state": 0}
    if settings["max_epochs"] is not None:
        neural["max_epochs"] = settings["max_epochs"]
    rows = []
    for method, factory in methods.UNSUPERVISED.items():
        if only and method not in only:
            continue
        if method == "TupleInfoNCE, searched":
            model = factory(modalities, search={**settings["search"], "random_state": 0},
                            **neural)
        elif method in methods.NEURAL:
            model = factory(modalities, **neural)
        else:
            model = factory(modalities)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            Z = methods.as_array(model.fit_transform(X))
        seconds = time.perf_counter() - start
        row = {"method": method, "fit_s": seconds, "scores": probe_scores(Z, y, settings["seeds"])}
        if hasattr(model, "cross_modal_accuracy"):
            row["A"] = model.cross_modal_accuracy(X)
            fitted = getattr(model, "best_estimator_", model)
            row["alpha"] = fitted.alpha_
        rows.append(row)
        print(f"  {method:<30} {_cell(row['scores'][0.1])}  {_cell(row['scores'][1.0])}"
              f"  {seconds:7.1f}s", flush=True)
    start = time.perf_counter()
    rows.append({"method": "supervised MLP (reference)",
                 "scores": supervised_scores(X, y, modalities, settings["seeds"]),
                 "fit_s": (time.perf_counter() - start) / (2 * settings["seeds"])})
    return rows, [m[0] for m in modalities], len(y), np.bincount(y).max() / len(y)


def _cell(values):
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def markdown(name, rows, names, n_rows, majority):
    lines = [f"### {name} ({n_rows} rows; majority class {majority:.3f})", "",
             "| method | probe, 10% labels | probe, 100% labels | "
             + " | ".join(f"A^{n}" for n in names) + " | fit (s) |",
             "|---" * (4 + len(names)) + "|"]
    for row in rows:
        accuracies = [f"{row['A'][n]:.3f}" if "A" in row else "" for n in names]
        lines.append(f"| {row['method']} | {_cell(row['scores'][0.1])} | "
                     f"{_cell(row['scores'][1.0])} | " + " | ".join(accuracies)
                     + f" | {row['fit_s']:.1f} |")
    learned = [row for row in rows if row["method"] == "TupleInfoNCE, searched"]
    if learned:
        alpha = ", ".join(f"{k} {v:.2f}" for k, v in learned[0]["alpha"].items())
        lines += ["", f"Learned alpha: {alpha}."]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--datasets", nargs="+", default=list(data.LOADERS))
    parser.add_argument("--methods", nargs="+", default=None)
    parser.add_argument("--n-samples", type=int, default=None)
    parser.add_argument("--json", help="write the tables and every score to this file")
    args = parser.parse_args(argv)
    settings = dict(QUICK if args.quick else FULL)
    if args.n_samples:
        settings["n_samples"] = args.n_samples
    reports, results = [], {}
    for name in args.datasets:
        print(f"{name}:", flush=True)
        rows, names, n_rows, majority = run_dataset(name, settings, args.methods)
        report = markdown(name, rows, names, n_rows, majority)
        print(report, flush=True)
        reports.append(report)
        results[name] = rows
        if args.json:  # after every data set, so that a run cut short keeps what it measured
            results_io.write(args.json, script="bench_quality.py", argv=argv,
                             printed="\n\n".join(reports), results=results)
    return reports


if __name__ == "__main__":
    main()
