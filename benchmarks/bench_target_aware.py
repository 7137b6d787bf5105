"""Target-aware training (``label_weight``): which supervised term, what weight, and leakage.

Two studies, on the study sets of ``bench_label_efficiency.py`` and its paired splits:

``choose``: every setting (a ``label_loss:label_weight`` pair; ``none`` is the unsupervised
default) is fitted once per split and label share (``random_state`` = the split's seed) on
all rows, with the labels of exactly the probe's labelled rows and -1 elsewhere (test rows
included), then probed as in the label-efficiency study. Prints each setting's probe per
data set and share, its change against ``none``, and the leave-one-set-out choice.

``leakage``: the Pipeline's honest protocol. The fusion is fitted on the training rows
alone (the test rows never seen), with their labels at the share; the probe trains on the
labelled rows' embeddings and scores the test rows, transformed afterwards. Against it:
the same fit on all rows (the transductive protocol of ``choose``), the unsupervised
fusion, and cross-fitting as scikit-learn's ``TargetEncoder.fit_transform`` does it (the
probe trains on out-of-fold embeddings: each of 3 folds' rows embedded by a fit that never
saw their labels; the test rows by the fit on all labels). ``train - test`` is the probe's
accuracy on its own labelled rows minus the test accuracy.

    OMP_NUM_THREADS=1 python benchmarks/bench_target_aware.py choose --datasets adult \
        --settings none cross_entropy:1 cross_entropy:3 supcon:1 --fractions 0.01 0.1
    OMP_NUM_THREADS=1 python benchmarks/bench_target_aware.py leakage --datasets adult \
        --setting cross_entropy:3 --fractions 0.1 1.0
"""

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parent))

import data  # noqa: E402
import methods  # noqa: E402
from bench_label_efficiency import linear_probe, paired_splits, partial_labels  # noqa: E402

UNSUPERVISED = "none"


def parse_setting(text):
    """``"cross_entropy:3"`` -> the fusion parameters; ``"none"`` -> {} (unsupervised)."""
    if text == UNSUPERVISED:
        return {}
    loss, weight = text.split(":")
    return {"label_loss": loss, "label_weight": float(weight)}


def _embed(modalities, params, seed, X_fit, y_fit, X_out=None):
    """Fit a fusion on ``X_fit`` (with ``y_fit`` when target-aware); embed ``X_fit`` and,
    if given, ``X_out``."""
    fusion = methods.tuple_infonce(modalities, **params, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        Z = methods.as_array(fusion.fit_transform(X_fit, y_fit if params else None))
        return Z, None if X_out is None else methods.as_array(fusion.transform(X_out))


def choose(name, settings, fractions, splits, n_samples=None):
    """[{dataset, setting, fraction, split, accuracy}] of the transductive protocol."""
    X, y, modalities = data.LOADERS[name](n_samples=data.study_rows(name, n_samples))
    rows = []
    unsupervised = {}
    for index, (fraction, labelled, test) in enumerate(paired_splits(y, splits, fractions)):
        split = index // len(fractions)
        for setting in settings:
            params = parse_setting(setting)
            if not params and split in unsupervised:  # no labels: one fit per split
                Z = unsupervised[split]
            else:
                Z, _ = _embed(modalities, params, split, X, partial_labels(y, labelled))
                if not params:
                    unsupervised[split] = Z
            score = float(linear_probe().fit(Z[labelled], y[labelled]).score(Z[test], y[test]))
            rows.append({"dataset": name, "setting": setting, "fraction": fraction,
                         "split": split, "accuracy": score})
            print(f"  {name} {setting} {fraction:.0%} split {split}: {score:.3f}", flush=True)
    return rows


def _cross_fitted(modalities, params, seed, X_train, y_train, X_test, folds=3):
    """Out-of-fold embeddings of the training rows, and the test rows' embeddings by the
    fit on every label (TargetEncoder's scheme)."""
    Z_train = None
    labelled = np.flatnonzero(y_train != -1)
    n_folds = min(folds, np.bincount(y_train[labelled]).max())
    splitter = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
    for _, held in splitter.split(labelled, y_train[labelled]):
        hidden = y_train.copy()
        hidden[labelled[held]] = -1
        Z, _ = _embed(modalities, params, seed, X_train, hidden)
        if Z_train is None:
            Z_train = Z.copy()
        Z_train[labelled[held]] = Z[labelled[held]]
    _, Z_test = _embed(modalities, params, seed, X_train, y_train, X_test)
    return Z_train, Z_test


def leakage(name, setting, fractions, splits, cross_fit, n_samples=None):
    """[{dataset, protocol, fraction, split, accuracy, train_accuracy}]."""
    X, y, modalities = data.LOADERS[name](n_samples=data.study_rows(name, n_samples))
    params = parse_setting(setting)
    rows = []
    for index, (fraction, labelled, test) in enumerate(paired_splits(y, splits, fractions)):
        split = index // len(fractions)
        train = np.setdiff1d(np.arange(len(y)), test)
        X_train, X_test = X.iloc[train], X.iloc[test]
        # positions of the labelled rows among the training rows
        position = np.searchsorted(train, labelled)
        y_train = partial_labels(y[train], position)
        embeddings = {
            "inductive, unsupervised": _embed(modalities, {}, split, X_train, None, X_test),
            "inductive, target-aware": _embed(modalities, params, split, X_train, y_train,
                                              X_test),
        }
        Z_all, _ = _embed(modalities, params, split, X, partial_labels(y, labelled))
        embeddings["transductive, target-aware"] = (Z_all[train], Z_all[test])
        if cross_fit:
            embeddings["inductive, cross-fitted"] = _cross_fitted(
                modalities, params, split, X_train, y_train, X_test)
        for protocol, (Z_train, Z_test) in embeddings.items():
            probe = linear_probe().fit(Z_train[position], y[labelled])
            rows.append({"dataset": name, "protocol": protocol, "fraction": fraction,
                         "split": split,
                         "accuracy": float(probe.score(Z_test, y[test])),
                         "train_accuracy": float(probe.score(Z_train[position],
                                                             y[labelled]))})
            print(f"  {name} {protocol} {fraction:.0%} split {split}: "
                  f"{rows[-1]['accuracy']:.3f} (train {rows[-1]['train_accuracy']:.3f})",
                  flush=True)
    return rows


def _mean(rows, **where):
    values = [r["accuracy"] for r in rows if all(r[k] == v for k, v in where.items())]
    return float(np.mean(values)), float(np.std(values)), len(values)


def _cell(mean, std, n):
    """``mean ± std``, or the mean alone where one value has no spread to show."""
    return f"{mean:.3f} ± {std:.3f}" if n > 1 else f"{mean:.3f}"


def choose_report(rows):
    """The markdown table of ``choose``'s rows and the leave-one-set-out choice."""
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    settings = list(dict.fromkeys(r["setting"] for r in rows))
    fractions = sorted({r["fraction"] for r in rows})
    head = " | ".join(f"{n} {f:.0%}" for n in datasets for f in fractions)
    lines = [f"| setting | {head} | mean change |", "|---" * (len(datasets) * len(fractions) + 2)
             + "|"]
    change = {}
    for setting in settings:
        cells, deltas = [], {}
        for name in datasets:
            deltas[name] = []
            for f in fractions:
                mean, std, n = _mean(rows, dataset=name, setting=setting, fraction=f)
                cells.append(_cell(mean, std, n))
                if UNSUPERVISED in settings:
                    deltas[name].append(mean - _mean(rows, dataset=name, setting=UNSUPERVISED,
                                                     fraction=f)[0])
        change[setting] = {n: float(np.mean(d)) if d else 0.0 for n, d in deltas.items()}
        overall = np.mean(list(change[setting].values()))
        lines.append(f"| {setting} | " + " | ".join(cells) + f" | {overall:+.3f} |")
    lines += ["", "| held out | chosen on the others | its change there | best there | regret |",
              "|---|---|---|---|---|"]
    for held in datasets:
        others = [n for n in datasets if n != held]
        chosen = max(settings, key=lambda s: np.mean([change[s][n] for n in others]))
        best = max(settings, key=lambda s: change[s][held])
        lines.append(f"| {held} | {chosen} | {change[chosen][held]:+.3f} | {best} "
                     f"({change[best][held]:+.3f}) | "
                     f"{change[best][held] - change[chosen][held]:.3f} |")
    return "\n".join(lines)


def leakage_report(rows):
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    protocols = list(dict.fromkeys(r["protocol"] for r in rows))
    fractions = sorted({r["fraction"] for r in rows})
    lines = ["| data set | labels | " + " | ".join(protocols) + " |",
             "|---" * (len(protocols) + 2) + "|"]
    for name in datasets:
        for f in fractions:
            cells = []
            for protocol in protocols:
                picked = [r for r in rows if r["dataset"] == name and r["protocol"] == protocol
                          and r["fraction"] == f]
                accuracies = [r["accuracy"] for r in picked]
                gap = np.mean([r["train_accuracy"] - r["accuracy"] for r in picked])
                cells.append(_cell(np.mean(accuracies), np.std(accuracies), len(picked))
                             + f" (train - test {gap:+.3f})")
            lines.append(f"| {name} | {f:.0%} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", choices=["choose", "leakage", "report"])
    parser.add_argument("--datasets", nargs="+", default=list(data.STUDY_SIZES))
    parser.add_argument("--settings", nargs="+", default=[UNSUPERVISED, "cross_entropy:1"])
    parser.add_argument("--setting", default="cross_entropy:1", help="leakage's setting")
    parser.add_argument("--fractions", nargs="+", type=float, default=[0.01, 0.1])
    parser.add_argument("--splits", type=int, default=2)
    parser.add_argument("--no-cross-fit", action="store_true")
    parser.add_argument("--n-samples", type=int, default=None,
                        help="rows of every data set (default: data.STUDY_SIZES; 0: all)")
    parser.add_argument("--json", help="write (choose, leakage) or read (report) the rows")
    args = parser.parse_args(argv)
    if args.study == "report":
        rows = []
        for path in args.json.split(","):
            with open(path, encoding="utf-8") as f:
                rows += json.load(f)
        print(leakage_report(rows) if "protocol" in rows[0] else choose_report(rows))
        return rows
    rows = []
    for name in args.datasets:
        if args.study == "choose":
            rows += choose(name, args.settings, args.fractions, args.splits, args.n_samples)
        else:
            rows += leakage(name, args.setting, args.fractions, args.splits,
                            cross_fit=not args.no_cross_fit, n_samples=args.n_samples)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=1)
    print(choose_report(rows) if args.study == "choose" else leakage_report(rows))
    return rows


if __name__ == "__main__":
    main()
