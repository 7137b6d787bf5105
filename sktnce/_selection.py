"""Ensemble selection: weights for a blend of classifiers' probabilities, chosen greedily on
out-of-fold predictions (Caruana et al., "Ensemble Selection from Libraries of Models", ICML
2004, as AutoGluon's weighted ensemble uses it). Pure NumPy: no estimator here."""

import numpy as np

__all__ = ["greedy_selection", "log_loss_of"]

#: Probabilities are clipped to at least this before their log: a member that gives a row's
#: class probability 0 (a class its training fold never saw) costs a finite, large loss.
_EPS = 1e-15


def log_loss_of(probabilities, codes):
    """The mean negative log probability of each row's class: ``probabilities`` of shape
    (n, K), ``codes`` (n,) class indices."""
    chosen = probabilities[np.arange(len(codes)), codes]
    return float(-np.mean(np.log(np.clip(chosen, _EPS, None))))


def greedy_selection(probabilities, codes, n_rounds):
    """Weights of the members whose out-of-fold ``probabilities`` (M, n, K) blend best.

    Starting from an empty blend, each of ``n_rounds`` rounds adds one member, with
    replacement: the one whose addition gives the blend (the mean of the members added so
    far) the lowest log loss on ``codes`` (the earliest member on a tie). A member's weight is
    the share of rounds that chose it, so the weights are multiples of ``1 / n_rounds`` and
    sum to 1; a member never chosen weighs 0.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    counts = np.zeros(len(probabilities), dtype=np.int64)
    total = np.zeros_like(probabilities[0])
    for round_ in range(1, n_rounds + 1):
        losses = [log_loss_of((total + member) / round_, codes) for member in probabilities]
        best = int(np.argmin(losses))
        counts[best] += 1
        total += probabilities[best]
    return counts / n_rounds
