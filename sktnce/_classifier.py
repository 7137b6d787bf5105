"""TupleInfoNCEClassifier: a semi-supervised classifier on a TupleInfoNCE fusion."""

import copy
from numbers import Integral, Real

import numpy as np
from scipy.special import softmax
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context, clone
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._finetune import (ClassifierNetwork, FineTuneConfig, class_logits, contrastive_regulariser,
                        fine_tune, probe_head)
from ._fusion import TupleInfoNCEFusion, restore_on_failure
from ._labels import UNLABELLED, encode_labels, label_array, labelled_rows
from ._modalities import check_table, encode_input
from ._training import resolve_device

__all__ = ["TupleInfoNCEClassifier"]

#: Purposes of the seeds drawn from random_state.
_FUSION, _SPLIT, _BATCHES, _CONTRAST = range(4)


def _split_labelled(codes, validation_fraction, seed):
    """``(train, validation)`` positions of the labelled rows (``codes >= 0``): a share of
    them held out, stratified where every class has 2 labelled rows and each side room for
    every class; the validation side keeps a row, and the training side 2 classes."""
    labelled = np.flatnonzero(codes >= 0)
    n_validation = int(np.ceil(validation_fraction * len(labelled)))
    n_train = len(labelled) - n_validation
    advice = ("Label more rows, lower validation_fraction, or set early_stopping=False "
              "(which trains on every labelled row).")
    if n_validation < 1 or n_train < 2:
        raise ValueError(
            f"early_stopping holds out validation_fraction={validation_fraction} of the "
            f"{len(labelled)} labelled rows: {n_validation} to validate on and {n_train} to "
            f"train on, but training needs at least 2 (of 2 classes) and validation 1. "
            + advice)
    counts = np.bincount(codes[labelled])
    n_classes = np.count_nonzero(counts)
    stratify = codes[labelled] if counts[counts > 0].min() >= 2 \
        and min(n_validation, n_train) >= n_classes else None
    train, validation = train_test_split(labelled, test_size=n_validation, stratify=stratify,
                                         random_state=seed)
    if len(np.unique(codes[train])) < 2:
        raise ValueError(
            f"early_stopping holds out validation_fraction={validation_fraction} of the "
            f"{len(labelled)} labelled rows, which leaves one class only to train on. "
            + advice)
    return np.sort(train), np.sort(validation)


def _fitted_fusion(template, X, classes, codes, validation, seed):
    """``template`` fitted on every row of ``X``; a target-aware one with the labels
    (``classes[codes]``, -1 for none) of every labelled row but the ``validation``
    ones."""
    if template.random_state is None:
        template.set_params(random_state=seed)
    if not template.label_weight > 0:
        return template.fit(X)
    codes = codes.copy()
    if validation is not None:
        codes[validation] = UNLABELLED
    # Classes as the user gave them, in a dtype that holds -1 too: bool and unsigned
    # classes (and str) go in an object array, which encode_labels reads back by type.
    y_fusion = classes[np.maximum(codes, 0)].astype(
        classes.dtype if classes.dtype.kind in "if" else object)
    y_fusion[codes == UNLABELLED] = UNLABELLED
    return template.fit(X, y_fusion)


class TupleInfoNCEClassifier(ClassifierMixin, BaseEstimator):
    """Classify rows of a partly labelled table: TupleInfoNCE on every row, then the
    encoder fine-tuned with a linear head on the labelled ones.

    ``fit(X, y)`` takes -1 for a row without a label (scikit-learn's semi-supervised
    convention). It fits ``fusion`` on every row of ``X`` (with the labels, if its
    ``label_weight > 0``), fits a linear probe on the labelled rows' representation as the
    head's initial weights, then trains the encoder and the head together on the labelled
    rows' cross-entropy (LP-FT, Kumar et al., ICLR 2022), keeping the epoch with the lowest
    loss on a held-out share of them (as :class:`~sklearn.neural_network.MLPClassifier`'s
    ``early_stopping`` does).

    Parameters
    ----------
    fusion : TupleInfoNCEFusion, default=None
        The fusion fitted on every row (cloned); None: ``TupleInfoNCEFusion()``, whose one
        modality is every column, standardised. Its ``random_state``, if None, is drawn from
        this estimator's. With its ``label_weight > 0`` it trains on the labels too, the
        held-out validation rows' excepted.
    fine_tune : bool, default=True
        Train the encoder and the head on the labelled rows after the probe; False keeps the
        probe on the frozen fused vector r: a standardised logistic regression on r, which
        is ``fusion_.transform(X)`` with the fusion's ``output="fused"``, and its first
        ``n_components`` columns with ``output="fused_and_modalities"`` (the head reads r
        alone, never the modalities' embeddings).
    max_epochs : int, default=100
        Most passes over the labelled training rows when fine-tuning.
    lr : float, default=1e-3
        Adam learning rate of the fine-tuning.
    batch_size : int, default=64
        Labelled rows per fine-tuning batch.
    early_stopping : bool, default=True
        With ``fine_tune``, hold out ``validation_fraction`` of the labelled rows
        (stratified where each class has 2) and keep the weights of the epoch with the
        lowest cross-entropy on them (the probe's included). False: train ``max_epochs``
        epochs on every labelled row.
    validation_fraction : float, default=0.2
        Share of the labelled rows held out with ``early_stopping``.
    n_iter_no_change : int, default=10
        Epochs without a validation loss lower than the best by ``tol`` before stopping.
    tol : float, default=1e-4
        The least decrease of the validation loss (in nats) that counts.
    contrastive_weight : float, default=0.0
        With ``fine_tune``, the weight of the fusion's own loss, without its supervised
        term, on a batch of ``fusion.batch_size`` rows of the whole table (labelled or not)
        added at every fine-tuning step: a regulariser that keeps the encoder close to what
        it learned without labels. 0: the cross-entropy alone.
    random_state : int, RandomState instance or None, default=None
        Seeds the fusion (where its own is None), the validation split and the batches.

    Attributes
    ----------
    fusion_ : TupleInfoNCEFusion
        The fitted fusion: ``fusion_.transform(X)`` is the fused vector r before
        fine-tuning (then the modalities' embeddings, with ``output="fused_and_modalities"``).
    network_ : torch.nn.Module
        The fine-tuned encoder (``network_.encoder``) and head (``network_.head``).
    classes_ : ndarray of shape (n_classes,)
        The classes of the labelled rows (never -1).
    n_iter_ : int
        Fine-tuning epochs trained.
    best_epoch_ : int
        The epoch whose weights were kept (0: the probe's, before any fine-tuning).
    loss_curve_ : list of float
        Mean training cross-entropy of each epoch.
    validation_loss_curve_ : list of float
        Validation cross-entropy before fine-tuning, then after each epoch (empty without
        ``early_stopping``).
    n_features_in_ : int
        Number of columns seen in fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names seen in fit, when X had string column names.

    See Also
    --------
    TupleInfoNCEFusion : The fused representation, for a model of your own.
    sklearn.semi_supervised.SelfTrainingClassifier : Pseudo-labels instead of a fusion.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sktnce import TupleInfoNCEClassifier, TupleInfoNCEFusion
    >>> from sktnce.datasets import make_multimodal_classification
    >>> X, y, columns = make_multimodal_classification(n_samples=300, random_state=0)
    >>> y_partial = np.where(np.arange(300) % 5 == 0, y, -1)   # 1 row in 5 labelled
    >>> fusion = TupleInfoNCEFusion(
    ...     modalities=[(name, StandardScaler(), cols) for name, cols in columns.items()],
    ...     max_epochs=2)
    >>> clf = TupleInfoNCEClassifier(fusion, max_epochs=5, random_state=0).fit(X, y_partial)
    >>> clf.predict_proba(X[:2]).shape == (2, len(clf.classes_))
    True
    """

    _parameter_constraints = {
        "fusion": [HasMethods(["fit", "transform"]), None],
        "fine_tune": ["boolean"],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "contrastive_weight": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, fusion=None, *, fine_tune=True, max_epochs=100, lr=1e-3,
                 batch_size=64, early_stopping=True, validation_fraction=0.2,
                 n_iter_no_change=10, tol=1e-4, contrastive_weight=0.0, random_state=None):
        self.fusion = fusion
        self.fine_tune = fine_tune
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.contrastive_weight = contrastive_weight
        self.random_state = random_state

    def _template(self):
        """A clone of ``fusion`` (or the default one), checked to be a fusion."""
        if self.fusion is None:
            return TupleInfoNCEFusion()
        if not isinstance(self.fusion, TupleInfoNCEFusion):
            raise TypeError("fusion must be a TupleInfoNCEFusion; got "
                            f"{type(self.fusion).__name__}.")
        template = clone(self.fusion)
        template._validate_params()
        return template

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Fit the fusion on every row, then the head (and the encoder) on the labelled rows.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            A class per row, -1 for a row without one; at least 2 labelled classes.

        Returns
        -------
        self : TupleInfoNCEClassifier
        """
        template = self._template()
        X = check_table(X, estimator=self, min_rows=2)
        if y is not None:
            y = column_or_1d(label_array(y), warn=True)
        labels = encode_labels(
            y, len(X), owner=type(self).__name__, device=resolve_device(template.device),
            needs="TupleInfoNCEClassifier trains its head", instead=None)
        seeds = check_random_state(self.random_state).randint(np.iinfo(np.int32).max, size=4)
        codes = labels.codes.cpu().numpy()
        train, validation = np.flatnonzero(codes >= 0), None
        if self.fine_tune and self.early_stopping:
            train, validation = _split_labelled(codes, self.validation_fraction,
                                                int(seeds[_SPLIT]))
        with restore_on_failure(self):
            self.fusion_ = _fitted_fusion(template, X, labels.classes, codes, validation,
                                          int(seeds[_FUSION]))
            self._fit_network(X, labels, codes, train, validation, seeds)
        return self

    def _fit_network(self, X, labels, codes, train, validation, seeds):
        """The probe's head on the ``train`` rows, then the fine-tuning, from a copy of the
        fitted fusion's encoder (and training module, for the regulariser); ``codes`` are
        ``labels``' class indices as an array."""
        state = self.fusion_._get_state()
        module = copy.deepcopy(state.training.net.module_)
        encoder = module.encoder
        encoded = encode_input(self.fusion_, state.preprocessing, X, encoder.absent.device)
        head = probe_head(encoder, encoded, train, codes[train], labels.n_classes)
        network = ClassifierNetwork(encoder, head).eval()
        losses, validation_losses, best_epoch = [], [], 0
        if self.fine_tune:
            config = FineTuneConfig(self.max_epochs, self.lr, self.batch_size,
                                    self.n_iter_no_change, self.tol, int(seeds[_BATCHES]))
            losses, validation_losses, best_epoch = fine_tune(
                network, encoded, labels.codes.to(encoder.absent.device), train, validation,
                config, self._regulariser(module, state, encoded, int(seeds[_CONTRAST])))
        self.network_ = network.eval()
        self.classes_ = labels.classes
        self.n_iter_, self.best_epoch_ = len(losses), best_epoch
        self.loss_curve_, self.validation_loss_curve_ = losses, validation_losses
        self.n_features_in_ = self.fusion_.n_features_in_
        vars(self).pop("feature_names_in_", None)
        if hasattr(self.fusion_, "feature_names_in_"):
            self.feature_names_in_ = self.fusion_.feature_names_in_

    def _regulariser(self, module, state, encoded, seed):
        """The fine-tuning's contrastive regulariser, or None at ``contrastive_weight=0``."""
        if not self.contrastive_weight > 0:
            return None
        criterion = copy.deepcopy(state.training.net.criterion_)
        criterion.supervision = None
        return contrastive_regulariser(module, criterion, encoded,
                                       weight=self.contrastive_weight,
                                       batch_size=self.fusion_.batch_size, seed=seed)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "network_")

    def decision_function(self, X):
        """The head's class logits of each row.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        logits : ndarray of shape (n_samples, n_classes) or (n_samples,)
            With 2 classes, the second class's logit minus the first's, as scikit-learn's
            binary classifiers give it.
        """
        logits = self._logits(X)
        return logits[:, 1] - logits[:, 0] if logits.shape[1] == 2 else logits

    def _logits(self, X):
        check_is_fitted(self)
        encoder = self.network_.encoder
        # Checked as this estimator's input, so that errors name the estimator called.
        encoded = encode_input(self, self.fusion_._get_state().preprocessing, X,
                               encoder.absent.device)
        return class_logits(self.network_, encoded)

    def predict_proba(self, X):
        """Each row's probability of each class in ``classes_`` (rows sum to 1).

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return softmax(self._logits(X), axis=1)

    def predict(self, X):
        """The most probable class of each row.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        logits = self._logits(X)
        return self.classes_[np.argmax(logits, axis=1)]

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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.string = True
        tags.target_tags.required = True
        return tags

