"""The search's rewards: what a candidate setting of alpha and beta is judged by."""

import warnings
from typing import NamedTuple

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ._labels import label_array, unlabelled_mask

__all__ = ["REWARDS", "Reward", "check_partial_labels", "labelled_probe_score", "rankme"]


class Reward(NamedTuple):
    """What a reward needs and how a candidate's result gives it."""

    name: str
    #: Reads ``y`` (labels, with -1 for unlabelled rows).
    reads_labels: bool
    #: Ranks validation rows among ``score_chunk_size`` candidates: a value per modality,
    #: averaged over the modalities that some row can query.
    cross_modal: bool

    def values(self, results):
        """The reward of every candidate's result (a dict of its scores), checked finite."""
        if self.cross_modal:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN: checked below
                rewards = np.array([np.nanmean(result[self.name]) for result in results])
        else:
            rewards = np.array([result[self.name] for result in results], dtype=np.float64)
        if not np.isfinite(rewards).all():
            raise ValueError(
                f"The {self.name!r} reward is not finite: no validation row has any "
                "modality present, or the embedding is degenerate."
            )
        return rewards


#: The rewards TupleInfoNCESearch offers, by name.
REWARDS = {
    "log_prob": Reward("log_prob", reads_labels=False, cross_modal=True),
    "accuracy": Reward("accuracy", reads_labels=False, cross_modal=True),
    "rankme": Reward("rankme", reads_labels=False, cross_modal=False),
    "probe": Reward("probe", reads_labels=True, cross_modal=False),
}
#: Folds of the few-label reward's cross-validation (fewer when a class has fewer rows).
PROBE_FOLDS = 3


def rankme(embedding, eps=1e-7):
    """Effective rank of an embedding (Garrido et al., ICML 2023), a label-free reward.

    ``exp`` of the entropy of the normalised singular values of ``embedding`` (n, d): d
    for singular values all equal, 1 for a rank-one embedding.
    """
    singular = np.linalg.svd(np.asarray(embedding, dtype=np.float64), compute_uv=False)
    share = singular / (singular.sum() + eps) + eps
    return float(np.exp(-(share * np.log(share)).sum()))


def check_partial_labels(y, n_samples, where=""):
    """Validate ``y`` of the few-label reward: labels, with -1 for unlabelled rows.

    Returns ``y`` as an array. Raises ValueError when too few rows are labelled for a
    stratified cross-validation: 2 classes, and 2 rows of each (``where``, if it says
    which rows the reward reads, is said in the message).
    """
    if y is None:
        raise ValueError(
            "reward='probe' scores candidates by a linear probe on labelled rows: pass y, "
            "with -1 for unlabelled rows (scikit-learn's semi-supervised convention)."
        )
    y = label_array(y)
    if y.ndim != 1 or len(y) != n_samples:
        raise ValueError(f"y must have shape ({n_samples},); got {y.shape}.")
    labelled = y[~unlabelled_mask(y)]
    classes, counts = np.unique(labelled, return_counts=True)
    if len(classes) < 2 or counts.min() < 2:
        raise ValueError(
            f"reward='probe' needs labelled rows{where} of at least 2 classes, each with at "
            "least 2 rows, for its stratified cross-validation; y labels "
            f"{dict(zip(classes.tolist(), counts.tolist()))} (and -1 marks the others)."
        )
    return y


def labelled_probe_score(embedding, y, *, scoring, random_state):
    """The few-label reward: a linear probe's cross-validated score on the labelled rows.

    ``y`` holds -1 for unlabelled rows. The probe is StandardScaler + LogisticRegression,
    as a user's pipeline would put behind the fusion; ``scoring`` is as in
    :class:`~sklearn.model_selection.GridSearchCV` (None: accuracy).
    """
    labelled = ~unlabelled_mask(y)
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    _, counts = np.unique(y[labelled], return_counts=True)
    folds = StratifiedKFold(min(PROBE_FOLDS, counts.min()), shuffle=True,
                            random_state=random_state)
    scores = cross_val_score(probe, embedding[labelled], y[labelled], cv=folds,
                             scoring=scoring)
    return float(np.mean(scores))
