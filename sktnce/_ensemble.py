"""TupleInfoNCEEnsembleClassifier: the fused vector's probe and boosted trees on the
modalities' own columns, blended with weights chosen on out-of-fold predictions; and what it
shares with TupleInfoNCERegressor (the views, the members' checks and seeds, the blend)."""

import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, balanced_accuracy_score
from sklearn.model_selection import KFold, LeaveOneOut, StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted

from ._fusion import TupleInfoNCEFusion, restore_on_failure
from ._labels import UNLABELLED
from ._modalities import encode_input
from ._predictor import FusionOwnerMixin, FusionPredictorMixin, fitted_fusion
from ._selection import SELECTION_SCORES, greedy_selection, log_loss_of, reweighted
from ._training import represent

__all__ = ["AWARE_WEIGHINGS", "BlendMixin", "TupleInfoNCEEnsembleClassifier", "blend_weights",
           "check_members", "class_weights", "default_members", "draw_seeds",
           "fold_predictions", "fusion_views", "out_of_fold", "preprocessed_width",
           "seeded", "weighing_folds"]

#: What a member reads: the fused vector r, the modalities' preprocessed columns (NaN where
#: a modality is absent), or both side by side.
VIEWS = ("fused", "columns", "columns_and_fused")
#: How a target-aware fusion's members are weighed (``aware_weighing``): on its
#: unsupervised twin's views, or on one more target-aware fusion per fold.
AWARE_WEIGHINGS = ("twin", "cross_fit")
#: Purposes of the seeds drawn from random_state.
_FUSION, _FOLDS, _MEMBERS = range(3)


#: The default members' boosted trees: a quarter of scikit-learn's rounds at four times its
#: learning rate.
DEFAULT_TREE_PARAMS = {"max_iter": 25, "learning_rate": 0.4}
#: Above this many columns the default trees bin each column into ``WIDE_TABLE_BINS`` bins,
#: not scikit-learn's 255: their time grows with columns x bins, and on narrower tables the
#: 255 bins measured the better (``benchmarks/RESULTS.md``, "Fewer bins as the default: the
#: comparison").
WIDE_TABLE_COLUMNS = 256
WIDE_TABLE_BINS = 63


def default_members(n_columns=None):
    """The members of :class:`TupleInfoNCEEnsembleClassifier` with ``members=None``: a linear
    probe on the fused vector, and on the modalities' columns a logistic regression and
    gradient boosting with large and small leaves (small ones win with few labels). The
    trees take a quarter of scikit-learn's rounds at four times its learning rate: as
    accurate on the study sets with 1% and 10% of the labels as twice the rounds at half the
    rate, at about half their price (``benchmarks/RESULTS.md``, "Fewer rounds still", and
    before it "Cheaper boosted trees"); on more than ``WIDE_TABLE_COLUMNS`` columns
    (``n_columns``, the fitted fusion's; None: fewer), ``WIDE_TABLE_BINS`` bins per
    column."""
    def linear():
        return make_pipeline(SimpleImputer(keep_empty_features=True), StandardScaler(),
                             LogisticRegression(max_iter=3000))

    trees = dict(DEFAULT_TREE_PARAMS)
    if n_columns is not None and n_columns > WIDE_TABLE_COLUMNS:
        trees["max_bins"] = WIDE_TABLE_BINS
    return [("fused_lr", linear(), "fused"),
            ("columns_lr", linear(), "columns"),
            ("columns_hgb", HistGradientBoostingClassifier(**trees), "columns"),
            ("columns_hgb_leaf5", HistGradientBoostingClassifier(min_samples_leaf=5, **trees),
             "columns")]


def preprocessed_width(fusion):
    """The number of the fitted ``fusion``'s preprocessed columns (its ``"columns"`` view)."""
    return int(sum(fusion._get_state().preprocessing.widths))


def check_members(members, default=default_members, method="predict_proba"):
    """``members`` (None: ``default()``) as a list of ``(name, estimator, view)``, each
    estimator with ``fit`` and ``method``, checked before any training."""
    if members is None:
        return default()
    members = list(members)
    if not members:
        raise ValueError("members is empty: give at least one (name, estimator, view).")
    names = set()
    for position, member in enumerate(members):
        if not isinstance(member, tuple) or len(member) != 3:
            raise TypeError(f"members[{position}] must be a (name, estimator, view) tuple; "
                            f"got {member!r}.")
        name, estimator, view = member
        if not isinstance(name, str) or not name or "__" in name:
            raise ValueError(f"members[{position}]: the name must be a non-empty str without "
                             f"'__'; got {name!r}.")
        if name in names:
            raise ValueError(f"Duplicate member name {name!r}: names must be unique.")
        names.add(name)
        if not (hasattr(estimator, "fit") and hasattr(estimator, method)):
            raise TypeError(f"Member {name!r}: the estimator must implement fit and "
                            f"{method}; got {type(estimator).__name__}.")
        if view not in VIEWS:
            raise ValueError(f"Member {name!r}: the view must be one of {list(VIEWS)}; got "
                             f"{view!r}.")
    return members


def seeded(estimator, seed):
    """A clone of ``estimator`` whose ``random_state`` parameters left None (its own or its
    steps') are seeded from ``seed``, so that the blend is the same for a random_state."""
    estimator = clone(estimator)
    rng = np.random.RandomState(seed)
    unset = sorted(key for key, value in estimator.get_params().items()
                   if (key == "random_state" or key.endswith("__random_state"))
                   and value is None)
    estimator.set_params(**{key: int(rng.randint(np.iinfo(np.int32).max)) for key in unset})
    return estimator


class _Views:
    """The fitted fusion's views of a table: its r and the modalities' columns, in the
    network's dtype or in ``dtype``."""

    def __init__(self, fusion, encoded, dtype=None):
        self.fusion, self.encoded, self.dtype = fusion, encoded, dtype
        self._cache = {}

    def __getitem__(self, view):
        if view not in self._cache:
            if view == "fused":
                encoder = self.fusion._get_state().training.net.module_.encoder
                found = represent(encoder, self.encoded)
            elif view == "columns":
                found = self._columns()
            else:
                found = np.hstack([self["columns"], self["fused"]])
            self._cache[view] = found if self.dtype is None else found.astype(self.dtype)
        return self._cache[view]

    def _columns(self):
        """The network's input with each absent modality's block NaN, not the zeros that
        stand for it there: a missing value to the members, not a value."""
        columns = self.encoded.features.cpu().numpy().copy()
        missing = self.encoded.missing.cpu().numpy()
        indices = self.fusion._get_state().preprocessing.output_indices.values()
        for k, block in enumerate(indices):
            columns[missing[:, k], block] = np.nan
        return columns


#: How the weights are chosen where a class has one labelled row, and no fold can stratify.
FALLBACKS = ("plain_folds", "leave_one_out", "equal", "first")


def _too_few(codes):
    """Whether a class of ``codes`` has fewer than 2 labelled rows (no stratified folds)."""
    return np.bincount(codes).min() < 2


def _folds(codes, cv, seed, fallback="plain_folds"):
    """The out-of-fold splitter of the labelled rows' class indices ``codes``: stratified
    where every class has 2 rows, else plain shuffled folds or leave-one-out, as
    ``fallback`` says (a class with one row then misses from a training fold, whose members
    give it probability 0 on it)."""
    smallest = np.bincount(codes).min()
    if smallest >= 2:
        return StratifiedKFold(min(cv, smallest), shuffle=True, random_state=seed)
    if fallback == "leave_one_out":
        return LeaveOneOut()
    return KFold(min(cv, len(codes)), shuffle=True, random_state=seed)


def fold_predictions(member, views, view, rows, y, folds, method="predict", n_jobs=None):
    """``member``'s out-of-fold ``method`` output on ``rows`` of ``views[view]`` over
    ``folds``, ``y`` being those rows' targets (or class indices). ``views`` may instead be
    a list of views, one per fold, each from a fusion that never saw that fold's targets
    (cross-fitting): each fold's member then trains and predicts on its own. As
    :func:`~sklearn.model_selection.cross_val_predict`, ``"predict_proba"`` gives a
    column per class index of ``y``, 0 for a class a training fold lacks."""
    if not isinstance(views, list):
        return cross_val_predict(member, views[view][rows], y, cv=folds, method=method,
                                 n_jobs=n_jobs)
    splits = list(folds.split(rows, y))
    found = Parallel(n_jobs=n_jobs)(
        delayed(_fit_and_predict)(clone(member), fold_views[view][rows[train]], y[train],
                                  fold_views[view][rows[test]], method)
        for (train, test), fold_views in zip(splits, views))
    if method == "predict_proba":
        found = [_padded(p, classes, y.max() + 1) for p, classes in found]
    else:
        found = [p for p, _ in found]
    predicted = np.empty((len(rows), *found[0].shape[1:]), dtype=found[0].dtype)
    for (_, test), p in zip(splits, found):
        predicted[test] = p
    return predicted


def _fit_and_predict(member, X_train, y_train, X_test, method):
    """``(member's method output on X_test, its classes_ or None)``, fitted on the train
    rows."""
    fitted = member.fit(X_train, y_train)
    return getattr(fitted, method)(X_test), getattr(fitted, "classes_", None)


def _padded(proba, classes, n_classes):
    """``proba`` (n, len(classes)) as (n, n_classes), 0 for the classes a fold lacked."""
    padded = np.zeros((len(proba), n_classes))
    padded[:, classes] = proba
    return padded


def weighing_folds(codes, cv, seed, fallback="plain_folds"):
    """The folds of the out-of-fold probabilities on the labelled rows (class indices
    ``codes``), as :func:`_folds` gives them; None where too few labels make ``fallback``
    (``"equal"`` or ``"first"``) weigh without them."""
    if _too_few(codes) and fallback in ("equal", "first"):
        return None
    return _folds(codes, cv, seed, fallback)


def _out_of_fold(member, views, view, rows, codes, folds, n_jobs):
    """The member's out-of-fold probabilities (n, n_classes) of ``rows`` of
    ``views[view]`` (or of a list of views, one per fold), a column per class of ``codes``
    (0 for a class its fold lacks); None where a training fold holds one class only, which
    no classifier fits."""
    if any(len(np.unique(codes[train])) < 2 for train, _ in folds.split(rows, codes)):
        return None
    with warnings.catch_warnings():
        # The plain folds' fallback: a class missing from a training fold gets probability
        # 0, as documented.
        warnings.filterwarnings("ignore", message="Number of classes in training fold")
        return fold_predictions(member, views, view, rows, codes, folds,
                                method="predict_proba", n_jobs=n_jobs)


def fusion_views(fusion, X, dtype=None):
    """The :class:`_Views` of ``X`` through the fitted ``fusion`` (checked as its input),
    in ``dtype`` (None: the network's)."""
    state = fusion._get_state()
    device = state.training.net.module_.encoder.absent.device
    return _Views(fusion, encode_input(fusion, state.preprocessing, X, device), dtype)


def draw_seeds(random_state):
    """The seeds of a fit by purpose (``_FUSION``, ``_FOLDS``, ``_MEMBERS``)."""
    return check_random_state(random_state).randint(np.iinfo(np.int32).max, size=3)


def out_of_fold(members, views, labelled, codes, *, cv, seeds, n_jobs=None,
                fallback="plain_folds"):
    """Every member's out-of-fold probabilities on the ``labelled`` rows of ``views`` (or
    of a list of views, one per fold), whose class indices are ``codes``, on ``cv`` folds
    (None where a training fold holds one class only, or where too few labels make
    ``fallback`` weigh without them)."""
    folds = weighing_folds(codes, cv, int(seeds[_FOLDS]), fallback)
    if folds is None:
        return [None] * len(members)
    return [_out_of_fold(seeded(estimator, int(seeds[_MEMBERS]) + position), views, view,
                         labelled, codes, folds, n_jobs)
            for position, (_, estimator, view) in enumerate(members)]


def blend_weights(oof, codes, *, n_rounds, scoring, fallback="plain_folds",
                  selection="greedy"):
    """The members' weights from their out-of-fold probabilities ``oof``: greedy selection
    on ``scoring``, ended by the rule ``selection``; where a member has none, the first
    member alone if too few labels (``codes``) make ``fallback`` ``"first"``, else equal
    weights."""
    if any(p is None for p in oof):
        if fallback == "first" and _too_few(codes):
            return np.eye(len(oof))[0]
        return np.full(len(oof), 1 / len(oof))
    return greedy_selection(np.stack(oof), codes, n_rounds, scoring, selection)


def class_weights(class_weight, classes, codes):
    """The per-class weights (K,) that ``class_weight`` (None, ``"balanced"`` or a dict
    from a class to its weight, 1 for a class it lacks) gives ``classes`` (K,), from the
    labelled rows' class indices ``codes``: None, or as
    :func:`~sklearn.utils.class_weight.compute_class_weight` computes them ("balanced": n /
    (K * the class's count))."""
    if class_weight is None:
        return None
    return compute_class_weight(class_weight, classes=classes, y=classes[codes])


class BlendMixin(FusionOwnerMixin):
    """What sktnce's ensembles share: a fusion fitted on every row, members weighed on the
    out-of-fold predictions of the rows with a target, the kept ones refitted on those rows,
    and the blend, their weighted mean. ``_weigh(members, views, rows, target, seeds)``
    gives the members' weights and the leaderboard; the members see the views in
    ``_view_dtype`` (None: the network's)."""

    _view_dtype = None

    def _template(self):
        """The fusion to fit (a clone), or the fitted one with ``fit_fusion=False``."""
        if self.fit_fusion or not isinstance(self.fusion, TupleInfoNCEFusion):
            return self._fusion_template()
        check_is_fitted(self.fusion, msg="fit_fusion=False uses the fusion as it is fitted, "
                        "but %(name)s is not fitted yet; fit it, or set fit_fusion=True.")
        if hasattr(self.fusion, "classes_") or hasattr(self.fusion, "target_scale_"):
            raise ValueError(
                "fit_fusion=False uses the fusion as it is fitted, and this one trained on "
                "labels (label_weight > 0), perhaps on the very rows its members would be "
                "weighted on. Set fit_fusion=True, which weights them without it.")
        return self.fusion

    def _fit_members(self, X, template, members, rows, target, seeds):
        """``leaderboard_``, ``members_`` and ``weights_``: ``members`` weighed on the
        fitted ``fusion_``'s views of ``rows`` of ``X`` (whose targets are ``target``), the
        kept ones refitted there. A target-aware fusion's members are graded on the views
        ``_aware_weighing`` gives."""
        views = fusion_views(self.fusion_, X, self._view_dtype)
        weighing = views
        if self.fusion_.label_weight > 0 and any("fused" in v for *_, v in members):
            weighing = self._aware_weighing(X, template, views, rows, target, seeds)
        weights, self.leaderboard_ = self._weigh(members, weighing, rows, target, seeds)
        self.members_ = [
            (name, seeded(estimator, int(seeds[_MEMBERS]) + position).fit(
                views[view][rows], target), view)
            for position, (name, estimator, view) in enumerate(members)
            if weights[position] > 0]
        self.weights_ = weights[weights > 0]

    def _aware_weighing(self, X, template, views, rows, target, seeds):
        """The views a target-aware fusion's members are weighed on, none of them from a
        fusion that saw the targets it is graded on: with ``aware_weighing="twin"`` those
        of its unsupervised twin (``template`` with ``label_weight=0``); with
        ``"cross_fit"`` a list, one per fold of ``_weighing_folds``, each of ``template``
        trained on the targets of the other folds' rows only (``_fold_fusion``), or the
        fitted fusion's ``views`` where no folds weigh them."""
        if self.aware_weighing == "twin":
            twin = clone(template).set_params(label_weight=0.0).fit(X)
            return fusion_views(twin, X, self._view_dtype)
        folds = self._weighing_folds(target, seeds)
        if folds is None:  # weighed without out-of-fold predictions
            return views
        return [fusion_views(self._fold_fusion(clone(template), X, rows[train], target[train],
                                               seeds), X, self._view_dtype)
                for train, _ in folds.split(rows, target)]

    def _blend(self, X, output):
        """The kept members' weighted sum of ``output(fitted member, its view of X)``."""
        check_is_fitted(self)
        device = self.fusion_._get_state().training.net.module_.encoder.absent.device
        views = _Views(self.fusion_, self._encoded(X, device), self._view_dtype)
        return sum(weight * output(fitted, views[view])
                   for weight, (_, fitted, view) in zip(self.weights_, self.members_))

    def __sklearn_is_fitted__(self):
        return hasattr(self, "members_")

    @property
    def named_estimators_(self):
        """The kept members' fitted estimators, by name."""
        check_is_fitted(self)
        return Bunch(**{name: fitted for name, fitted, _ in self.members_})


class TupleInfoNCEEnsembleClassifier(BlendMixin, FusionPredictorMixin, ClassifierMixin,
                                     BaseEstimator):
    """Blend a linear probe on the fused vector with gradient boosting on the modalities'
    own columns, each weighted by how well it predicts rows it was not trained on.

    ``fit(X, y)`` takes -1 for a row without a label (scikit-learn's semi-supervised
    convention). It fits ``fusion`` on every row of ``X``, then gives each member its view
    of the labelled rows: the fused vector r, the modalities' preprocessed columns (those
    the fusion computed, NaN where a modality is absent), or both. Every member's
    out-of-fold probabilities on the labelled rows (``cv`` folds, stratified where every
    class has 2 rows) choose the weights by greedy ensemble selection with replacement on
    ``scoring`` (Caruana et al., ICML 2004, as AutoGluon blends its models); the members
    kept are then refitted on every labelled row, and ``predict_proba`` is their weighted
    mean. With ``class_weight="balanced"`` each member's probabilities are reweighted so
    that every class counts alike, before the selection and in ``predict_proba``.

    A target-aware fusion (``label_weight > 0``) trains on the labels its members would be
    weighted on, so its fused members would grade themselves: their out-of-fold
    probabilities come from the fused vector of its unsupervised twin (the same fusion
    with ``label_weight=0``, fitted once more), or of one more target-aware fusion per
    fold (``aware_weighing``), and their predictions from its own.

    Parameters
    ----------
    fusion : TupleInfoNCEFusion, default=None
        The fusion (cloned and fitted on every row, unless ``fit_fusion=False``); None:
        ``TupleInfoNCEFusion()``. Its ``random_state``, if None, is drawn from this
        estimator's.
    members : list of (str, estimator, str), default=None
        The blend's candidates, as ``(name, classifier, view)``, the view one of
        ``"fused"``, ``"columns"`` or ``"columns_and_fused"``; each classifier has
        ``predict_proba`` and is cloned. None: ``("fused_lr", <scaled logistic
        regression>, "fused")``, ``("columns_lr", <the same>, "columns")``,
        ``("columns_hgb", HistGradientBoostingClassifier(max_iter=25, learning_rate=0.4),
        "columns")`` and ``("columns_hgb_leaf5", <the same, min_samples_leaf=5>,
        "columns")``: a quarter of scikit-learn's rounds at four times its learning rate,
        about as accurate on the study sets at a fraction of the price; on more than 256
        preprocessed columns the trees take ``max_bins=63``.
    cv : int, default=3
        Stratified folds of the out-of-fold predictions (fewer where a class has fewer
        labelled rows). Each fold fits every member once more: 3 folds keep the members'
        cost beside the fusion's fit small.
    scoring : {"balanced_accuracy", "accuracy", "log_loss"}, default="balanced_accuracy"
        What the selection maximises on the out-of-fold probabilities: the decisions that
        ``predict`` makes, each class counting alike or each row (the log loss breaks their
        ties), or the blend's calibration (the log loss, negated). The default measured best
        of the three on the study's 8 real sets at 1%, 10% and 100% of the labels
        (``benchmarks/RESULTS.md``, "Every configuration's margin").
    fallback : {"plain_folds", "leave_one_out", "equal", "first"}, default="plain_folds"
        Where a class has one labelled row, so that no fold can stratify: out-of-fold
        predictions on ``cv`` plain shuffled folds, or leaving one row out at a time (a
        class missing from a training fold gets probability 0), or no out-of-fold
        predictions and equal weights, or the first member alone. Where a training fold
        would still hold one class only (two labelled rows), every member weighs the same.
    n_selection_rounds : int, default=25
        Rounds of the greedy selection: the weights are multiples of its inverse.
    aware_weighing : {"twin", "cross_fit"}, default="twin"
        How the members of a target-aware fusion are weighed. "twin": on the views of its
        unsupervised twin (the same fusion with ``label_weight=0``, fitted once more),
        which cannot see where the labels make the fused vector better or worse.
        "cross_fit": on one more target-aware fusion per fold of the out-of-fold
        predictions, each trained on the labels of the other folds only, whose members
        predict that fold (``cv`` more fits of the fusion; with
        ``fallback="leave_one_out"`` and a class of one labelled row, refused: one fit per
        labelled row). Ignored without ``label_weight > 0``.
    class_weight : dict, "balanced" or None, default=None
        Each member's probabilities, out-of-fold and in ``predict_proba``, have each
        class's column multiplied by its weight, and each row renormalised: the weight
        ``{class: weight}`` gives it (1 for a class it lacks), or with "balanced" n /
        (n_classes * the class's count among the labelled rows), as
        :func:`~sklearn.utils.class_weight.compute_class_weight` computes them. "balanced"
        makes every class's prior equal, so that ``predict`` takes the Bayes decision for
        the balanced accuracy rather than for the accuracy where a class holds most of the
        labels. Unlike a classifier's ``class_weight``, the members train as they are: only
        their probabilities move. None: as the members give them.
    fit_fusion : bool, default=True
        False: ``fusion`` is already fitted (without labels) and used as it is, as
        :class:`~sklearn.ensemble.StackingClassifier` uses prefitted estimators.
    n_jobs : int, default=None
        The members' out-of-fold fits in parallel, as ``n_jobs`` of
        :func:`~sklearn.model_selection.cross_val_predict`; None: 1, unless in a
        :func:`joblib.parallel_backend` context. The result does not depend on it.
    random_state : int, RandomState instance or None, default=None
        Seeds the fusion (where its own is None), the folds and the members' own
        ``random_state`` left None.

    Attributes
    ----------
    fusion_ : TupleInfoNCEFusion
        The fitted fusion: ``fusion_.transform(X)`` is the fused vector.
    members_ : list of (str, estimator, str)
        The members of nonzero weight, as ``(name, fitted estimator, view)``, in the order
        of ``members``, each refitted on every labelled row.
    weights_ : ndarray of shape (n_members_kept,)
        Their weights, which sum to 1.
    class_weight_ : ndarray of shape (n_classes,) or None
        Each class's multiplier of the members' probabilities (``class_weight``); None
        where ``class_weight=None``.
    named_estimators_ : Bunch
        Their fitted estimators, by name.
    leaderboard_ : dict of lists
        One entry per member (``pandas.DataFrame(leaderboard_)`` reads it): ``"member"``,
        ``"view"``, ``"weight"``, and its out-of-fold ``"log_loss"``,
        ``"balanced_accuracy"`` and ``"accuracy"`` on the labelled rows (NaN where the folds
        left a training fold one class).
    classes_ : ndarray of shape (n_classes,)
        The classes of the labelled rows (never -1).
    n_features_in_ : int
        Number of columns seen in fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names seen in fit, when X had string column names.

    See Also
    --------
    TupleInfoNCEClassifier : The fused encoder fine-tuned with a linear head.
    sklearn.ensemble.StackingClassifier : Members blended by a learned final estimator.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sktnce import TupleInfoNCEEnsembleClassifier, TupleInfoNCEFusion
    >>> from sktnce.datasets import make_multimodal_classification
    >>> X, y, columns = make_multimodal_classification(n_samples=300, random_state=0)
    >>> y_partial = np.where(np.arange(300) % 5 == 0, y, -1)   # 1 row in 5 labelled
    >>> fusion = TupleInfoNCEFusion(
    ...     modalities=[(name, StandardScaler(), cols) for name, cols in columns.items()],
    ...     max_epochs=2)
    >>> clf = TupleInfoNCEEnsembleClassifier(fusion, random_state=0).fit(X, y_partial)
    >>> float(sum(clf.leaderboard_["weight"]))
    1.0
    >>> clf.predict_proba(X[:2]).shape == (2, len(clf.classes_))
    True
    """

    _needs_labels = "TupleInfoNCEEnsembleClassifier fits its members"
    _parameter_constraints = {
        "fusion": [HasMethods(["fit", "transform"]), None],
        "members": [list, None],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "scoring": [StrOptions(set(SELECTION_SCORES))],
        "fallback": [StrOptions(set(FALLBACKS))],
        "n_selection_rounds": [Interval(Integral, 1, None, closed="left")],
        "aware_weighing": [StrOptions(set(AWARE_WEIGHINGS))],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "fit_fusion": ["boolean"],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
    }

    def __init__(self, fusion=None, *, members=None, cv=3, scoring="balanced_accuracy",
                 fallback="plain_folds", n_selection_rounds=25, aware_weighing="twin",
                 class_weight=None, fit_fusion=True, n_jobs=None, random_state=None):
        self.fusion = fusion
        self.members = members
        self.cv = cv
        self.scoring = scoring
        self.fallback = fallback
        self.n_selection_rounds = n_selection_rounds
        self.aware_weighing = aware_weighing
        self.class_weight = class_weight
        self.fit_fusion = fit_fusion
        self.n_jobs = n_jobs
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Fit the fusion on every row, then weigh and fit the members on the labelled rows.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            A class per row, -1 for a row without one; at least 2 labelled classes.

        Returns
        -------
        self : TupleInfoNCEEnsembleClassifier
        """
        template = self._template()
        members = check_members(self.members)
        X, labels = self._checked_input(X, y, template.device)
        codes = labels.codes.cpu().numpy()
        labelled = np.flatnonzero(codes >= 0)
        seeds = draw_seeds(self.random_state)
        class_weight = class_weights(self.class_weight, labels.classes, codes[labelled])
        if (template.label_weight > 0 and self.aware_weighing == "cross_fit"
                and self.fallback == "leave_one_out" and _too_few(codes[labelled])):
            raise ValueError(
                "aware_weighing='cross_fit' fits the fusion once more per fold, and with "
                "fallback='leave_one_out' and a class of one labelled row every labelled row "
                f"is a fold ({len(labelled)} more fits). Set fallback='plain_folds', or "
                "aware_weighing='twin'.")
        with restore_on_failure(self):
            self.fusion_ = template if not self.fit_fusion else fitted_fusion(
                template, X, labels.classes, codes, None, int(seeds[_FUSION]))
            self.class_weight_ = class_weight
            self.classes_ = labels.classes
            if self.members is None:  # the trees' bins follow the fitted table's width
                members = default_members(preprocessed_width(self.fusion_))
            self._fit_members(X, template, members, labelled, codes[labelled], seeds)
            self._take_input_attributes()
        return self

    def _weighing_folds(self, codes, seeds):
        """The folds of the out-of-fold probabilities on the labelled rows, whose class
        indices are ``codes``; None where ``fallback`` weighs without them."""
        return weighing_folds(codes, self.cv, int(seeds[_FOLDS]), self.fallback)

    def _fold_fusion(self, template, X, rows, codes, seeds):
        """``template`` (the fitted fusion's clone) fitted with the labels of ``rows``
        alone (class indices ``codes``)."""
        known = np.full(len(X), UNLABELLED)
        known[rows] = codes
        return fitted_fusion(template, X, self.classes_, known, None, int(seeds[_FUSION]))

    def _weigh(self, members, views, labelled, codes, seeds):
        """``(weights, leaderboard)`` of ``members`` from their out-of-fold probabilities
        on the ``labelled`` rows of ``views`` (or of a list of views, one per fold), whose
        class indices are ``codes``, folded, reweighted per class and selected as the
        parameters say."""
        oof = out_of_fold(members, views, labelled, codes, cv=self.cv,
                          seeds=seeds, n_jobs=self.n_jobs, fallback=self.fallback)
        oof = [None if p is None else reweighted(p, self.class_weight_) for p in oof]
        weights = blend_weights(oof, codes, n_rounds=self.n_selection_rounds,
                                scoring=self.scoring, fallback=self.fallback)
        board = {"member": [], "view": [], "weight": [], "log_loss": [], "balanced_accuracy": [],
                 "accuracy": []}
        for (name, _, view), weight, p in zip(members, weights, oof):
            scores = (np.nan,) * 3 if p is None else (
                log_loss_of(p, codes), float(balanced_accuracy_score(codes, p.argmax(axis=1))),
                float(accuracy_score(codes, p.argmax(axis=1))))
            for key, value in zip(board, (name, view, float(weight), *scores)):
                board[key].append(value)
        return weights, board

    def predict_proba(self, X):
        """Each row's probability of each class in ``classes_``: the members' weighted mean.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        proba = self._blend(X, lambda fitted, view: reweighted(fitted.predict_proba(view),
                                                                self.class_weight_))
        return proba / proba.sum(axis=1, keepdims=True)
