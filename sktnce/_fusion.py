"""The TupleInfoNCEFusion transformer.

The estimator holds its parameters, checks its input and offers the public methods; the
torch side is built and trained in :mod:`sktnce._training`. sktnce's own modules (the
search's candidates, persistence) reach a fusion's fitted state through one documented hook
pair, :meth:`TupleInfoNCEFusion._get_state` and :meth:`TupleInfoNCEFusion._set_state`,
and through nothing else that is private.
"""

from contextlib import contextmanager
from numbers import Integral, Real
from typing import NamedTuple, Optional

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_feature_names_in, _num_samples, check_is_fitted

from ._discrimination import CrossModalScoringMixin
from ._embeddings import NUMERIC_EMBEDDINGS
from ._labels import encode_labels
from ._targets import Targets, encode_targets
from ._launch import PROCESS_GROUP, check_data_parallel, fit_input_once, train_data_parallel
from ._modalities import Preprocessing, check_modalities, encode_input, fit_input
from ._network import TupleInfoNCEModule
from ._setting import FitSeeds, Setting, resolve_setting
from ._skorch import TupleInfoNCECriterion
from ._training import TrainingConfig, TrainingState, represent, train

__all__ = ["FusionState", "TupleInfoNCEFusion", "check_same_architecture",
           "restore_on_failure"]


@contextmanager
def restore_on_failure(estimator):
    """Put back every attribute of ``estimator`` if the block raises.

    A failed fit must neither look fitted nor leave a mix of an earlier fit's state and
    the new one's.
    """
    saved = dict(vars(estimator))
    try:
        yield
    except BaseException:
        vars(estimator).clear()
        vars(estimator).update(saved)
        raise


class FusionState(NamedTuple):
    """Everything a fitted TupleInfoNCEFusion holds beyond its parameters."""

    preprocessing: Preprocessing
    setting: Setting
    training: TrainingState
    #: The classes of a target-aware fit's labels; None for a fit without labels.
    classes: Optional[np.ndarray] = None
    #: The mean and the standard deviation that standardised a target-aware fit's
    #: continuous target (label_loss="squared_error"); None for any other fit.
    target_scale: Optional[tuple] = None


#: The parameters that fix each field of a network's Architecture, as errors name them.
_ARCHITECTURE_PARAMETERS = {
    "embedding_dim": "embedding_dim",
    "hidden_dim": "hidden_dim",
    "n_layers": "n_layers",
    "n_components": "n_components",
    "projection_dim": "projection_dim",
    "reconstruct": "reconstruction",
    "n_classes": "label_weight / label_loss",
    "numeric_embedding": "numeric_embedding",
}


def _describe_field(field, architecture):
    value = getattr(architecture, field)
    if field == "reconstruct":
        return "a decoder (reconstruction > 0)" if value else "no decoder (reconstruction=0)"
    if field == "n_classes":
        return (f"a head of {value} outputs on r (label_weight > 0, label_loss="
                "'cross_entropy' or 'squared_error')" if value else "no head on r")
    return str(value)


def check_same_architecture(fitted, wanted):
    """Raise ValueError, naming the parameters, where a warm start's configuration would
    build another network than the fitted one (:class:`~sktnce._network.Architecture`)."""
    changed = [field for field in _ARCHITECTURE_PARAMETERS
               if getattr(fitted, field) != getattr(wanted, field)]
    if changed:
        details = "; ".join(
            f"{_ARCHITECTURE_PARAMETERS[field]}: the fitted network has "
            f"{_describe_field(field, fitted)}, these parameters give "
            f"{_describe_field(field, wanted)}" for field in changed)
        raise ValueError(
            "warm_start continues training the fitted network, but the parameters have "
            f"changed its architecture since that fit ({details}). Set them back, or set "
            "warm_start=False to fit anew.")


def _fitted_state(fusion, X, y):
    """The :class:`FusionState` that ``fusion.fit(X, y)`` leaves. The setting, the device,
    the labels and a warm start's architecture are checked before any preprocessing or
    training."""
    previous = fusion._get_state() if fusion.warm_start and fusion.__sklearn_is_fitted__() \
        else None
    specs = None if previous else check_modalities(fusion.modalities)
    names = previous.preprocessing.names if previous else [spec[0] for spec in specs]
    setting = resolve_setting(fusion.alpha, fusion.corruption, names)
    config = TrainingConfig.from_estimator(fusion)
    data_parallel = fusion.n_processes != 1
    if data_parallel:
        check_data_parallel(fusion.n_processes, config, warm_start=previous is not None,
                            n_rows=_num_samples(X))
    labels = None
    if config.supervision is not None:
        labels = _supervised_target(fusion, config, y, _num_samples(X), previous)
    if previous:
        check_same_architecture(
            previous.training.net.module_.encoder.architecture,
            config.architecture(previous.preprocessing.widths,
                                0 if labels is None else labels.n_classes))
        preprocessing = previous.preprocessing
        encoded = encode_input(fusion, preprocessing, X, config.device)
    elif fusion.n_processes == PROCESS_GROUP:
        preprocessing, encoded = fit_input_once(fusion, specs, X, config.device, labels)
    else:
        preprocessing, encoded = fit_input(fusion, specs, X, config.device)
    seeds = FitSeeds.draw(fusion.random_state)
    if data_parallel:
        training = train_data_parallel(fusion.n_processes, config, encoded, setting, seeds,
                                       widths=preprocessing.widths, labels=labels)
    else:
        training = train(config, encoded, setting, seeds, widths=preprocessing.widths,
                         labels=labels, start=previous.training if previous else None)
    if labels is None:
        return FusionState(preprocessing, setting, training, getattr(previous, "classes", None),
                           getattr(previous, "target_scale", None))
    scale = (labels.mean, labels.scale) if isinstance(labels, Targets) else None
    return FusionState(preprocessing, setting, training, labels.classes, scale)


def _supervised_target(fusion, config, y, n_rows, previous):
    """What a target-aware fit trains on: :class:`~sktnce._targets.Targets` (a number per
    row, NaN for none; a continued fit's standardisation kept) with
    ``label_loss="squared_error"``, else :class:`~sktnce._labels.Labels` (a class per row,
    -1 for none; a continued fit's classes kept)."""
    owner = type(fusion).__name__
    if config.label_loss == "squared_error":
        return encode_targets(y, n_rows, owner=owner, device=config.device,
                              scale=getattr(previous, "target_scale", None))
    return encode_labels(y, n_rows, owner=owner, device=config.device,
                         classes=None if previous is None else previous.classes)


_PARAMETER_CONSTRAINTS = {
    "modalities": [list, tuple, None],
    "alpha": [StrOptions({"uniform"}), "array-like", dict],
    "corruption": [Interval(Real, 0, 1, closed="left"), dict],
    "temperature": [Interval(Real, 0, None, closed="neither")],
    "reconstruction": [Interval(Real, 0, None, closed="left")],
    "label_weight": [Interval(Real, 0, None, closed="left")],
    "label_loss": [StrOptions({"cross_entropy", "squared_error", "supcon"})],
    "n_components": [Interval(Integral, 1, None, closed="left")],
    "output": [StrOptions({"fused", "fused_and_modalities"})],
    "projection_dim": [Interval(Integral, 1, None, closed="left")],
    "embedding_dim": [Interval(Integral, 1, None, closed="left")],
    "hidden_dim": [Interval(Integral, 1, None, closed="left")],
    "n_layers": [Interval(Integral, 0, None, closed="left")],
    "numeric_embedding": [StrOptions(set(NUMERIC_EMBEDDINGS)), dict, None],
    "n_derangements": [Interval(Integral, 1, None, closed="left")],
    "modality_dropout": [Interval(Real, 0, 1, closed="left")],
    "partial_share": [Interval(Real, 0, 1, closed="both")],
    "noise": [Interval(Real, 0, None, closed="left")],
    "batch_size": [Interval(Integral, 2, None, closed="left")],
    "max_epochs": [Interval(Integral, 1, None, closed="left")],
    "lr": [Interval(Real, 0, None, closed="neither")],
    "lr_schedule": [StrOptions({"constant", "one_cycle"})],
    "score_chunk_size": [Interval(Integral, 2, None, closed="left")],
    "score_corruption": [Interval(Real, 0, 1, closed="left")],
    "warm_start": ["boolean"],
    "random_state": ["random_state"],
    "device": [str, torch.device],
    "n_processes": [Interval(Integral, 1, None, closed="left"), StrOptions({PROCESS_GROUP})],
    "verbose": ["verbose"],
}


def _feature_names(prefix, architecture, modalities):
    """r's output names, then those of each of ``modalities``' embeddings."""
    names = [f"{prefix}{i}" for i in range(architecture.n_components)]
    names += [f"{prefix}_{modality}{j}" for modality in modalities
              for j in range(architecture.embedding_dim)]
    return np.asarray(names, dtype=object)


def _install_state(fusion, state):
    """Make ``fusion`` the fitted estimator that the :class:`FusionState` ``state``
    describes."""
    preprocessing, setting, training = state.preprocessing, state.setting, state.training
    fusion._preprocessing = preprocessing
    fusion.modalities_ = [(name, transformer, columns)
                          for name, transformer, columns, _ in preprocessing.plan]
    fusion.output_indices_ = dict(preprocessing.output_indices)
    training.net.module_.eval()
    fusion.net_ = training.net
    fusion.alpha_ = setting.alpha_by_name
    fusion.corruption_ = dict(setting.corruption)
    fusion.loss_curve_ = list(training.loss_curve)
    fusion.n_iter_ = len(fusion.loss_curve_)
    fusion._eval_seed = training.eval_seed
    vars(fusion).pop("classes_", None)
    vars(fusion).pop("target_scale_", None)
    if state.classes is not None:
        fusion.classes_ = state.classes
    if state.target_scale is not None:
        fusion.target_scale_ = tuple(state.target_scale)
    return fusion


class TupleInfoNCEFusion(CrossModalScoringMixin, TransformerMixin, BaseEstimator):
    """Fuse several modalities of a table into one vector per row, with TupleInfoNCE.

    Each modality (columns with their own preprocessing) gets a small encoder; a fusion
    head turns the modality embeddings into the representation r. Training contrasts two
    augmented views of each row against other rows and against *disturbed* rows, whose
    one modality comes from another row, so that no modality can be ignored (Liu et al.,
    ICCV 2021). It needs no labels, and can use a few (``label_weight``).

    Parameters
    ----------
    modalities : list of (name, transformer, columns) tuples, default=None
        As in :class:`~sklearn.compose.ColumnTransformer` (``"passthrough"``, names,
        indices, slices, masks, callables); modalities must not share columns. A row whose
        every column of a modality is missing gets its learned *absent* embedding.
        ``None``: one modality, ``"features"``, of every column, standardised (SCARF).
    alpha : "uniform", array-like of shape (K + 1,) or dict, default="uniform"
        Mixture weights of the negatives: ordinary first, then each modality's disturbed
        negatives. A dict is keyed by ``"ordinary"`` and modality names (missing keys weigh
        0). Normalised to sum to 1; ``(1, 0, ..., 0)`` is plain whole-tuple contrast.
    corruption : float or dict, default=0.3
        beta: the probability that a feature of a view is replaced by that of another row;
        one rate, or a dict of every modality's.
    temperature : float, default=0.1
        Softmax temperature of the loss and of the cross-modal scores.
    reconstruction : float, default=3.0
        Weight of a term added to the loss: a linear decoder rebuilds every modality's clean
        block from r of each view (:func:`~sktnce.reconstruction_loss`, each modality
        weighing the same), which keeps in r what the contrast alone leaves out. 0 is the
        paper's loss. The user guide gives its measured effect and cost.
    label_weight : float, default=0.0
        Target-aware training: the weight of each row's supervised term, on the rows that
        ``fit(X, y)`` labels (-1: none; at least 2 classes; a number, NaN: none, with
        ``"squared_error"``), against every row's other terms; 0 ignores y.
    label_loss : {"cross_entropy", "squared_error", "supcon"}, default="cross_entropy"
        The supervised term: the cross-entropy of a linear head on r, the squared error of
        one to the standardised target (a number), or the supervised contrastive loss
        (Khosla et al., 2020) on the projections of both views.
    n_components : int, default=32
        Width of the fused representation r.
    output : {"fused", "fused_and_modalities"}, default="fused"
        What :meth:`transform` returns: r (``n_components`` columns), or r then each
        modality's embedding e^k (``embedding_dim`` columns each; see the user guide).
    projection_dim : int, default=32
        Width of the projection head's output, used only by the loss.
    embedding_dim : int, default=32
        Width of each modality's embedding.
    hidden_dim : int, default=64
        Width of the hidden layers of the encoders and of the fusion head.
    n_layers : int, default=1
        Hidden layers in each modality encoder and in the fusion head.
    numeric_embedding : {"piecewise_linear"}, dict or None, default=None
        Encode every column of a modality's block on 3 bins (its quantiles where the
        modality is present) before its encoder, the piecewise-linear encoding of Gorishniy
        et al. (2022): for every modality, or those a dict names (``{"sensors":
        "piecewise_linear"}``). None: none. The user guide gives its effect and cost.
    n_derangements : int, default=1
        Disturbed negatives per anchor and modality (R).
    modality_dropout : float, default=0.2
        Probability that a modality of a training view is replaced by its absent
        embedding, so that the encoder also works from partial rows.
    partial_share : float, default=0.0
        Share of training batches built from partial tuples, as in the authors' code (2/3):
        half contrast one modality alone against the rest of its row (what :meth:`score`
        measures), half against an augmented copy of itself. Ignored with one modality.
    noise : float, default=0.0
        Standard deviation of Gaussian noise added to each view after corruption.
    batch_size : int, default=256
        Rows per training batch; every other row of a batch is a negative.
    max_epochs : int, default=50
        Passes over the data.
    lr : float, default=1e-3
        Adam learning rate (with ``lr_schedule="one_cycle"``, the peak rate).
    lr_schedule : {"constant", "one_cycle"}, default="constant"
        ``"one_cycle"``: torch's ``OneCycleLR`` over each fit's batches, as in the authors'
        code (from ``lr / 25`` up to ``lr`` in 30% of the steps, then down).
    score_chunk_size : int, default=32
        Candidate-set size M of the retrieval behind :meth:`score`: every row is ranked
        among exactly M candidates (chance ``1 / M``), whatever the number of rows.
    score_corruption : float, default=0.3
        Corruption rate of the queries in :meth:`score`: models trained with different
        ``corruption`` are scored on one task.
    warm_start : bool, default=False
        On a fitted estimator, :meth:`fit` keeps the preprocessing (and ``classes_`` or
        ``target_scale_``) and trains ``max_epochs`` more epochs from the current weights
        and Adam state, with the current parameters; ``loss_curve_`` grows.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, batches and augmentations. An int gives bit-identical results
        on one CPU for a given ``torch.get_num_threads()``.
    device : {"cpu", "cuda"} or torch.device, default="cpu"
    n_processes : int or "process_group", default=1
        Data-parallel training: every global batch of ``batch_size`` rows is shared among
        the processes, which contrast their rows against the whole batch's. An int above 1
        starts that many local processes (CPU cores, or one CUDA device each); run the
        script's entry under ``if __name__ == "__main__":``. ``"process_group"``: this
        process is one rank of an initialised torch.distributed group (torchrun, Ray
        Train), and every rank calls ``fit`` on the same table. A target-aware fit needs
        ``label_loss="cross_entropy"``. Scaling out, "One fit on many processes", says
        when it pays.
    verbose : int, default=0
        Above 0, a progress bar over epochs.

    Attributes
    ----------
    modalities_ : list of (name, transformer, columns)
        Fitted transformers (``"passthrough"`` as is) and the column positions of each.
    output_indices_ : dict of str to slice
        Where each modality's preprocessed block lies in the network's input.
    alpha_ : dict of str to float
        The normalised mixture weights, keyed by ``"ordinary"`` and modality names.
    corruption_ : dict of str to float
        The corruption rate of each modality.
    net_ : skorch.NeuralNet
        The trained network; ``net_.module_.encoder`` is the encoder.
    loss_curve_ : list of float
        Mean training loss of each epoch; ``n_iter_`` epochs.
    n_iter_ : int
    n_features_in_ : int
        Number of columns seen in fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names seen in fit, when X had string column names.
    classes_ : ndarray of shape (n_classes,)
        The classes of y, with ``label_weight > 0`` and a classification loss only.
    target_scale_ : tuple of (float, float)
        The mean and sd that standardised y (``"squared_error"`` only; kept by a warm start).

    See Also
    --------
    sktnce.tuple_infonce_loss : The loss, as a function over tensors.
    sklearn.compose.ColumnTransformer : The model of ``modalities``.

    Examples
    --------
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sktnce import TupleInfoNCEFusion
    >>> from sktnce.datasets import make_multimodal_classification
    >>> X, y, columns = make_multimodal_classification(n_samples=200, random_state=0)
    >>> fusion = TupleInfoNCEFusion(
    ...     modalities=[(name, StandardScaler(), cols) for name, cols in columns.items()],
    ...     n_components=8, max_epochs=2, random_state=0)
    >>> fusion.fit_transform(X).shape
    (200, 8)
    >>> sorted(fusion.cross_modal_accuracy(X))
    ['medium', 'strong', 'weak']
    """

    # Swapped by subclasses in benchmarks/ to build baselines (naive negatives, CMC).
    _training_module = TupleInfoNCEModule
    _criterion = TupleInfoNCECriterion
    _parameter_constraints = _PARAMETER_CONSTRAINTS

    def __init__(
        self,
        *,
        modalities=None,
        alpha="uniform",
        corruption=0.3,
        temperature=0.1,
        reconstruction=3.0,
        label_weight=0.0,
        label_loss="cross_entropy",
        n_components=32,
        output="fused",
        projection_dim=32,
        embedding_dim=32,
        hidden_dim=64,
        n_layers=1,
        numeric_embedding=None,
        n_derangements=1,
        modality_dropout=0.2,
        partial_share=0.0,
        noise=0.0,
        batch_size=256,
        max_epochs=50,
        lr=1e-3,
        lr_schedule="constant",
        score_chunk_size=32,
        score_corruption=0.3,
        warm_start=False,
        random_state=None,
        device="cpu",
        n_processes=1,
        verbose=0,
    ):
        self.modalities = modalities
        self.alpha = alpha
        self.corruption = corruption
        self.temperature = temperature
        self.reconstruction = reconstruction
        self.label_weight = label_weight
        self.label_loss = label_loss
        self.n_components = n_components
        self.output = output
        self.projection_dim = projection_dim
        self.embedding_dim = embedding_dim
        self.hidden_dim = hidden_dim
        self.n_layers = n_layers
        self.numeric_embedding = numeric_embedding
        self.n_derangements = n_derangements
        self.modality_dropout = modality_dropout
        self.partial_share = partial_share
        self.noise = noise
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.lr = lr
        self.lr_schedule = lr_schedule
        self.score_chunk_size = score_chunk_size
        self.score_corruption = score_corruption
        self.warm_start = warm_start
        self.random_state = random_state
        self.device = device
        self.n_processes = n_processes
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Fit every modality's preprocessing, then train the encoder.

        A fit that fails leaves the estimator as it was before the call.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            The table; at least 2 rows.
        y : array-like of shape (n_samples,), default=None
            Ignored unless ``label_weight > 0``: then a class per row, -1 for rows without
            one (a number per row, NaN for none, with ``label_loss="squared_error"``).

        Returns
        -------
        self : TupleInfoNCEFusion
        """
        with restore_on_failure(self):
            self._set_state(_fitted_state(self, X, y))
        return self

    def __sklearn_is_fitted__(self):
        return hasattr(self, "net_")

    def _get_state(self):
        """Hook: the fitted :class:`FusionState` (its net this estimator's own, not a copy)."""
        check_is_fitted(self)
        setting = resolve_setting(self.alpha_, self.corruption_, self._preprocessing.names)
        return FusionState(self._preprocessing, setting,
                           TrainingState(self.net_, tuple(self.loss_curve_), self._eval_seed),
                           getattr(self, "classes_", None), getattr(self, "target_scale_", None))

    def _set_state(self, state):
        """Hook: make this estimator the fitted one that ``state`` describes (its net in
        eval mode), for :meth:`fit`, the search's candidates and :func:`sktnce.load`."""
        return _install_state(self, state)

    def transform(self, X):
        """Return the fused representation of each row.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Same columns as in fit.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_out), float32
            r (the fitted ``n_components`` columns), then with ``output=
            "fused_and_modalities"`` each modality's embedding (fitted ``embedding_dim``).
        """
        check_is_fitted(self)
        encoder = self.net_.module_.encoder
        encoded = encode_input(self, self._preprocessing, X, encoder.absent.device)
        return represent(encoder, encoded, with_embeddings=self.output == "fused_and_modalities")

    def get_feature_names_out(self, input_features=None):
        """Names of the output features.

        ``tupleinfoncefusion0`` ... for r, then ``tupleinfoncefusion_<modality>0`` ... for
        each modality's embedding (``output="fused_and_modalities"``).

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Checked against the names seen in fit.

        Returns
        -------
        feature_names_out : ndarray of str
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        return _feature_names(
            type(self).__name__.lower(), self.net_.module_.encoder.architecture,
            list(self.output_indices_) if self.output == "fused_and_modalities" else [])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.target_tags.required = self.label_weight > 0
        return tags
