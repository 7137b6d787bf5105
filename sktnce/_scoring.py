"""Scoring a model on the labelled rows only, for partially labelled targets."""

from sklearn.metrics import check_scoring
from sklearn.utils import _safe_indexing

from ._labels import label_array, labelled_rows

__all__ = ["labelled_scorer"]


class _LabelledScorer:
    """A scorer that drops the rows whose target is -1, then calls ``scorer``."""

    def __init__(self, scorer):
        self.scorer = scorer

    def __call__(self, estimator, X, y, **kwargs):
        labelled, y_labelled = labelled_rows(label_array(y))
        if len(labelled) == 0:
            raise ValueError(
                "labelled_scorer: every row to score has the label -1 (unlabelled), so there "
                "is nothing to score. Use folds that hold labelled rows, for instance "
                "StratifiedKFold, which spreads each class, -1 included, over the folds.")
        return self.scorer(estimator, _safe_indexing(X, labelled), y_labelled, **kwargs)

    def __repr__(self):
        return f"labelled_scorer({self.scorer!r})"


def labelled_scorer(scoring=None):
    """A scorer that scores only the rows with a label, ignoring those marked -1.

    scikit-learn's semi-supervised convention marks an unlabelled row with -1. A
    :class:`~sklearn.pipeline.Pipeline` whose fusion is target-aware (``label_weight > 0``)
    is fitted on such a ``y``, and the default score of
    :class:`~sklearn.model_selection.GridSearchCV` or
    :func:`~sklearn.model_selection.cross_val_score` would count every unlabelled test row
    as an error. This scorer scores the labelled test rows alone.

    Parameters
    ----------
    scoring : str, callable or None, default=None
        The score of the labelled rows, as ``scoring`` in
        :class:`~sklearn.model_selection.GridSearchCV`: a scorer name such as
        ``"balanced_accuracy"``, a scorer callable ``(estimator, X, y)``, or None for the
        estimator's own ``score``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y)``: ``scoring`` on the rows of ``X`` whose ``y`` is not -1.
        It raises ValueError when every row is unlabelled.

    See Also
    --------
    sklearn.semi_supervised.SelfTrainingClassifier : Trains on the labelled rows of such a
        ``y``; with ``max_iter=0``, on them alone.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.semi_supervised import SelfTrainingClassifier
    >>> from sktnce import labelled_scorer
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> y = np.array([0, -1, 1, -1])
    >>> model = SelfTrainingClassifier(LogisticRegression(), max_iter=0).fit(X, y)
    >>> model.score(X, y)  # the -1 rows count as errors
    0.5
    >>> labelled_scorer()(model, X, y)
    1.0
    """
    return _LabelledScorer(_own_score if scoring is None else check_scoring(scoring=scoring))


def _own_score(estimator, X, y, **kwargs):
    """The estimator's own ``score``, as GridSearchCV's ``scoring=None`` uses it."""
    return estimator.score(X, y, **kwargs)
