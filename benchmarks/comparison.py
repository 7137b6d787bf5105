"""sktnce against what a user builds without it: one sktnce configuration per label share,
chosen leave one set out, against the best row without sktnce on the held-out set.

The rows are ``bench_label_efficiency.py``'s (``{dataset: {method: {"scores" | "balanced":
{share: [per fit and split]}}}}``). A set whose majority class holds more than
``BALANCED_ABOVE`` of the rows is scored by balanced accuracy, every other by accuracy, so
that predicting the majority class wins nothing. On each set and share, "the best without
sktnce" is the row of ``WITHOUT`` with the best mean there (chosen per set, in its favour).
For a held-out set, the sktnce configuration is the one of ``CANDIDATES`` whose mean margin
over the best without sktnce is largest on the other real sets; its paired difference on the
held-out set is what a user would have got. Figures only, no formatting: ``render.py`` writes
them out.
"""

from typing import Callable, NamedTuple

import numpy as np

RAW, TNCE = "raw features", "TupleInfoNCE"
HGB, HGB_SMALL = "HGB on raw features", "HGB on raw features, min_samples_leaf=5"
SELF_TRAINING = "self-training LR on raw features"
CLASSIFIER = "TupleInfoNCEClassifier (fine-tuned)"
#: sktnce's ensemble (the fused vector's probe and boosted trees on the modalities'
#: columns), and the user's own ensemble of the same selection on the raw columns alone.
ENSEMBLE = "TupleInfoNCEEnsembleClassifier"
USER_ENSEMBLE = "ensemble of LR and HGB on raw features"
#: Each ensemble's variants, as suffixes of its rows (bench_label_efficiency's
#: ``ENSEMBLE_VARIANTS``) and short names: selected on the log loss (the plain row), accuracy
#: or balanced accuracy; where a class has one labelled row, out-of-fold on plain folds (the
#: plain row), leaving one out, equal weights, or the first member alone; each score with
#: the members' probabilities class-balanced (``class_weight="balanced"``).
VARIANTS = {"": "", ", scoring=accuracy": " on accuracy",
            ", scoring=balanced_accuracy": " on balanced accuracy",
            ", fallback=leave_one_out": ", few labels: leave one out",
            ", fallback=equal": ", few labels: equal weights",
            ", fallback=first": ", few labels: first member",
            ", class_weight=balanced": ", class-balanced",
            ", scoring=accuracy, class_weight=balanced": " on accuracy, class-balanced",
            ", scoring=balanced_accuracy, class_weight=balanced":
                " on balanced accuracy, class-balanced"}
ENSEMBLES = tuple(ENSEMBLE + suffix for suffix in VARIANTS)
#: The ensemble whose fused member reads a target-aware fusion (fitted per split and share).
AWARE_ENSEMBLE = f"{ENSEMBLE}, target-aware"
AWARE_ENSEMBLES = tuple(AWARE_ENSEMBLE + suffix for suffix in VARIANTS)
#: A target-aware ensemble's members weighed on one target-aware fusion per fold
#: (``aware_weighing="cross_fit"``), not on its unsupervised twin.
CROSS_FITTED = ", cross-fitted"
AWARE_ENSEMBLE_CROSS_FIT = AWARE_ENSEMBLE + CROSS_FITTED
USER_ENSEMBLES = tuple(USER_ENSEMBLE + suffix for suffix in VARIANTS)
#: An ensemble with gradient boosting on the columns beside the fused vector as more members
#: (``bench_label_efficiency.py --ensemble-fused-trees``).
FUSED_TREES = ", trees on columns and fused"
#: The variant of TupleInfoNCEEnsembleClassifier's defaults: the user's own ensemble
#: selects its members as it does (one row, not the best of every variant after the fact).
DEFAULT_VARIANT = ", scoring=balanced_accuracy"
#: The selection scores of the ensemble's variants, as suffixes.
SCORINGS = ("", ", scoring=accuracy", ", scoring=balanced_accuracy")
#: An ensemble class-balanced on the sets scored by balanced accuracy and plain on the others:
#: what a user who knows their metric sets (``metric_matched`` builds its rows).
MATCHED = ", class_weight=balanced where scored by balanced accuracy"
MATCHED_ENSEMBLES = tuple(blend + scoring + MATCHED for blend in (ENSEMBLE, AWARE_ENSEMBLE)
                          for scoring in SCORINGS)
#: An ensemble whose selection score and class weights both follow the set's metric: selected
#: on balanced accuracy and class-balanced where the set is scored by balanced accuracy,
#: selected on accuracy without class weights elsewhere (the user guide's advice).
BY_METRIC = ", scoring and class_weight by the metric"
BY_METRIC_ENSEMBLES = tuple(blend + BY_METRIC for blend in (ENSEMBLE, AWARE_ENSEMBLE))
#: What a user picks without sktnce, each on the raw columns: their own ensemble as sktnce's
#: selects by default, and with its members' probabilities class-balanced too.
BALANCED = ", class_weight=balanced"
#: The user's own ensemble with scikit-learn's 255 bins per column where sktnce's default
#: trees take fewer (a table of many columns): a user without sktnce need not follow it.
ALL_BINS = ", 255 bins"
USER_ENSEMBLE_ALL_BINS = USER_ENSEMBLE + ALL_BINS
USER_ENSEMBLES_ALL_BINS = tuple(USER_ENSEMBLE_ALL_BINS + suffix for suffix in VARIANTS)
WITHOUT = (RAW, HGB, HGB_SMALL, SELF_TRAINING, USER_ENSEMBLE + DEFAULT_VARIANT,
           USER_ENSEMBLE + DEFAULT_VARIANT + BALANCED, USER_ENSEMBLE_ALL_BINS + DEFAULT_VARIANT,
           USER_ENSEMBLE_ALL_BINS + DEFAULT_VARIANT + BALANCED)
#: The configurations with sktnce that a user could pick without labels to spare.
AWARE = "TupleInfoNCE, target-aware"
BESIDE = f"LR on raw features + {TNCE}"
CANDIDATES = (TNCE, f"{HGB} + {TNCE}", f"{HGB_SMALL} + {TNCE}", AWARE, CLASSIFIER,
              "TupleInfoNCEClassifier (fine-tuned, lr=0.0001)",
              "TupleInfoNCEClassifier (fine-tuned, lr=0.0001, early_stopping=False, "
              "max_epochs=10)", "TupleInfoNCEClassifier (fine-tuned, contrastive_weight=1.0)",
              BESIDE, *ENSEMBLES, *AWARE_ENSEMBLES, *MATCHED_ENSEMBLES, *BY_METRIC_ENSEMBLES)
SHORT = {RAW: "LR on raw", HGB: "HGB", HGB_SMALL: "HGB leaf=5", SELF_TRAINING: "self-training",
         TNCE: "LR on fused", f"{HGB} + {TNCE}": "HGB on raw + fused",
         f"{HGB_SMALL} + {TNCE}": "HGB leaf=5 on raw + fused",
         AWARE: "LR on target-aware fused", CLASSIFIER: "classifier",
         CANDIDATES[5]: "classifier lr=1e-4",
         CANDIDATES[6]: "classifier lr=1e-4, all labels, 10 epochs",
         CANDIDATES[7]: "classifier + contrastive regulariser", BESIDE: "LR on raw + fused",
         **{ENSEMBLE + suffix: "ensemble" + name for suffix, name in VARIANTS.items()},
         **{AWARE_ENSEMBLE + suffix: "target-aware ensemble" + name
            for suffix, name in VARIANTS.items()},
         **{USER_ENSEMBLE + suffix: "LR + HGB ensemble" + name
            for suffix, name in VARIANTS.items()},
         **{USER_ENSEMBLE_ALL_BINS + suffix: "LR + HGB ensemble with 255 bins" + name
            for suffix, name in VARIANTS.items()},
         **{blend + scoring + MATCHED: name + VARIANTS[scoring]
            + ", class-balanced on balanced-accuracy sets"
            for blend, name in ((ENSEMBLE, "ensemble"), (AWARE_ENSEMBLE, "target-aware ensemble"))
            for scoring in SCORINGS},
         **{blend + BY_METRIC: name + ", scoring and class weights by the metric"
            for blend, name in ((ENSEMBLE, "ensemble"),
                                (AWARE_ENSEMBLE, "target-aware ensemble"))}}
SHARES = (0.01, 0.1, 1.0)
#: Each study set's majority-class share at its study size, as bench_label_efficiency.py
#: prints it.
MAJORITY = {"generated": 0.138, "multiple_features": 0.100, "clothing_tfidf": 0.825,
            "movielens": 0.558, "adult": 0.766, "trump_tweets": 0.532,
            "election_tweets": 0.502, "lending_club": 0.301, "telco_churn": 0.743}
BALANCED_ABOVE = 0.6


def paired(a, b, seeds=5):
    """``(mean, sd)`` of ``a - b``: element by element (the same fit and split) where both
    hold as many scores, else by split, each method's mean over its fits on that split."""
    a, b = np.asarray(a), np.asarray(b)
    if len(a) != len(b):
        a = a.reshape(-1, seeds).mean(axis=0)
        b = b.reshape(-1, seeds).mean(axis=0)
    d = a - b
    return float(d.mean()), float(d.std(ddof=1))


def metric(dataset):
    """``"balanced"`` where the majority class exceeds ``BALANCED_ABOVE``, else ``"scores"``."""
    return "balanced" if MAJORITY[dataset] > BALANCED_ABOVE else "scores"


def merged(files):
    """The rows of every file of ``files`` (``{name: rows}``), a method's shares gathered
    from several files; a share given twice is an error."""
    rows = {}
    for name, by_set in files.items():
        for dataset, methods in by_set.items():
            for method, row in methods.items():
                target = rows.setdefault(dataset, {}).setdefault(method, {})
                for key in ("scores", "balanced"):
                    for share, values in row.get(key, {}).items():
                        cell = target.setdefault(key, {})
                        if float(share) in cell:
                            raise ValueError(f"{name}: {dataset} {method} {share} given twice")
                        cell[float(share)] = list(values)
    return rows


def by_metric_row(blend, dataset):
    """The row of ``blend`` whose selection score and class weights follow ``dataset``'s
    metric (``BY_METRIC``): selected on balanced accuracy and class-balanced where it is
    scored by balanced accuracy, else selected on accuracy."""
    return blend + (", scoring=balanced_accuracy" + BALANCED if metric(dataset) == "balanced"
                    else ", scoring=accuracy")


def metric_matched(rows):
    """``rows`` with the rows of ``MATCHED_ENSEMBLES``: on each set, the class-balanced row
    of its variant where the set is scored by balanced accuracy, else its plain row; and
    those of ``BY_METRIC_ENSEMBLES``: the row selected on balanced accuracy and
    class-balanced there, else the row selected on accuracy."""
    for dataset, methods in rows.items():
        balanced = metric(dataset) == "balanced"
        for matched in MATCHED_ENSEMBLES:
            plain = matched[:-len(MATCHED)]
            chosen = plain + BALANCED if balanced else plain
            if chosen in methods:
                methods[matched] = methods[chosen]
        for matched in BY_METRIC_ENSEMBLES:
            chosen = by_metric_row(matched[:-len(BY_METRIC)], dataset)
            if chosen in methods:
                methods[matched] = methods[chosen]
    return rows


class Study(NamedTuple):
    """What a comparison compares: the rows without sktnce (the best per set is the
    rival), the sktnce configurations to choose from (the earlier wins a tie), and the key
    of a set's scores in the rows."""

    without: tuple
    candidates: tuple
    score_key: Callable[[str], str]


#: The classification study: ``WITHOUT`` against ``CANDIDATES``, each set in its metric.
CLASSIFICATION = Study(WITHOUT, CANDIDATES, metric)


def values(rows, dataset, method, share, study=CLASSIFICATION):
    """The scores of ``method`` on ``dataset`` at ``share`` in the set's metric, or None."""
    return rows.get(dataset, {}).get(method, {}).get(study.score_key(dataset), {}).get(share)


def best_without(rows, dataset, share, study=CLASSIFICATION):
    """The row of ``study.without`` with the best mean on ``dataset`` at ``share``, or
    None."""
    found = [m for m in study.without if values(rows, dataset, m, share, study)]
    return max(found, key=lambda m: np.mean(values(rows, dataset, m, share, study)),
               default=None)


def margins(rows, share, datasets, study=CLASSIFICATION):
    """``{candidate: {dataset: mean - the best without sktnce's mean}}`` of the candidates
    measured on every one of ``datasets`` at ``share``."""
    out = {}
    for candidate in study.candidates:
        if all(values(rows, d, candidate, share, study) for d in datasets):
            out[candidate] = {
                d: float(np.mean(values(rows, d, candidate, share, study)) - np.mean(
                    values(rows, d, best_without(rows, d, share, study), share, study)))
                for d in datasets}
    return out


def choose(margin, datasets, study=CLASSIFICATION):
    """The candidate of ``margin`` with the best mean margin on ``datasets`` (the earlier
    of ``study.candidates`` on a tie)."""
    return max(margin, key=lambda c: (np.mean([margin[c][d] for d in datasets]),
                                      -study.candidates.index(c)))


def held_out(rows, share, real, extra=(), study=CLASSIFICATION):
    """For each set of ``real`` (chosen on the other real sets) and of ``extra`` (chosen on
    every real set): ``{"dataset", "chosen", "without", "mean", "sd"}``, the paired
    difference of the chosen configuration against the best without sktnce there; empty
    where no candidate was measured on every set at ``share``."""
    margin = margins(rows, share, [*real, *extra], study)
    if not margin:
        return []
    out = []
    for dataset in [*real, *extra]:
        others = [d for d in real if d != dataset]
        chosen = choose(margin, others, study)
        without = best_without(rows, dataset, share, study)
        mean, sd = paired(values(rows, dataset, chosen, share, study),
                          values(rows, dataset, without, share, study))
        out.append({"dataset": dataset, "chosen": chosen, "without": without,
                    "mean": mean, "sd": sd})
    return out


def tally(results):
    """``(at least level, above beyond one sd, below beyond one sd)``: counts of ``results``."""
    return (sum(r["mean"] >= 0 for r in results), sum(r["mean"] > r["sd"] for r in results),
            sum(-r["mean"] > r["sd"] for r in results))


def balanced_everywhere(dataset):
    """``"balanced"`` whatever ``dataset``: balanced accuracy on every set, at which a model
    that predicts one class scores chance, 1/k, on any set."""
    return "balanced"


#: The classification study with every set scored by balanced accuracy.
BALANCED_EVERYWHERE = Study(WITHOUT, CANDIDATES, balanced_everywhere)


def predicts_one_class(balanced):
    """Whether the balanced accuracies ``balanced`` (one per fit and split) are all chance,
    1/k for one k of 2 or more classes: what a model that predicts one class for every row
    scores (its recall is 1 on that class and 0 on every other)."""
    balanced = np.asarray(balanced, dtype=float)
    classes = round(1 / balanced[0]) if balanced[0] > 0 else 0
    return classes >= 2 and bool(np.allclose(balanced, 1 / classes))


def without_one_class(rows, study=CLASSIFICATION):
    """A copy of ``rows`` without the shares at which a row of ``study.without`` predicts
    one class on every fit and split (:func:`predicts_one_class`): a model that a user sees
    predict one class for every row, and would not pick."""
    out = {dataset: dict(methods) for dataset, methods in rows.items()}
    for dataset, methods in rows.items():
        for method in study.without:
            row = methods.get(method, {})
            dropped = {share for share, scores in row.get("balanced", {}).items()
                       if predicts_one_class(scores)}
            if dropped:
                out[dataset][method] = {key: {share: scores for share, scores in cells.items()
                                              if share not in dropped}
                                        for key, cells in row.items()}
    return out


#: The regression study (``bench_regression.py``'s rows): on the raw columns, RidgeCV, boosted
#: trees with large and small leaves and the user's own ensemble of the three, against the
#: ridge probe on the fused vector and TupleInfoNCERegressor, by R².
RIDGE, REGRESSION_HGB = "Ridge on raw features", "HGB on raw features"
REGRESSION_HGB_SMALL = "HGB on raw features, min_samples_leaf=5"
REGRESSION_USER_ENSEMBLE = "ensemble of Ridge and HGB on raw features"
FUSED_RIDGE, REGRESSOR = "Ridge on TupleInfoNCE", "TupleInfoNCERegressor"
#: A ridge regression and boosted trees on the raw columns beside the fused vector.
BESIDE_RIDGE, BESIDE_HGB = f"{RIDGE} + {TNCE}", f"{REGRESSION_HGB} + {TNCE}"
BESIDE_HGB_SMALL = f"{REGRESSION_HGB} + {TNCE}, min_samples_leaf=5"
ABSOLUTE = ", scoring=absolute_error"
AWARE_REGRESSOR = REGRESSOR + ", target-aware"
#: The same, its members weighed on one target-aware fusion per fold (not on the twin).
AWARE_CROSS_FIT = AWARE_REGRESSOR + CROSS_FITTED
REGRESSION = Study(
    without=(RIDGE, REGRESSION_HGB, REGRESSION_HGB_SMALL, REGRESSION_USER_ENSEMBLE,
             REGRESSION_USER_ENSEMBLE + ABSOLUTE),
    candidates=(REGRESSOR, REGRESSOR + ABSOLUTE, FUSED_RIDGE, BESIDE_RIDGE, BESIDE_HGB,
                BESIDE_HGB_SMALL, AWARE_REGRESSOR, AWARE_CROSS_FIT),
    score_key=lambda dataset: "r2")
REGRESSION_SHORT = {RIDGE: "Ridge", REGRESSION_HGB: "HGB", REGRESSION_HGB_SMALL: "HGB leaf=5",
                    REGRESSION_USER_ENSEMBLE: "Ridge + HGB ensemble",
                    REGRESSION_USER_ENSEMBLE + ABSOLUTE: "Ridge + HGB ensemble on absolute error",
                    FUSED_RIDGE: "Ridge on fused", BESIDE_RIDGE: "Ridge on raw + fused",
                    BESIDE_HGB: "HGB on raw + fused",
                    BESIDE_HGB_SMALL: "HGB leaf=5 on raw + fused",
                    REGRESSOR: "TupleInfoNCERegressor",
                    REGRESSOR + ABSOLUTE: "TupleInfoNCERegressor on absolute error",
                    AWARE_REGRESSOR: "TupleInfoNCERegressor, target-aware",
                    AWARE_CROSS_FIT: "TupleInfoNCERegressor, target-aware, cross-fitted"}
