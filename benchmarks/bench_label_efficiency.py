"""Label efficiency: linear-probe accuracy against the share of labelled rows.

For each data set, each representation is learned without labels on all rows, once per
``--fit-seeds`` (``random_state`` 0, 1, ...; one by default); then for each of ``--seeds``
seeds a stratified 70/30 split, the same for every method (paired), and a probe
(StandardScaler + LogisticRegression) trained on each ``--fractions`` share of the training
rows (1%, 5%, 10%, 25% and 100% by default; at least one row per class) and scored on the test
rows. Prints one table per data set, mean ± standard deviation over the fits and splits, and
marks the best unsupervised row of each column; ``--json`` writes every score, after each
data set.

The rows of ``LABELLED`` learn from the labels: "TupleInfoNCE, target-aware"
(``label_weight``) trains on all rows with exactly the probe's labelled rows labelled and every
other row -1, and the probe on it; the classifiers predict themselves: the "supervised MLP
(reference)" (hidden layers of 64 and 32, the fusion's widths) and HistGradientBoosting (with
its defaults, or ``min_samples_leaf=5``) on the labelled rows of the raw features alone,
SelfTrainingClassifier(LogisticRegression()) on every row of them (-1: unlabelled), and
TupleInfoNCEClassifier on every row of the table. Their fits depend on the labelled rows, so
each is fitted once per fit seed, split and share, with ``random_state`` ``split + fit *
seeds`` (the split's seed for fit 0); ``--first-fit`` starts at a later fit, to add fits to an
earlier run's file. ``--beside-raw [MODEL ...]`` adds, for each representation of
``BESIDE_RAW``, the pipeline a user who already models the raw columns would build next: each
model of ``BESIDE_MODELS`` (all, or those named) on the raw features and the representation
side by side, trained on each split's labelled rows (its fit time: the representation's).
``--json`` also writes the balanced accuracy (``"balanced"``) of every row. ``--ensemble`` adds
TupleInfoNCEEnsembleClassifier on each fit of TupleInfoNCE (prefitted, ``fit_fusion=False``)
selected on each score it offers (with and without ``class_weight="balanced"``), and the
user's own ensemble, the same selection over its members on the raw columns alone; each
member alone too, and the test rows' log loss of all (``"log_loss"``).
``--ensemble-target-aware`` adds the ensemble whose fused member reads a target-aware fusion
fitted per split and share, weighed on its unsupervised twin; ``--ensemble-cross-fit`` adds it
weighed instead on one more target-aware fusion per fold (``aware_weighing="cross_fit"``).
``--ensemble-fused-trees`` adds each ensemble with gradient boosting on the columns beside the
fused vector as more members (large and small leaves). ``--ensemble-selection-rules`` adds each
ensemble's selection ended by the one-standard-error rule (``SELECTION_RULES``): the best
member alone unless the blend beats it on the out-of-fold rows by more than one standard
error. ``--ensemble-trees "{'max_features': 0.2}"`` adds the ensemble and the user's own
with the default members' boosted trees given these parameters (cheaper trees).

    python benchmarks/bench_label_efficiency.py                          # every study set
    python benchmarks/bench_label_efficiency.py --datasets movielens adult
    python benchmarks/bench_label_efficiency.py --methods "raw features" "TupleInfoNCE"
    python benchmarks/bench_label_efficiency.py --params "{'n_components': 128}"
    python benchmarks/bench_label_efficiency.py --fit-seeds 3            # 3 fits per method
    python benchmarks/bench_label_efficiency.py --quick                  # a smoke run
    python benchmarks/bench_label_efficiency.py --methods "TupleInfoNCE, target-aware" \
        --fractions 0.01 0.1 --fit-seeds 3 --json results/target_aware.json
    python benchmarks/bench_label_efficiency.py --methods "raw features" TupleInfoNCE \
        --beside-raw --fractions 0.01 0.1 1 --fit-seeds 3   # beside the raw features
    python benchmarks/bench_label_efficiency.py --methods TupleInfoNCE --beside-raw \
        "LR on raw features" --fractions 0.01 0.1 1 --fit-seeds 3
    python benchmarks/bench_label_efficiency.py --methods TupleInfoNCE --ensemble \
        --fractions 0.01 0.1 1 --fit-seeds 3 --json results/label_efficiency_ensemble.json
    python benchmarks/bench_label_efficiency.py --methods TupleInfoNCE --ensemble \
        --ensemble-target-aware --ensemble-cross-fit --fractions 0.1 \
        --json results/label_efficiency_ensemble_cross_fit.json
"""

import argparse
import ast
import json
import time
import warnings
from functools import partial

import numpy as np
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, balanced_accuracy_score
from sklearn.model_selection import StratifiedShuffleSplit, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import data
import methods
from sktnce import TupleInfoNCEEnsembleClassifier
from sktnce._ensemble import (_FOLDS, _MEMBERS, FALLBACKS, _too_few, blend_weights,
                             class_weights, default_members, draw_seeds, fusion_views,
                             out_of_fold, preprocessed_width, seeded, weighing_folds)
from sktnce._selection import SELECTION_RULES, SELECTION_SCORES, log_loss_of, reweighted

FRACTIONS = (0.01, 0.05, 0.1, 0.25, 1.0)
CLASSIFIER = "TupleInfoNCEClassifier (fine-tuned)"
#: The study's data sets and the rows each is subsampled to (None: all).
SIZES = data.STUDY_SIZES
METHODS = {
    "raw features": methods.raw,
    "PCA": methods.pca,
    "whole-tuple contrast": methods.tuple_contrast,
    "TupleInfoNCE": methods.tuple_infonce,
    "TupleInfoNCE, r + modality embeddings": lambda modalities, **params: methods.tuple_infonce(
        modalities, **{"output": "fused_and_modalities", **params}),
    "TupleInfoNCE, searched": methods.tuple_infonce_searched,
    "whole-tuple contrast, contrast alone": lambda modalities, **params: methods.tuple_contrast(
        modalities, **{"reconstruction": 0.0, **params}),
    "TupleInfoNCE, contrast alone": lambda modalities, **params: methods.tuple_infonce(
        modalities, **{"reconstruction": 0.0, **params}),
    "TupleInfoNCE, target-aware": methods.tuple_infonce_target_aware,
    # "Of the same width" as the fusion's encoders: hidden layers of 64, then 32.
    "supervised MLP (reference)": lambda modalities, random_state=0, **_:
        methods.supervised_mlp(modalities, random_state, hidden=(64, 32)),
    "HGB on raw features": lambda modalities, random_state=0, **_:
        methods.gradient_boosting(modalities, random_state),
    "HGB on raw features, min_samples_leaf=5": lambda modalities, random_state=0, **_:
        methods.gradient_boosting(modalities, random_state, min_samples_leaf=5),
    "self-training LR on raw features": methods.self_training,
    CLASSIFIER: methods.tuple_infonce_classifier,
}
#: Methods whose representation does not depend on ``random_state``: fitted once.
DETERMINISTIC = {"raw features", "PCA"}
#: Methods that learn from the probe's labelled rows: fitted once per fit seed, split and
#: label share (``labelled_curve``), on all rows with every other row's label -1 (the
#: target-aware fusion), or on the labelled rows alone (the MLP, a classifier behind the raw
#: features' preprocessing, scored directly).
LABELLED = {"TupleInfoNCE, target-aware", "supervised MLP (reference)", "HGB on raw features",
            "HGB on raw features, min_samples_leaf=5", "self-training LR on raw features",
            CLASSIFIER}
#: Labelled methods whose classifier also reads the unlabelled rows (-1), as
#: scikit-learn's semi-supervised estimators do.
SEMI_SUPERVISED = {"self-training LR on raw features", CLASSIFIER}
#: Representations that ``--beside-raw`` also hands to a model beside the raw features (the
#: raw features' preprocessing, then the representation's columns).
BESIDE_RAW = {"TupleInfoNCE"}
#: The models of ``--beside-raw``, each made from a seed: one row per model.
BESIDE_MODELS = {
    "HGB on raw features": partial(HistGradientBoostingClassifier),
    "HGB on raw features, min_samples_leaf=5": partial(HistGradientBoostingClassifier,
                                                       min_samples_leaf=5),
    "LR on raw features": lambda random_state: linear_probe(),
}


#: The rows of ``--ensemble``: TupleInfoNCEEnsembleClassifier with its default members on
#: each fit of ``ENSEMBLE_OF`` (prefitted, without labels), and the user's own ensemble, the
#: same selection over the members on the raw columns alone (their preprocessing, no fusion).
ENSEMBLE = "TupleInfoNCEEnsembleClassifier"
USER_ENSEMBLE = "ensemble of LR and HGB on raw features"
AWARE_ENSEMBLE = "TupleInfoNCEEnsembleClassifier, target-aware"
#: ``--ensemble-cross-fit``: the same, weighed on one target-aware fusion per fold.
AWARE_CROSS_FIT = AWARE_ENSEMBLE + ", cross-fitted"
#: ``--ensemble-fused-trees``: each ensemble with gradient boosting on the columns beside the
#: fused vector too (large and small leaves), members the regressor's defaults hold.
FUSED_TREES = ", trees on columns and fused"
ENSEMBLE_OF = "TupleInfoNCE"
#: The ensemble's folds and selection rounds (its defaults).
ENSEMBLE_CV, ENSEMBLE_ROUNDS = 3, 25


def learns_labels(method):
    """Whether a row of the study learns from the labelled rows beyond a linear probe."""
    return (method in LABELLED or method.startswith(CLASSIFIER[:-1])
            or method.startswith((ENSEMBLE, USER_ENSEMBLE))
            or any(method.startswith(f"{model} + ") for model in BESIDE_MODELS))


QUICK = {"n_samples": 300, "max_epochs": 2, "seeds": 2,
         "search": {"n_rounds": 2, "epochs_per_round": 1, "n_candidates": 2}}


def labelled_rows(train, y_train, fraction, seed):
    """A stratified ``fraction`` of ``train``, at least one row per class."""
    if fraction >= 1.0:
        return train
    n_classes = len(np.unique(y_train))
    # floor, as train_test_split rounds a fractional train_size
    size = max(int(fraction * len(train)), n_classes)
    chosen, _ = train_test_split(train, train_size=size, stratify=y_train, random_state=seed)
    return chosen


def paired_splits(y, seeds, fractions):
    """``(fraction, labelled rows, test rows)`` for every seed and fraction: a stratified
    70/30 split that depends on the seed alone, so that every method gets the same ones."""
    for seed in range(seeds):
        train, test = next(StratifiedShuffleSplit(1, test_size=0.3, random_state=seed)
                           .split(np.zeros(len(y)), y))
        for fraction in fractions:
            yield fraction, labelled_rows(train, y[train], fraction, seed), test


def linear_probe():
    """The study's probe: StandardScaler, then LogisticRegression."""
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))


def partial_labels(y, labelled):
    """``y`` with every row outside ``labelled`` set to -1 (unlabelled)."""
    partial = np.full(len(y), -1, dtype=np.int64)
    partial[labelled] = y[labelled]
    return partial


def probe_curve(Z, y, seeds, fractions=FRACTIONS):
    """{fraction: [test accuracy per seed]} of a linear probe on the representation Z."""
    return classifier_curves(linear_probe, Z, y, seeds, fractions)[0]


def classifier_curves(make_classifier, Z, y, seeds, fractions=FRACTIONS):
    """``({fraction: [test accuracy per seed]}, {fraction: [balanced accuracy per seed]})``
    of a fresh ``make_classifier()`` trained on each split's labelled rows of ``Z``."""
    scores, balanced = {f: [] for f in fractions}, {f: [] for f in fractions}
    for fraction, rows, test in paired_splits(y, seeds, fractions):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a 1% share's convergence
            predicted = make_classifier().fit(Z[rows], y[rows]).predict(Z[test])
        scores[fraction].append(float(accuracy_score(y[test], predicted)))
        balanced[fraction].append(float(balanced_accuracy_score(y[test], predicted)))
    return scores, balanced


def labelled_curve(factory, X, y, modalities, seeds, params, fractions=FRACTIONS,
                   fit_seeds=1, first_fit=0, semi_supervised=False):
    """``({fraction: [test accuracy per fit and split]}, {fraction: [balanced accuracy]},
    fit seconds)`` of a method of ``LABELLED``: fits ``first_fit`` to ``first_fit +
    fit_seeds - 1`` per split and label share, each on exactly the probe's labelled rows
    (with every other row, labelled -1, for a ``semi_supervised`` one), with
    ``random_state`` ``split + fit * seeds`` (fit 0's is the split's seed); the scores are
    in that order, fit by fit."""
    scores, balanced, seconds = {f: [] for f in fractions}, {f: [] for f in fractions}, []
    for fit in range(first_fit, first_fit + fit_seeds):
        for index, (fraction, rows, test) in enumerate(paired_splits(y, seeds, fractions)):
            split = index // len(fractions)
            model = factory(modalities, **{**params, "random_state": split + fit * seeds})
            predicted, fit_s = _labelled_predictions(model, X, y, rows, test, semi_supervised)
            seconds.append(fit_s)
            scores[fraction].append(float(accuracy_score(y[test], predicted)))
            balanced[fraction].append(float(balanced_accuracy_score(y[test], predicted)))
    return scores, balanced, float(np.mean(seconds))


def ensemble_row(blend, scoring, fallback="plain_folds", class_weight=None,
                 selection="greedy"):
    """The row of ``blend`` (``ENSEMBLE`` or ``USER_ENSEMBLE``) selected on ``scoring``
    and ended by the rule ``selection``, with ``fallback`` where a class has one labelled
    row and the members' probabilities reweighted by ``class_weight``."""
    return blend + (f", scoring={scoring}" if scoring != "log_loss" else "") + (
        f", fallback={fallback}" if fallback != "plain_folds" else "") + (
        f", selection={selection}" if selection != "greedy" else "") + (
        f", class_weight={class_weight}" if class_weight is not None else "")


#: The blends of the study: each score with the default fallback, each fallback with the
#: default score, each score with the members' probabilities class-balanced; then each
#: score, plain and class-balanced, under the other rules of ``SELECTION_RULES``.
ENSEMBLE_VARIANTS = [(scoring, "plain_folds", None) for scoring in SELECTION_SCORES] + [
    ("log_loss", fallback, None) for fallback in FALLBACKS if fallback != "plain_folds"] + [
    (scoring, "plain_folds", "balanced") for scoring in SELECTION_SCORES]
SELECTION_VARIANTS = [(scoring, "plain_folds", class_weight, selection)
                      for selection in SELECTION_RULES[1:] for class_weight in (None, "balanced")
                      for scoring in SELECTION_SCORES]


def cross_fitted(members, target_aware, X, y, rows, codes, split):
    """``{"plain_folds": the members' out-of-fold probabilities}`` on ``rows`` (class
    indices ``codes``), each fold's from one more target-aware fusion
    (``target_aware(split)``) fitted with the labels of the other folds' rows only, as
    ``TupleInfoNCEEnsembleClassifier(aware_weighing="cross_fit")`` weighs them."""
    seeds = draw_seeds(split)
    folds = weighing_folds(codes, ENSEMBLE_CV, int(seeds[_FOLDS]))
    per_fold = [fusion_views(target_aware(split).fit(X, partial_labels(y, rows[train])), X)
                for train, _ in folds.split(rows, codes)]
    return {"plain_folds": out_of_fold(members, per_fold, rows, codes, cv=ENSEMBLE_CV,
                                       seeds=seeds)}


def _extra_members(default, with_fused_trees, tree_params, target_aware):
    """``(members after the default ones, the suffix of their blends' rows, each blend's
    member positions, the position the first extra member is seeded as)``:
    ``methods.fused_trees`` beside the default members (every blend's), or
    ``methods.cheaper_trees(tree_params, default)`` in place of the default trees (seeded as they
    are, at their positions)."""
    if with_fused_trees and tree_params:
        raise ValueError("--ensemble-fused-trees and --ensemble-trees: one at a time")
    if with_fused_trees:
        extra = methods.fused_trees()
        every = list(range(len(default) + len(extra)))
        blends = {blend: every for blend in (ENSEMBLE, AWARE_ENSEMBLE)}
        return extra, FUSED_TREES, blends, len(default)
    if not tree_params:
        return [], None, {}, len(default)
    if target_aware is not None:
        raise ValueError("--ensemble-trees measures the blends without a target-aware fusion")
    extra = methods.cheaper_trees(tree_params, default)
    trees = [i for i, (_, member, _) in enumerate(default)
             if isinstance(member, HistGradientBoostingClassifier)]
    kept = [i for i in range(len(default)) if i not in trees]
    replaced = kept + list(range(len(default), len(default) + len(extra)))
    views = [view for _, _, view in default + extra]
    blends = {ENSEMBLE: replaced,
              USER_ENSEMBLE: [i for i in replaced if views[i] == "columns"]}
    return extra, ", trees with " + methods.trees_label(tree_params), blends, trees[0]


def ensemble_curves(fusion, X, y, seeds, fractions, target_aware=None, cross_fit=False,
                    with_fused_trees=False, selection_rules=False, tree_params=None):
    """``{row: {"scores" | "balanced" | "log_loss": {fraction: [per split]}}}`` of
    TupleInfoNCEEnsembleClassifier's blend on the prefitted ``fusion`` (as ``fit_fusion=False``
    with ``random_state`` the split) selected on each of ``SELECTION_SCORES``, of the user's
    own ensemble (its members on the raw columns alone, the same selection), and of each
    member alone, fitted on each split's labelled rows and scored on its test rows. The
    members' out-of-fold predictions and fits are shared by every blend; the first split's
    log-loss blend is checked against the estimator's. ``"members_s"``: the seconds of the
    members' out-of-fold predictions and fits.

    ``target_aware`` (a function of a split's number to an unfitted target-aware fusion)
    adds the blends whose fused member reads that fusion, fitted on every row with the
    split's labels (``AWARE_ENSEMBLE``), weighted as the estimator weighs a target-aware
    fusion's members: on ``fusion``, its unsupervised twin here; with ``cross_fit``, also
    weighed on one more target-aware fusion per fold (``AWARE_CROSS_FIT``, the plain
    folds' variants only). ``with_fused_trees`` adds each of ``ENSEMBLE`` and
    ``AWARE_ENSEMBLE`` with ``methods.fused_trees`` after the default members (``+
    FUSED_TREES``), weighed on the same folds; ``"extra_members_s"``: their seconds.
    ``selection_rules`` adds ``SELECTION_VARIANTS`` to the rows of ``ENSEMBLE``,
    ``USER_ENSEMBLE`` and ``AWARE_ENSEMBLE``, from the same out-of-fold predictions.
    ``tree_params`` adds ``ENSEMBLE`` and ``USER_ENSEMBLE`` with the default members' trees
    given these parameters (``methods.cheaper_trees``), weighed on the same folds and
    seeded as the estimator seeds them in the trees' places; ``"extra_members_s"``: their
    seconds."""
    default = default_members(preprocessed_width(fusion))  # as the estimator's, on its width
    extra, suffix, extra_blends, offset = _extra_members(default, with_fused_trees,
                                                         tree_params, target_aware)
    members = default + extra
    user = [position for position, (_, _, view) in enumerate(default) if view == "columns"]
    blends = {ENSEMBLE: list(range(len(default))), USER_ENSEMBLE: user}
    if target_aware is not None:
        blends[AWARE_ENSEMBLE] = blends[ENSEMBLE]
        if cross_fit:
            blends[AWARE_CROSS_FIT] = blends[ENSEMBLE]
    blends.update({blend + suffix: chosen for blend, chosen in extra_blends.items()
                   if blend in blends})
    studied = (ENSEMBLE, USER_ENSEMBLE, AWARE_ENSEMBLE)
    variants = {blend: [v for v in ENSEMBLE_VARIANTS if v[1] == "plain_folds" or blend in studied]
                + (SELECTION_VARIANTS if selection_rules and blend in studied else [])
                for blend in blends}
    names = [ensemble_row(blend, *variant) for blend in blends for variant in variants[blend]]
    names += [f"{ENSEMBLE} member {name}" for name, _, _ in members]
    curves = {name: {key: {f: [] for f in fractions}
                     for key in ("scores", "balanced", "log_loss")} for name in names}
    curves[ENSEMBLE]["members_s"] = {f: [] for f in fractions}
    if extra:
        curves[ENSEMBLE + suffix]["extra_members_s"] = {f: [] for f in fractions}
    views = fusion_views(fusion, X)
    for index, (fraction, rows, test) in enumerate(paired_splits(y, seeds, fractions)):
        split = index // len(fractions)
        rows = np.sort(rows)  # in the table's order, as the estimator folds them
        classes = np.unique(y[rows])
        codes, test_codes = np.searchsorted(classes, y[rows]), np.searchsorted(classes, y[test])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a 1% share's convergence
            start = time.perf_counter()  # the default: plain folds where too few labels
            oof = {"plain_folds": out_of_fold(default, views, rows, codes,
                                              cv=ENSEMBLE_CV, seeds=draw_seeds(split))}
            # each refit seeded as the estimator seeds it (boosted trees hold rows out for
            # early stopping on more than 10000 rows)
            first = int(draw_seeds(split)[_MEMBERS])
            alone = [seeded(member, first + position).fit(views[view][rows], codes)
                     .predict_proba(views[view][test])
                     for position, (_, member, view) in enumerate(default)]
            curves[ENSEMBLE]["members_s"][fraction].append(time.perf_counter() - start)
            if extra:  # seeded by their positions in their blends, as in fit
                start = time.perf_counter()
                after = draw_seeds(split)
                after[_MEMBERS] += offset
                oof["plain_folds"] += out_of_fold(extra, views, rows, codes,
                                                  cv=ENSEMBLE_CV, seeds=after)
                alone += [seeded(member, int(after[_MEMBERS]) + position).fit(
                    views[view][rows], codes).predict_proba(views[view][test])
                    for position, (_, member, view) in enumerate(extra)]
                curves[ENSEMBLE + suffix]["extra_members_s"][fraction].append(
                    time.perf_counter() - start)
            if _too_few(codes):
                oof.update({fallback: out_of_fold(members, views, rows, codes,
                                                  cv=ENSEMBLE_CV, seeds=draw_seeds(split),
                                                  fallback=fallback)
                            for fallback in FALLBACKS[1:]})
        probabilities = {f"{ENSEMBLE} member {name}": p
                         for (name, _, _), p in zip(members, alone)}
        test_probabilities = {blend: alone for blend in blends}
        if target_aware is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                aware_fusion = target_aware(split).fit(X, partial_labels(y, rows))
                r = aware_fusion.transform(X)
                aware = [clone(members[0][1]).fit(r[rows], codes).predict_proba(r[test])]
                if with_fused_trees:  # the members after the default ones read it too
                    aware_views = fusion_views(aware_fusion, X)
                    aware += [clone(member).fit(aware_views[view][rows], codes).predict_proba(
                        aware_views[view][test]) for _, member, view in members[len(default):]]
            test_probabilities[AWARE_ENSEMBLE] = [aware[0], *alone[1:len(default)], *aware[1:]]
            if with_fused_trees:
                test_probabilities[AWARE_ENSEMBLE + FUSED_TREES] = test_probabilities[
                    AWARE_ENSEMBLE]
        weighing = dict.fromkeys(blends, oof)
        if AWARE_CROSS_FIT in blends:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                weighing[AWARE_CROSS_FIT] = cross_fitted(members, target_aware, X, y, rows,
                                                         codes, split)
            test_probabilities[AWARE_CROSS_FIT] = test_probabilities[AWARE_ENSEMBLE]
        for blend, chosen in blends.items():
            for scoring, fallback, class_weight, *rule in variants[blend]:
                selection = rule[0] if rule else "greedy"
                # with enough labels every fallback is the plain blend
                found = weighing[blend].get(fallback, weighing[blend]["plain_folds"])
                weight = class_weights(class_weight, np.arange(len(classes)), codes)
                weights = blend_weights(
                    [None if found[i] is None else reweighted(found[i], weight)
                     for i in chosen], codes, n_rounds=ENSEMBLE_ROUNDS, scoring=scoring,
                    fallback=fallback, selection=selection)
                probabilities[ensemble_row(blend, scoring, fallback, class_weight,
                                           selection)] = sum(
                    w * reweighted(test_probabilities[blend][i], weight)
                    for w, i in zip(weights, chosen))
        if index == 0:
            _check_against_the_estimator(fusion, X, y, rows, test, split,
                                         probabilities[ENSEMBLE])
            if extra:
                _check_against_the_estimator(
                    fusion, X, y, rows, test, split, probabilities[ENSEMBLE + suffix],
                    [members[i] for i in blends[ENSEMBLE + suffix]])
        for name, proba in probabilities.items():
            predicted = classes[proba.argmax(axis=1)]
            curves[name]["scores"][fraction].append(float(accuracy_score(y[test], predicted)))
            curves[name]["balanced"][fraction].append(
                float(balanced_accuracy_score(y[test], predicted)))
            curves[name]["log_loss"][fraction].append(log_loss_of(proba, test_codes))
    return curves


def _check_against_the_estimator(fusion, X, y, rows, test, split, blended, members=None):
    """TupleInfoNCEEnsembleClassifier (with ``members``) fitted as the study's blend is,
    whose predictions on the test rows must be the study's: the same but for float32
    rounding, since the estimator encodes the test rows alone and the study every row at
    once."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = TupleInfoNCEEnsembleClassifier(fusion, members=members, fit_fusion=False,
                                               cv=ENSEMBLE_CV,
                                               scoring="log_loss",
                                               n_selection_rounds=ENSEMBLE_ROUNDS,
                                               random_state=split)
        proba = model.fit(X, partial_labels(y, rows)).predict_proba(X.iloc[test])
    np.testing.assert_allclose(proba, blended, atol=1e-2)
    assert np.mean(proba.argmax(axis=1) == blended.argmax(axis=1)) > 0.98


def _labelled_predictions(model, X, y, rows, test, semi_supervised):
    """``(predicted classes of the test rows, fit seconds)`` of one labelled method's fit
    on ``rows``."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the MLP's convergence, the fusion's scale
        if hasattr(model, "transform"):
            Z = methods.as_array(model.fit_transform(X, partial_labels(y, rows)))
            predicted = linear_probe().fit(Z[rows], y[rows]).predict(Z[test])
        elif not hasattr(model, "steps"):  # a classifier of the whole table
            predicted = model.fit(X, partial_labels(y, rows)).predict(X.iloc[test])
        else:
            # The preprocessing learns without labels, on all rows as the raw features'
            # does (fitted on 1% of the rows, a title's TF-IDF can have 4 words); the
            # classifier on the labelled rows alone, or on every row with the others -1.
            Z = model[:-1].fit_transform(X)
            if semi_supervised:
                model[-1].fit(Z, partial_labels(y, rows))
            else:
                model[-1].fit(Z[rows], y[rows])
            predicted = model[-1].predict(Z[test])
    return predicted, time.perf_counter() - start


def run_dataset(name, *, n_samples, seeds, only=None, max_epochs=None, search=None,
                params=None, fit_seeds=1, first_fit=0, fractions=FRACTIONS, beside_raw=(),
                classifier=None, ensemble=False, ensemble_target_aware=False,
                ensemble_cross_fit=False, ensemble_fused_trees=False,
                ensemble_selection_rules=False, ensemble_trees=None):
    X, y, modalities = data.LOADERS[name](n_samples=n_samples)
    rows, raw_features = {}, None
    for method, factory in METHODS.items():
        if only and method not in only:
            continue
        if method in LABELLED:
            neural = {**(params or {}), **({} if max_epochs is None
                                           else {"max_epochs": max_epochs})}
            row = method
            if method == CLASSIFIER and classifier:
                neural["classifier"] = classifier
                row = f"{CLASSIFIER[:-1]}, " + ", ".join(
                    f"{key}={value}" for key, value in classifier.items()) + ")"
            scores, balanced, seconds = labelled_curve(
                factory, X, y, modalities, seeds, neural, fractions, fit_seeds, first_fit,
                semi_supervised=method in SEMI_SUPERVISED)
            rows[row] = {"scores": scores, "balanced": balanced, "fit_s": seconds}
            print(f"  {row:<24} " + "  ".join(f"{np.mean(scores[f]):.3f}"
                                                 for f in fractions) + f"  ({seconds:.1f} s)",
                  flush=True)
            continue
        seconds, derived = [], {}
        fits = range(first_fit, first_fit + fit_seeds)
        for fit_seed in (range(1) if method in DETERMINISTIC else fits):
            neural = {**(params or {}), "random_state": fit_seed}
            if max_epochs is not None:
                neural["max_epochs"] = max_epochs
            if method == "TupleInfoNCE, searched":
                model = factory(modalities, search={**(search or {}), "random_state": fit_seed},
                                **neural)
            else:
                model = factory(modalities, **neural)
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", category=UserWarning)
                Z = methods.as_array(model.fit_transform(X))
            seconds.append(time.perf_counter() - start)
            curves = {method: classifier_curves(linear_probe, Z, y, seeds, fractions)}
            if ensemble and method == ENSEMBLE_OF:
                aware = None
                if ensemble_target_aware:
                    def aware(split, fit_seed=fit_seed):
                        return methods.tuple_infonce_target_aware(
                            modalities, **{**neural, "random_state": split + fit_seed * seeds})
                curves.update(ensemble_curves(model, X, y, seeds, fractions, aware,
                                              ensemble_cross_fit, ensemble_fused_trees,
                                              ensemble_selection_rules, ensemble_trees))
            if beside_raw and method in BESIDE_RAW:
                if raw_features is None:
                    raw_features = methods.as_array(methods.raw(modalities).fit_transform(X))
                beside = np.hstack([raw_features, Z])
                for beside_model in beside_raw:
                    curves[f"{beside_model} + {method}"] = classifier_curves(
                        partial(BESIDE_MODELS[beside_model], random_state=fit_seed),
                        beside, y, seeds, fractions)
            for row, curve in curves.items():
                if isinstance(curve, tuple):
                    curve = dict(zip(("scores", "balanced"), curve))
                entry = derived.setdefault(row, {"fit_s": []})
                for key, by_share in curve.items():
                    for f in fractions:
                        entry.setdefault(key, {f: [] for f in fractions})[f] += by_share[f]
                entry["fit_s"].append(seconds[-1])
        for row, entry in derived.items():
            rows[row] = {**entry, "fit_s": float(np.mean(entry["fit_s"]))}
            print(f"  {row:<24} " + "  ".join(
                f"{np.mean(rows[row]['scores'][f]):.3f}" for f in fractions)
                + f"  ({rows[row]['fit_s']:.1f} s)", flush=True)
    return rows, len(y), np.bincount(y).max() / len(y)


def markdown(name, rows, n_rows, majority, fractions=FRACTIONS):
    unsupervised = [row for method, row in rows.items() if not learns_labels(method)] or \
        list(rows.values())
    best = {f: max(np.mean(row["scores"][f]) for row in unsupervised) for f in fractions}
    lines = [f"### {name} ({n_rows} rows; majority class {majority:.3f})", "",
             "| method | " + " | ".join(f"{f:.0%} labels" for f in fractions) + " | fit (s) |",
             "|---" * (len(fractions) + 2) + "|"]
    for method, row in rows.items():
        cells = []
        for f in fractions:
            mean, std = np.mean(row["scores"][f]), np.std(row["scores"][f])
            cell = f"{mean:.3f} ± {std:.3f}"
            cells.append(f"**{cell}**" if mean == best[f] and not learns_labels(method)
                         else cell)
        lines.append(f"| {method} | " + " | ".join(cells) + f" | {row['fit_s']:.1f} |")
    return "\n".join(lines)


#: What a row of the results holds per share: accuracy, balanced accuracy and, for the
#: ensembles and their members, the test rows' log loss, the ensemble's fit seconds and an
#: added member's weight (``bench_self_training_member.py``).
SCORE_KEYS = ("scores", "balanced", "log_loss", "members_s", "extra_members_s", "weight")


def write_json(results, path):
    """Every score of ``results``, fractions as strings (``read_json`` reads it back)."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump({name: {m: {"fit_s": r["fit_s"],
                              **{key: {str(k): v for k, v in r[key].items()}
                                 for key in SCORE_KEYS if key in r}}
                          for m, r in rows.items()} for name, rows in results.items()},
                  f, indent=1)


def read_json(path):
    """The results written by ``--json``, with float fractions again."""
    with open(path, encoding="utf-8") as f:
        raw = json.load(f)
    return {name: {method: {"fit_s": row["fit_s"],
                            **{key: {float(k): v for k, v in row[key].items()}
                               for key in SCORE_KEYS if key in row}}
                   for method, row in rows.items()} for name, rows in raw.items()}


def plot(results, path):
    """One panel per data set: mean probe accuracy against the labelled share."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(3.2 * len(results), 3.2), squeeze=False)
    for ax, (name, rows) in zip(axes[0], results.items()):
        for method, row in rows.items():
            shares = sorted(row["scores"])
            means = [np.mean(row["scores"][f]) for f in shares]
            ax.plot(shares, means, marker="o", markersize=3, label=method)
        ax.set_xscale("log")
        ax.set_xticks(FRACTIONS, [f"{f:.0%}" for f in FRACTIONS])
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
    axes[0][0].set_ylabel("linear probe, test accuracy")
    axes[0][0].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(SIZES))
    parser.add_argument("--methods", nargs="+", default=None, choices=list(METHODS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--fit-seeds", type=int, default=1,
                        help="fits of every learned representation (random_state 0, 1, ...)")
    parser.add_argument("--n-samples", type=int, default=None,
                        help="rows of every data set (default: data.STUDY_SIZES; 0: all)")
    parser.add_argument("--first-fit", type=int, default=0,
                        help="the first fit's number, to add fits to an earlier run's")
    parser.add_argument("--fractions", nargs="+", type=float, default=list(FRACTIONS),
                        help="shares of the training rows labelled (default: all five)")
    parser.add_argument("--beside-raw", nargs="*", choices=list(BESIDE_MODELS), default=None,
                        metavar="MODEL", help="also fit these models (none named: every one "
                        "of BESIDE_MODELS) on the raw features beside each BESIDE_RAW "
                        "representation")
    parser.add_argument("--ensemble", action="store_true",
                        help=f"also fit {ENSEMBLE} on each fit of {ENSEMBLE_OF}, and the "
                        "user's own ensemble of its members on the raw columns")
    parser.add_argument("--ensemble-target-aware", action="store_true",
                        help=f"with --ensemble, also {AWARE_ENSEMBLE}: its fused member on a "
                        "target-aware fusion fitted per split and share")
    parser.add_argument("--ensemble-cross-fit", action="store_true",
                        help=f"with --ensemble-target-aware, also {AWARE_CROSS_FIT}: its "
                        "members weighed on one more target-aware fusion per fold")
    parser.add_argument("--ensemble-fused-trees", action="store_true",
                        help=f"with --ensemble, also each ensemble{FUSED_TREES}: gradient "
                        "boosting on the columns beside the fused vector as more members")
    parser.add_argument("--ensemble-trees", metavar="PARAMS",
                        help="with --ensemble, also the ensemble and the user's own with the "
                        "default members' boosted trees given these parameters (a dict)")
    parser.add_argument("--ensemble-selection-rules", action="store_true",
                        help="with --ensemble, also each ensemble's selection under the other "
                        "rules of SELECTION_RULES (the one-standard-error rule)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--params", default="{}",
                        help="a dict of TupleInfoNCEFusion parameters for the neural methods")
    parser.add_argument("--classifier-params", default="{}",
                        help=f"a dict of {CLASSIFIER}'s own parameters (named in its row)")
    parser.add_argument("--json", help="write every score to this file")
    parser.add_argument("--plot", help="draw the curves into this image file")
    parser.add_argument("--from-json", nargs="+", metavar="FILE",
                        help="draw --plot from earlier --json files instead of running")
    args = parser.parse_args(argv)
    if args.from_json:
        results = {}
        for path in args.from_json:
            for name, rows in read_json(path).items():
                results.setdefault(name, {}).update(rows)
        plot(results, args.plot)
        return results, []
    results, reports = {}, []
    for name in args.datasets:
        settings = {"n_samples": data.study_rows(name, args.n_samples), "seeds": args.seeds,
                    "params": ast.literal_eval(args.params), "fit_seeds": args.fit_seeds,
                    "first_fit": args.first_fit, "beside_raw": (() if args.beside_raw is None
                                                   else args.beside_raw or list(BESIDE_MODELS)),
                    "classifier": ast.literal_eval(args.classifier_params),
                    "ensemble": args.ensemble,
                    "ensemble_target_aware": args.ensemble_target_aware,
                    "ensemble_cross_fit": args.ensemble_cross_fit,
                    "ensemble_fused_trees": args.ensemble_fused_trees,
                    "ensemble_selection_rules": args.ensemble_selection_rules,
                    "ensemble_trees": (ast.literal_eval(args.ensemble_trees)
                                       if args.ensemble_trees else None),
                    "fractions": tuple(args.fractions)}
        if args.quick:
            settings.update(QUICK)
        print(f"{name}:", flush=True)
        rows, n_rows, majority = run_dataset(name, only=args.methods, **settings)
        results[name] = rows
        reports.append(markdown(name, rows, n_rows, majority, settings["fractions"]))
        print(reports[-1], flush=True)
        if args.json:  # after every data set, so that a run cut short keeps what it measured
            write_json(results, args.json)
    if args.plot:
        plot(results, args.plot)
    return results, reports


if __name__ == "__main__":
    main()
