"""The search's rewards: what a candidate setting of alpha and beta is judged by."""

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

__all__ = ["REWARDS", "labelled_probe_score", "rankme"]

#: The rewards TupleInfoNCESearch offers; "probe" is the one that reads labels.
REWARDS = ("log_prob", "accuracy", "rankme", "probe")
#: Folds of the few-label reward's cross-validation (fewer when a class has fewer rows).
PROBE_FOLDS = 3
UNLABELLED = -1


def rankme(embedding, eps=1e-7):
    """Effective rank of an embedding (Garrido et al., ICML 2023), a label-free reward.

    ``exp`` of the entropy of the normalised singular values of ``embedding`` (n, d): d
    for singular values all equal, 1 for a rank-one embedding.
    """
    singular = np.linalg.svd(np.asarray(embedding, dtype=np.float64), compute_uv=False)
    share = singular / (singular.sum() + eps) + eps
    return float(np.exp(-(share * np.log(share)).sum()))


def check_partial_labels(y, n_samples):
    """Validate ``y`` of the few-label reward: labels, with -1 for unlabelled rows.

    Returns ``y`` as an array. Raises ValueError when too few rows are labelled for a
    stratified cross-validation: 2 classes, and 2 rows of each.
    """
    if y is None:
        raise ValueError(
            "reward='probe' scores candidates by a linear probe on labelled rows: pass y, "
            "with -1 for unlabelled rows (scikit-learn's semi-supervised convention)."
        )
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n_samples:
        raise ValueError(f"y must have shape ({n_samples},); got {y.shape}.")
    labelled = y[y != UNLABELLED]
    classes, counts = np.unique(labelled, return_counts=True)
    if len(classes) < 2 or counts.min() < 2:
        raise ValueError(
            "reward='probe' needs labelled rows of at least 2 classes, each with at least "
            "2 rows, for its stratified cross-validation; y labels "
            f"{dict(zip(classes.tolist(), counts.tolist()))} (and -1 marks the others)."
        )
    return y


def labelled_probe_score(embedding, y, *, scoring, random_state):
    """The few-label reward: a linear probe's cross-validated score on the labelled rows.

    ``y`` holds -1 for unlabelled rows. The probe is StandardScaler + LogisticRegression,
    as a user's pipeline would put behind the fusion; ``scoring`` is as in
    :class:`~sklearn.model_selection.GridSearchCV` (None: accuracy).
    """
    labelled = y != UNLABELLED
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    _, counts = np.unique(y[labelled], return_counts=True)
    folds = StratifiedKFold(min(PROBE_FOLDS, counts.min()), shuffle=True,
                            random_state=random_state)
    scores = cross_val_score(probe, embedding[labelled], y[labelled], cv=folds,
                             scoring=scoring)
    return float(np.mean(scores))
