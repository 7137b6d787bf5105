"""TupleInfoNCEClassifier: a semi-supervised classifier on a TupleInfoNCE fusion."""

import copy
from numbers import Integral, Real

import numpy as np
from scipy.special import softmax
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted

from ._finetune import (ClassifierNetwork, FineTuneConfig, class_logits, contrastive_regulariser,
                        fine_tune, probe_head)
from ._fusion import restore_on_failure
from ._modalities import encode_input
from ._predictor import FusionPredictorMixin, fitted_fusion

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


class TupleInfoNCEClassifier(FusionPredictorMixin, ClassifierMixin, BaseEstimator):
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

    _needs_labels = "TupleInfoNCEClassifier trains its head"
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
        template = self._fusion_template()
        X, labels = self._checked_input(X, y, template.device)
        seeds = check_random_state(self.random_state).randint(np.iinfo(np.int32).max, size=4)
        codes = labels.codes.cpu().numpy()
        train, validation = np.flatnonzero(codes >= 0), None
        if self.fine_tune and self.early_stopping:
            train, validation = _split_labelled(codes, self.validation_fraction,
                                                int(seeds[_SPLIT]))
        with restore_on_failure(self):
            self.fusion_ = fitted_fusion(template, X, labels.classes, codes, validation,
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
        self._take_input_attributes()

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
        return class_logits(self.network_,
                            self._encoded(X, self.network_.encoder.absent.device))

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
