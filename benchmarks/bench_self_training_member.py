"""A member that reads the unlabelled rows: does self-training on the fused vector add to
TupleInfoNCEEnsembleClassifier's default members?

The fusion is the only part of the ensemble that learns from the rows without a label; its
members train on the labelled rows alone. This study adds one member that reads them too:
``SelfTrainingClassifier(LogisticRegression())`` on the standardised fused vector, fitted on
every row with -1 for the rows without a label (the test rows among them, as the fusion
sees them). Its out-of-fold probabilities come from the same folds as the default members'
(a held-out fold's rows are unlabelled to it), and the same selection weighs the five
members. Per set and share, on the paired splits of ``bench_label_efficiency.py``: the
fused vector's linear probe and the self-training member alone, and the ensemble with and
without it, each selected on accuracy, and on balanced accuracy with class-balanced
probabilities; ``"weight"``: the self-training member's weight in each blend;
``"members_s"`` / ``"extra_members_s"``: the seconds of the default members' out-of-fold
predictions and refits, and of the self-training member's.

    OMP_NUM_THREADS=1 python benchmarks/bench_self_training_member.py --fit-seeds 2 \\
        --datasets multiple_features adult generated telco_churn \\
        --json results/label_efficiency_ensemble_self_training.json
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, balanced_accuracy_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.semi_supervised import SelfTrainingClassifier

import data
import methods
from bench_label_efficiency import (ENSEMBLE, ENSEMBLE_CV, ENSEMBLE_ROUNDS, QUICK,
                                    ensemble_row, paired_splits, write_json)
from sktnce._ensemble import (_FOLDS, _MEMBERS, _padded, blend_weights, class_weights,
                              default_members, draw_seeds, fusion_views, out_of_fold, seeded,
                              weighing_folds)
from sktnce._selection import reweighted

#: The rows of the ensemble with the self-training member beside the default ones.
WITH_SELF_TRAINING = ", with self-training on the fused vector"
MEMBER = f"{ENSEMBLE} member fused_self_training"
#: Each blend's selection: (scoring, class_weight), as ``comparison.by_metric_row`` picks.
SELECTIONS = [("accuracy", None), ("balanced_accuracy", "balanced")]
FRACTIONS = (0.01, 0.1, 1.0)


def self_training_member():
    """Self-training around the default fused member's scaled logistic regression."""
    return make_pipeline(SimpleImputer(keep_empty_features=True), StandardScaler(),
                         SelfTrainingClassifier(LogisticRegression(max_iter=3000)))


def fit_on_every_row(member, Z, rows, codes):
    """``member`` fitted on every row of ``Z``, -1 but for ``rows`` (class indices
    ``codes``)."""
    partial = np.full(len(Z), -1)
    partial[rows] = codes
    return member.fit(Z, partial)


def out_of_fold_on_every_row(member, Z, rows, codes, folds, n_classes):
    """The member's out-of-fold probabilities on ``rows``, each fold's fitted on every row
    with the other folds' labels only; None where a training fold holds one class."""
    found = np.zeros((len(rows), n_classes))
    for train, test in folds.split(rows, codes):
        if len(np.unique(codes[train])) < 2:
            return None
        fitted = fit_on_every_row(clone(member), Z, rows[train], codes[train])
        found[test] = _padded(fitted.predict_proba(Z[rows[test]]), fitted.classes_, n_classes)
    return found


def split_probabilities(views, rows, test, codes, split):
    """``({row: test probabilities}, {blend row: the member's weight}, default members'
    seconds, the self-training member's seconds)`` of one split's labelled ``rows``."""
    default = default_members(views["columns"].shape[1])  # as the estimator's, on this width
    seeds, n_classes = draw_seeds(split), codes.max() + 1
    start = time.perf_counter()
    oof = out_of_fold(default, views, rows, codes, cv=ENSEMBLE_CV, seeds=seeds)
    first = int(seeds[_MEMBERS])
    alone = [seeded(member, first + position).fit(views[view][rows], codes)
             .predict_proba(views[view][test])
             for position, (_, member, view) in enumerate(default)]
    members_s = time.perf_counter() - start
    start = time.perf_counter()
    folds = weighing_folds(codes, ENSEMBLE_CV, int(seeds[_FOLDS]))
    Z = views["fused"]
    oof.append(out_of_fold_on_every_row(self_training_member(), Z, rows, codes, folds,
                                        n_classes))
    fitted = fit_on_every_row(self_training_member(), Z, rows, codes)
    alone.append(_padded(fitted.predict_proba(Z[test]), fitted.classes_, n_classes))
    extra_s = time.perf_counter() - start
    probabilities = {f"{ENSEMBLE} member fused_lr": alone[0], MEMBER: alone[-1]}
    weights_of = {}
    for scoring, class_weight in SELECTIONS:
        weight = class_weights(class_weight, np.arange(n_classes), codes)
        for suffix, chosen in (("", len(default)), (WITH_SELF_TRAINING, len(default) + 1)):
            weights = blend_weights(
                [None if p is None else reweighted(p, weight) for p in oof[:chosen]], codes,
                n_rounds=ENSEMBLE_ROUNDS, scoring=scoring)
            row = ensemble_row(ENSEMBLE + suffix, scoring, class_weight=class_weight)
            probabilities[row] = sum(w * reweighted(p, weight)
                                     for w, p in zip(weights, alone[:chosen]))
            if suffix:
                weights_of[row] = float(weights[-1])
    return probabilities, weights_of, members_s, extra_s


def run_dataset(name, fit_seeds, seeds, fractions=FRACTIONS, n_samples=None, **params):
    """``{row: {"scores" | "balanced" | "weight" | "members_s" | "extra_members_s":
    {fraction: [per fit and split]}, "fit_s": the fusion's mean seconds}}`` of one set
    (``n_samples`` rows, ``data.study_rows``; ``params``: the fusion's)."""
    X, y, modalities = data.LOADERS[name](n_samples=data.study_rows(name, n_samples))
    rows_of, fit_s = {}, []
    for fit in range(fit_seeds):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            fusion = methods.tuple_infonce(modalities, random_state=fit, **params).fit(X)
        fit_s.append(time.perf_counter() - start)
        views = fusion_views(fusion, X)
        for index, (fraction, rows, test) in enumerate(paired_splits(y, seeds, fractions)):
            rows = np.sort(rows)
            classes = np.unique(y[rows])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a 1% share's convergence
                found, weights, members_s, extra_s = split_probabilities(
                    views, rows, test, np.searchsorted(classes, y[rows]),
                    index // len(fractions))
            for row, proba in found.items():
                predicted = classes[proba.argmax(axis=1)]
                entry = rows_of.setdefault(row, {})
                for key, score in (("scores", accuracy_score(y[test], predicted)),
                                   ("balanced", balanced_accuracy_score(y[test], predicted)),
                                   ("weight", weights.get(row))):
                    if score is not None:
                        entry.setdefault(key, {f: [] for f in fractions})[fraction].append(
                            float(score))
            entry = rows_of[ensemble_row(ENSEMBLE, "accuracy")]
            for key, seconds in (("members_s", members_s), ("extra_members_s", extra_s)):
                entry.setdefault(key, {f: [] for f in fractions})[fraction].append(seconds)
    return {row: {**entry, "fit_s": float(np.mean(fit_s))} for row, entry in rows_of.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(data.STUDY_SIZES))
    parser.add_argument("--fit-seeds", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=5, help="paired splits")
    parser.add_argument("--fractions", type=float, nargs="+", default=list(FRACTIONS))
    parser.add_argument("--json", help="write every row's scores here")
    parser.add_argument("--quick", action="store_true",
                        help="300 rows, 2 epochs, 2 splits, the generated set (a smoke test)")
    args = parser.parse_args(argv)
    settings = {}
    if args.quick:
        settings = {"n_samples": QUICK["n_samples"], "max_epochs": QUICK["max_epochs"]}
        args.datasets, args.seeds, args.fit_seeds = ["generated"], QUICK["seeds"], 1
    results = {}
    for name in args.datasets:
        results[name] = run_dataset(name, args.fit_seeds, args.seeds, tuple(args.fractions),
                                    **settings)
        for row, entry in results[name].items():
            print(f"{name:18s} {row[:100]:100s} " + "  ".join(
                f"{np.mean(v):.3f}" for v in entry["scores"].values()), flush=True)
    if args.json:
        write_json(results, args.json)
    return results


if __name__ == "__main__":
    main()
