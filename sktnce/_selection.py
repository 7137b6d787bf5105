"""Ensemble selection: weights for a blend of classifiers' probabilities or regressors'
predictions, chosen greedily on out-of-fold predictions (Caruana et al., "Ensemble Selection
from Libraries of Models", ICML 2004, as AutoGluon's weighted ensemble uses it). Pure NumPy:
no estimator here."""

import numpy as np

__all__ = ["REGRESSION_SCORES", "SELECTION_RULES", "SELECTION_SCORES", "greedy_selection",
           "log_loss_of", "reweighted"]

#: Probabilities are clipped to at least this before their log: a member that gives a row's
#: class probability 0 (a class its training fold never saw) costs a finite, large loss.
_EPS = 1e-15


def _row_log_losses(probabilities, codes):
    """Each row's negative log probability of its class (n,)."""
    chosen = probabilities[np.arange(len(codes)), codes]
    return -np.log(np.clip(chosen, _EPS, None))


def log_loss_of(probabilities, codes):
    """The mean negative log probability of each row's class: ``probabilities`` of shape
    (n, K), ``codes`` (n,) class indices."""
    return float(np.mean(_row_log_losses(probabilities, codes)))


def reweighted(probabilities, class_weight):
    """``probabilities`` (..., K) with each class's column times its ``class_weight`` (K,),
    each row renormalised to sum 1; None leaves them as they are. With weights inverse to
    the classes' frequencies among the training rows, the largest is the Bayes decision for
    the balanced accuracy (each class's prior made equal)."""
    if class_weight is None:
        return probabilities
    weighted = np.asarray(probabilities, dtype=np.float64) * class_weight
    return weighted / weighted.sum(axis=-1, keepdims=True)


def _accuracy(probabilities, codes):
    return float(np.mean(probabilities.argmax(axis=1) == codes))


def _balanced_accuracy(probabilities, codes):
    """The mean over the classes present in ``codes`` of their rows' accuracy."""
    hits = probabilities.argmax(axis=1) == codes
    return float(np.mean([hits[codes == c].mean() for c in np.unique(codes)]))


#: What the selection can maximise over classifiers' probabilities, each as a function of
#: (probabilities, codes); the log loss is negated, and breaks the ties of the others.
SELECTION_SCORES = {
    "log_loss": lambda p, codes: -log_loss_of(p, codes),
    "accuracy": _accuracy,
    "balanced_accuracy": _balanced_accuracy,
}
#: What it can maximise over regressors' predictions, as functions of (predictions, target):
#: the mean squared or absolute error, negated.
REGRESSION_SCORES = {
    "squared_error": lambda p, target: -float(np.mean((p - target) ** 2)),
    "absolute_error": lambda p, target: -float(np.mean(np.abs(p - target))),
}


def _balanced_hits(probabilities, codes):
    """Each row's hit weighted so that their mean is the balanced accuracy: n / (the
    number of classes present * its class's count)."""
    counts = np.bincount(codes)
    weight = len(codes) / (np.count_nonzero(counts) * counts[codes])
    return (probabilities.argmax(axis=1) == codes) * weight


#: Each score of :data:`SELECTION_SCORES` and :data:`REGRESSION_SCORES` row by row, as
#: functions of (predictions, target) to an (n,) array whose mean is the score.
_ROW_SCORES = {
    "log_loss": lambda p, codes: -_row_log_losses(p, codes),
    "accuracy": lambda p, codes: (p.argmax(axis=1) == codes).astype(np.float64),
    "balanced_accuracy": _balanced_hits,
    "squared_error": lambda p, target: -(p - target) ** 2,
    "absolute_error": lambda p, target: -np.abs(p - target),
}
#: How the selection ends (``selection``): the greedy blend as it comes, or the best member
#: alone unless the blend beats it by more than one standard error of their row-by-row
#: difference on the out-of-fold rows (Breiman's one-standard-error rule, as CART prunes).
SELECTION_RULES = ("greedy", "one_standard_error")


def _one_standard_error(predictions, target, weights, first, scoring):
    """``weights``, or the best member of ``predictions`` alone (``first``, the selection's
    first pick) where the blend's ``scoring`` per row beats that member's by no more than
    one standard error of their difference."""
    row_score = _ROW_SCORES[scoring]
    gain = (row_score(np.tensordot(weights, predictions, axes=1), target)
            - row_score(predictions[first], target))
    if len(gain) < 2:
        keep = gain.sum() > 0
    else:
        keep = gain.mean() > gain.std(ddof=1) / np.sqrt(len(gain))
    return weights if keep else np.eye(len(predictions))[first]


def _selection_key(scoring):
    """The key that each round minimises over the candidate blends: the score negated, the
    log loss after it for classifiers' probabilities (a tie-break)."""
    if scoring in REGRESSION_SCORES:
        score = REGRESSION_SCORES[scoring]
        return lambda blend, target: (-score(blend, target),)
    score = SELECTION_SCORES[scoring]
    return lambda blend, codes: (-score(blend, codes), log_loss_of(blend, codes))


def greedy_selection(predictions, target, n_rounds, scoring="log_loss", selection="greedy"):
    """Weights of the members whose out-of-fold ``predictions`` blend best.

    ``predictions``: classifiers' probabilities (M, n, K) of the class indices ``target``
    (n,), scored by a name of :data:`SELECTION_SCORES`, or regressors' predictions (M, n)
    of the values ``target``, scored by a name of :data:`REGRESSION_SCORES`. Starting from
    an empty blend, each of ``n_rounds`` rounds adds one member, with replacement: the one
    whose addition gives the blend (the mean of the members added so far) the best
    ``scoring`` on ``target`` (ties between classifiers go to the lower log loss, then to
    the earliest member). A member's weight is the share of rounds that chose it, so the
    weights are multiples of ``1 / n_rounds`` and sum to 1; a member never chosen weighs 0.
    With ``selection="one_standard_error"`` the best member alone (the first round's pick)
    replaces the blend unless the blend's ``scoring``, row by row, beats that member's by
    more than one standard error of their difference (see :data:`SELECTION_RULES`).
    """
    if selection not in SELECTION_RULES:
        raise ValueError(f"selection must be one of {list(SELECTION_RULES)}; got {selection!r}.")
    predictions = np.asarray(predictions, dtype=np.float64)
    key = _selection_key(scoring)
    counts = np.zeros(len(predictions), dtype=np.int64)
    total = np.zeros_like(predictions[0])
    for round_ in range(1, n_rounds + 1):
        keys = [key((total + member) / round_, target) for member in predictions]
        best = min(range(len(keys)), key=keys.__getitem__)
        counts[best] += 1
        total += predictions[best]
        if round_ == 1:
            first = best
    if selection == "one_standard_error":
        return _one_standard_error(predictions, target, counts / n_rounds, first, scoring)
    return counts / n_rounds
