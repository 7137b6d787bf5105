"""TupleInfoNCERegressor: the ensemble classifier's twin for a continuous target, a ridge
probe on the fused vector and boosted trees on the modalities' own columns, blended with
weights chosen on out-of-fold squared error."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import RidgeCV
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._ensemble import (_FOLDS, _FUSION, _MEMBERS, AWARE_WEIGHINGS, BlendMixin, check_members,
                        draw_seeds, fold_predictions, seeded)
from ._fusion import restore_on_failure
from ._modalities import check_table
from ._predictor import seeded_fit
from ._selection import REGRESSION_SCORES, greedy_selection
from ._targets import continuous_target

__all__ = ["TupleInfoNCERegressor", "default_regression_members"]

#: The ridge probes' penalties, chosen per fit by efficient leave-one-out: with 1% of the
#: targets a table has a few dozen, where the penalty that fits is far from 1.
RIDGE_ALPHAS = tuple(np.logspace(-3, 3, 13))


def default_regression_members():
    """The members of :class:`TupleInfoNCERegressor` with ``members=None``: a ridge probe on
    the fused vector, then on the modalities' columns, and on the columns beside the fused
    vector, a ridge regression and gradient boosting with large and small leaves (small ones
    win with few targets)."""
    def linear():
        return make_pipeline(SimpleImputer(keep_empty_features=True), StandardScaler(),
                             RidgeCV(alphas=RIDGE_ALPHAS))

    def per_view(view):
        return [(f"{view}_ridge", linear(), view),
                (f"{view}_hgb", HistGradientBoostingRegressor(), view),
                (f"{view}_hgb_leaf5", HistGradientBoostingRegressor(min_samples_leaf=5), view)]

    return [("fused_ridge", linear(), "fused"), *per_view("columns"),
            *per_view("columns_and_fused")]


def target_range(target):
    """The least and the greatest of ``target``: the bounds of the predictions of a member
    fitted on it."""
    return np.array([target.min(), target.max()])


def clipped(predicted, bounds):
    """``predicted`` clipped to ``bounds`` (None: as they are)."""
    return predicted if bounds is None else np.clip(predicted, *bounds)


class TupleInfoNCERegressor(BlendMixin, RegressorMixin, BaseEstimator):
    """Blend a ridge probe on the fused vector with gradient boosting on the modalities' own
    columns, each weighted by how well it predicts rows it was not trained on.

    The regressor's twin is :class:`TupleInfoNCEEnsembleClassifier`: ``fit(X, y)`` fits
    ``fusion`` on every row of ``X``, then gives each member its view of
    the rows with a target: the fused vector r, the modalities' preprocessed columns (those
    the fusion computed, NaN where a modality is absent), or both. Every member's
    out-of-fold predictions on those rows (``cv`` shuffled folds) choose the weights by
    greedy ensemble selection with replacement on ``scoring`` (Caruana et al., ICML 2004);
    the members kept are then refitted on every row with a target, and ``predict`` is their
    weighted mean.

    ``y`` is a number per row, NaN for a row without one: scikit-learn has no marker of a
    missing target for regression, and -1 is a number. An integer ``y`` holding -1 and no
    NaN is refused as ambiguous, as are strings, categories, inf, and a target with one
    value, before any training.

    Parameters
    ----------
    fusion : TupleInfoNCEFusion, default=None
        The fusion (cloned and fitted on every row, unless ``fit_fusion=False``); None:
        ``TupleInfoNCEFusion()``. Its ``random_state``, if None, is drawn from this
        estimator's. With ``label_weight > 0`` and ``label_loss="squared_error"`` it is
        target-aware: it trains on the rows' targets too, and the members are then graded
        as ``aware_weighing`` says, never on a fused vector that saw the targets it is
        graded on; another ``label_loss`` is refused.
    members : list of (str, estimator, str), default=None
        The blend's candidates, as ``(name, regressor, view)``, the view one of
        ``"fused"``, ``"columns"`` or ``"columns_and_fused"``; each regressor is cloned.
        None: ``("fused_ridge", <scaled RidgeCV>, "fused")``, ``("columns_ridge", <the
        same>, "columns")``, ``("columns_hgb", HistGradientBoostingRegressor(),
        "columns")`` and ``("columns_hgb_leaf5",
        HistGradientBoostingRegressor(min_samples_leaf=5), "columns")``, and the same three
        on ``"columns_and_fused"`` (``"columns_and_fused_ridge"``, ...); the ridge
        probes choose their penalty among ``RIDGE_ALPHAS`` (1e-3 to 1e3).
    cv : int, default=3
        Shuffled folds of the out-of-fold predictions (fewer where there are fewer rows
        with a target).
    scoring : {"squared_error", "absolute_error"}, default="squared_error"
        What the selection minimises on the out-of-fold predictions: their mean squared
        error, or their mean absolute error.
    n_selection_rounds : int, default=25
        Rounds of the greedy selection: the weights are multiples of its inverse.
    clip_predictions : bool, default=True
        Each member's predictions, out-of-fold and in ``predict``, are clipped to the range
        of the targets it was fitted on (out-of-fold: those of its training folds), so that a
        linear member fitted on a few dozen rows cannot extrapolate far past every target
        seen, and the selection grades it as it will predict. False: as the members give
        them (where a target may lie beyond the range of those known, a trend in time).
    aware_weighing : {"twin", "cross_fit"}, default="twin"
        How the members of a target-aware fusion are weighed. "twin": on the views of its
        unsupervised twin (the same fusion with ``label_weight=0``, fitted once more); the
        twin cannot see where the targets make the fused vector better or worse.
        "cross_fit": on ``cv`` more target-aware fusions, one per fold, each trained on
        the targets of the other folds only, whose members predict that fold (``cv`` more
        fits of the fusion). Ignored without ``label_weight > 0``.
    fit_fusion : bool, default=True
        False: ``fusion`` is already fitted (without labels) and used as it is.
    n_jobs : int, default=None
        The members' out-of-fold fits in parallel, as ``n_jobs`` of
        :func:`~sklearn.model_selection.cross_val_predict`. The result does not depend on it.
    random_state : int, RandomState instance or None, default=None
        Seeds the fusion (where its own is None), the folds and the members' own
        ``random_state`` left None.

    Attributes
    ----------
    fusion_ : TupleInfoNCEFusion
        The fitted fusion: ``fusion_.transform(X)`` is the fused vector.
    members_ : list of (str, estimator, str)
        The members of nonzero weight, as ``(name, fitted estimator, view)``, in the order
        of ``members``, each refitted on every row with a target.
    weights_ : ndarray of shape (n_members_kept,)
        Their weights, which sum to 1.
    named_estimators_ : Bunch
        Their fitted estimators, by name.
    prediction_range_ : ndarray of shape (2,) or None
        The least and the greatest target of the rows with one, to which each member's
        predictions are clipped; None with ``clip_predictions=False``.
    leaderboard_ : dict of lists
        One entry per member (``pandas.DataFrame(leaderboard_)`` reads it): ``"member"``,
        ``"view"``, ``"weight"``, and its out-of-fold ``"squared_error"``,
        ``"absolute_error"`` and ``"r2"`` on the rows with a target (of its predictions
        clipped, with ``clip_predictions=True``).
    n_features_in_ : int
        Number of columns seen in fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names seen in fit, when X had string column names.

    See Also
    --------
    TupleInfoNCEEnsembleClassifier : The same blend for classes.
    sklearn.ensemble.StackingRegressor : Members blended by a learned final estimator.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sktnce import TupleInfoNCEFusion, TupleInfoNCERegressor
    >>> from sktnce.datasets import make_multimodal_classification
    >>> X, _, columns = make_multimodal_classification(n_samples=300, random_state=0)
    >>> y = X[:, 0] - X[:, -1] + np.random.default_rng(0).normal(scale=0.1, size=300)
    >>> y_partial = np.where(np.arange(300) % 5 == 0, y, np.nan)   # 1 row in 5 known
    >>> fusion = TupleInfoNCEFusion(
    ...     modalities=[(name, StandardScaler(), cols) for name, cols in columns.items()],
    ...     max_epochs=2)
    >>> reg = TupleInfoNCERegressor(fusion, random_state=0).fit(X, y_partial)
    >>> float(sum(reg.leaderboard_["weight"]))
    1.0
    >>> reg.predict(X[:2]).shape
    (2,)
    """

    _parameter_constraints = {
        "fusion": [HasMethods(["fit", "transform"]), None],
        "members": [list, None],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "scoring": [StrOptions(set(REGRESSION_SCORES))],
        "n_selection_rounds": [Interval(Integral, 1, None, closed="left")],
        "clip_predictions": ["boolean"],
        "aware_weighing": [StrOptions(set(AWARE_WEIGHINGS))],
        "fit_fusion": ["boolean"],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
    }
    # scikit-learn's linear models keep float32 input in float32; a regression's
    # predictions are read to more digits than a class's.
    _view_dtype = np.float64

    def __init__(self, fusion=None, *, members=None, cv=3, scoring="squared_error",
                 n_selection_rounds=25, clip_predictions=True, aware_weighing="twin",
                 fit_fusion=True, n_jobs=None, random_state=None):
        self.fusion = fusion
        self.members = members
        self.cv = cv
        self.scoring = scoring
        self.n_selection_rounds = n_selection_rounds
        self.clip_predictions = clip_predictions
        self.aware_weighing = aware_weighing
        self.fit_fusion = fit_fusion
        self.n_jobs = n_jobs
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Fit the fusion on every row, then weigh and fit the members on the rows with a
        target.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            A number per row, NaN for a row without one; at least 3 rows with a target.

        Returns
        -------
        self : TupleInfoNCERegressor
        """
        template = self._template()
        if template.label_weight > 0 and template.label_loss != "squared_error":
            raise ValueError(
                "TupleInfoNCERegressor predicts a number, and a target-aware fusion trains "
                f"on one with label_loss='squared_error' (got {template.label_loss!r}). "
                "Set label_loss='squared_error', or label_weight=0.")
        members = check_members(self.members, default_regression_members, "predict")
        X = check_table(X, estimator=self, min_rows=2)
        rows, target = continuous_target(y, len(X), owner=type(self).__name__, min_rows=3)
        seeds = draw_seeds(self.random_state)
        known = None
        if template.label_weight > 0:
            known = np.full(len(X), np.nan)
            known[rows] = target
        with restore_on_failure(self):
            self.prediction_range_ = target_range(target) if self.clip_predictions else None
            self.fusion_ = template if not self.fit_fusion else seeded_fit(
                template, X, known, int(seeds[_FUSION]))
            self._fit_members(X, template, members, rows, target, seeds)
            self._take_input_attributes()
        return self

    def _weighing_folds(self, target, seeds):
        """The shuffled folds of the out-of-fold predictions on the rows with ``target``."""
        return KFold(min(self.cv, len(target)), shuffle=True, random_state=int(seeds[_FOLDS]))

    def _fold_fusion(self, template, X, rows, target, seeds):
        """``template`` (the fitted fusion's clone) fitted with the targets of ``rows``
        alone."""
        known = np.full(len(X), np.nan)
        known[rows] = target
        return seeded_fit(template, X, known, int(seeds[_FUSION]))

    def _weigh(self, members, views, rows, target, seeds):
        """``(weights, leaderboard)`` of ``members`` from their out-of-fold predictions on
        ``rows`` of ``views`` (or of a list of views, one per fold), whose targets are
        ``target``, selected on ``scoring``."""
        folds = self._weighing_folds(target, seeds)
        oof = [fold_predictions(seeded(estimator, int(seeds[_MEMBERS]) + position), views,
                                view, rows, target, folds, n_jobs=self.n_jobs)
               for position, (_, estimator, view) in enumerate(members)]
        if self.clip_predictions:
            for train, test in folds.split(target):
                for predicted in oof:
                    predicted[test] = clipped(predicted[test], target_range(target[train]))
        weights = greedy_selection(np.stack(oof), target, self.n_selection_rounds,
                                   self.scoring)
        board = {"member": [name for name, _, _ in members],
                 "view": [view for _, _, view in members],
                 "weight": [float(w) for w in weights],
                 "squared_error": [float(mean_squared_error(target, p)) for p in oof],
                 "absolute_error": [float(mean_absolute_error(target, p)) for p in oof],
                 "r2": [float(r2_score(target, p)) for p in oof]}
        return weights, board

    def predict(self, X):
        """Each row's prediction: the kept members' weighted mean (each member's clipped to
        ``prediction_range_``, where there is one).

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        bounds = self.prediction_range_
        return self._blend(X, lambda fitted, view: clipped(fitted.predict(view), bounds))

    def score(self, X, y, sample_weight=None):
        """R² on the rows with a target: rows whose ``y`` is NaN are left out, so that
        :class:`~sklearn.model_selection.GridSearchCV` scores a partly known ``y`` as it
        should.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            The true values, NaN for rows without one.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        y = np.asarray(y, dtype=np.float64)
        known = np.flatnonzero(~np.isnan(y))
        if len(known) == 0:
            raise ValueError("score needs rows with a target; every entry of y is NaN.")
        weights = None if sample_weight is None else np.asarray(sample_weight)[known]
        return r2_score(y[known], self.predict(_safe_indexing(X, known)),
                        sample_weight=weights)
