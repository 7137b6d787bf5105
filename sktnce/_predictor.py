"""What sktnce's predictors share: a fusion fitted on every row of a partly labelled table,
the labels checked once, and a score over the labelled rows alone."""

import numpy as np
from sklearn.base import clone
from sklearn.metrics import accuracy_score
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._fusion import TupleInfoNCEFusion
from ._labels import UNLABELLED, encode_labels, label_array, labelled_rows
from ._modalities import check_table, encode_input
from ._training import resolve_device

__all__ = ["FusionOwnerMixin", "FusionPredictorMixin", "fitted_fusion", "seeded_fit"]


def seeded_fit(template, X, y, seed):
    """``template`` fitted on ``X`` (and ``y`` where not None), seeded by ``seed`` where
    its own random_state is None."""
    if template.random_state is None:
        template.set_params(random_state=seed)
    return template.fit(X) if y is None else template.fit(X, y)


def fitted_fusion(template, X, classes, codes, validation, seed):
    """``template`` fitted on every row of ``X`` (seeded by ``seed`` where its own
    random_state is None); a target-aware one with the labels (``classes[codes]``, -1 for
    none) of every labelled row but the ``validation`` ones (None: none held out)."""
    if not template.label_weight > 0:
        return seeded_fit(template, X, None, seed)
    codes = codes.copy()
    if validation is not None:
        codes[validation] = UNLABELLED
    # Classes as the user gave them, in a dtype that holds -1 too: bool and unsigned
    # classes (and str) go in an object array, which encode_labels reads back by type.
    y_fusion = classes[np.maximum(codes, 0)].astype(
        classes.dtype if classes.dtype.kind in "if" else object)
    y_fusion[codes == UNLABELLED] = UNLABELLED
    return seeded_fit(template, X, y_fusion, seed)


class FusionOwnerMixin:
    """Mixin of a predictor with a ``fusion`` parameter, fitted as ``fusion_`` on every row
    of ``X``: the fusion's template, the input attributes it takes, ``X`` encoded."""

    def _fusion_template(self):
        """A clone of ``fusion`` (or the default one), checked to be a fusion."""
        if self.fusion is None:
            return TupleInfoNCEFusion()
        if not isinstance(self.fusion, TupleInfoNCEFusion):
            raise TypeError("fusion must be a TupleInfoNCEFusion; got "
                            f"{type(self.fusion).__name__}.")
        template = clone(self.fusion)
        template._validate_params()
        return template

    def _take_input_attributes(self):
        """``n_features_in_`` and ``feature_names_in_`` as the fitted fusion has them."""
        self.n_features_in_ = self.fusion_.n_features_in_
        vars(self).pop("feature_names_in_", None)
        if hasattr(self.fusion_, "feature_names_in_"):
            self.feature_names_in_ = self.fusion_.feature_names_in_

    def _encoded(self, X, device):
        """``X`` encoded by the fitted fusion's modalities on ``device``, checked as this
        estimator's input, so that errors name the estimator called."""
        check_is_fitted(self)
        return encode_input(self, self.fusion_._get_state().preprocessing, X, device)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.string = True
        tags.target_tags.required = True
        return tags


class FusionPredictorMixin(FusionOwnerMixin):
    """Mixin of a classifier with a ``fusion`` parameter, fitted as ``fusion_`` on every row
    of ``X`` while ``y`` marks the rows without a label with -1."""

    #: What the classifier does with the labels, for the messages of bad labels.
    _needs_labels = "the classifier fits on the labelled rows"

    def _fusion_template(self):
        """The fusion's template, refused where it would train on a number."""
        template = super()._fusion_template()
        if template.label_weight > 0 and template.label_loss == "squared_error":
            raise ValueError(
                f"{type(self).__name__} predicts classes, and its fusion's "
                "label_loss='squared_error' trains on a number: set label_loss="
                "'cross_entropy' (or 'supcon'), or predict the number with "
                "TupleInfoNCERegressor.")
        return template

    def _checked_input(self, X, y, device):
        """``(X, labels)``: the table and its :class:`~sktnce._labels.Labels` on
        ``device``, checked before any training."""
        X = check_table(X, estimator=self, min_rows=2)
        if y is not None:
            y = column_or_1d(label_array(y), warn=True)
        labels = encode_labels(y, len(X), owner=type(self).__name__,
                               device=resolve_device(device), needs=self._needs_labels,
                               instead=None)
        return X, labels

    def predict(self, X):
        """The most probable class of each row.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, X, y, sample_weight=None):
        """Accuracy on the rows with a label: rows whose ``y`` is -1 are left out, so that
        :class:`~sklearn.model_selection.GridSearchCV` scores a partly labelled ``y``
        as it should.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            The true classes, -1 for rows without one.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        labelled, y_labelled = labelled_rows(label_array(y))
        if len(labelled) == 0:
            raise ValueError("score needs labelled rows; every entry of y is -1.")
        weights = None if sample_weight is None else np.asarray(sample_weight)[labelled]
        return accuracy_score(y_labelled, self.predict(_safe_indexing(X, labelled)),
                              sample_weight=weights)
