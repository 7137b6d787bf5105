"""The TupleInfoNCEFusion transformer."""

import copy
import warnings
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import torch
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_array,
    check_is_fitted,
    validate_data,
)

from ._discrimination import cross_modal_discrimination
from ._modalities import (
    _is_dataframe,
    check_modalities,
    fit_modalities,
    transform_modalities,
)
from ._network import TupleEncoder, TupleInfoNCEModule
from ._skorch import (
    EpochProgressBar,
    KeepLastCompleteEpoch,
    OneCycleSchedule,
    SliceBatchIterator,
    StopOnNonFiniteLoss,
    TupleInfoNCECriterion,
    TupleInfoNCENet,
)

__all__ = ["TupleInfoNCEFusion"]

_INFERENCE_BATCH = 4096


def resolve_alpha(alpha, names):
    """The normalised mixture weights, ordinary first, as a float64 array of length K + 1."""
    n_weights = len(names) + 1
    if isinstance(alpha, str):  # "uniform": the only string _parameter_constraints admits
        return np.full(n_weights, 1.0 / n_weights)
    if isinstance(alpha, dict):
        unknown = sorted(set(alpha) - {"ordinary", *names}, key=str)
        if unknown:
            raise ValueError(
                f"alpha has unknown keys {unknown}; use 'ordinary' and modality names "
                f"{list(names)}."
            )
        weights = [alpha.get(key, 0.0) for key in ["ordinary", *names]]
    else:
        weights = alpha
    try:
        weights = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"alpha must hold numbers; got {alpha!r}.") from None
    if weights.shape != (n_weights,):
        raise ValueError(
            f"alpha must have {n_weights} entries (ordinary, then one per modality "
            f"{list(names)}); got shape {weights.shape}."
        )
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError(f"alpha must be finite and non-negative; got {weights.tolist()}.")
    if weights.sum() <= 0:
        raise ValueError("alpha must not be all zero.")
    return weights / weights.sum()


def resolve_corruption(corruption, names):
    """The corruption rate of each modality, as a dict in modality order."""
    if not isinstance(corruption, dict):
        return {name: float(corruption) for name in names}
    unknown = sorted(set(corruption) - set(names), key=str)
    if unknown:
        raise ValueError(f"corruption has unknown modality names {unknown}; known: {list(names)}.")
    absent = [name for name in names if name not in corruption]
    if absent:
        raise ValueError(f"corruption gives no rate for modalities {absent}.")
    rates = {}
    for name in names:
        rate = corruption[name]
        if not isinstance(rate, Real) or not 0 <= rate < 1:
            raise ValueError(
                f"corruption[{name!r}] must be a number in [0, 1); got {rate!r}."
            )
        rates[name] = float(rate)
    return rates


def _reset_learning_rate(optimizer, lr):
    """Start a continued fit at ``lr``: a loaded Adam state carries the rate where the
    previous fit's schedule left it."""
    for group in optimizer.param_groups:
        group["lr"] = lr


def _criterion_alpha(alpha, disturbed):
    """The loss's mixture weights: ordinary, then the disturbed modalities' only."""
    return np.concatenate([alpha[:1], alpha[1:][disturbed]])


@contextmanager
def _restore_on_failure(estimator):
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


def _resolve_device(device):
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={str(device)!r}, but torch finds no CUDA device here.")
    return device


class TupleInfoNCEFusion(TransformerMixin, BaseEstimator):
    """Fuse several modalities of a table into one vector per row, with TupleInfoNCE.

    Each modality (a block of columns with its own preprocessing) gets its own small
    encoder; a fusion head turns the modality embeddings into the representation that
    :meth:`transform` returns. Training contrasts two augmented views of each whole row
    against other rows (ordinary negatives) and against *disturbed* rows, in which one
    modality comes from another row, so that no modality can be ignored (Liu et al.,
    ICCV 2021). Training needs no labels.

    Parameters
    ----------
    modalities : list of (name, transformer, columns) tuples, default=None
        As in :class:`~sklearn.compose.ColumnTransformer`: ``transformer`` is an estimator
        with ``fit``/``transform`` or ``"passthrough"``; ``columns`` are names, integer
        indices, a slice, a boolean mask or a callable such as
        :func:`~sklearn.compose.make_column_selector`. Modalities must not share columns.
        A row whose every column of a modality is missing gets that modality's learned
        *absent* embedding. ``None`` means one modality, ``"features"``, of every column,
        standardised: contrastive learning with SCARF corruption.
    alpha : "uniform", array-like of shape (K + 1,) or dict, default="uniform"
        Mixture weights of the negatives: ordinary negatives first, then the disturbed
        negatives of each modality in order. A dict is keyed by ``"ordinary"`` and modality
        names (missing keys weigh 0). Normalised to sum to 1. ``"uniform"`` weighs all
        equally; ``(1, 0, ..., 0)`` is plain whole-tuple contrast.
    corruption : float or dict, default=0.3
        beta: the probability that a feature of a view is replaced by the same feature of
        another row. One rate for all modalities, or a dict giving every modality's rate.
    temperature : float, default=0.1
        Softmax temperature of the loss and of the cross-modal scores.
    reconstruction : float, default=3.0
        Weight of a reconstruction term added to the loss: a linear decoder rebuilds every
        modality's clean block from r of each augmented view, and the term is each
        modality's mean squared error, averaged over the modalities
        (:func:`~sktnce.reconstruction_loss`; a block whose columns vary more than
        standardised ones is measured in units of its root mean variance). It keeps in r
        what each modality holds beyond what the contrast needs, which a linear model can
        read. 0 trains on the contrast alone, as the paper does. Chosen across five data
        sets with three fits each: it raised the linear probe with 1%, 5% and 10% of the
        labels by one point on average, most on UCI Multiple Features (+7 points with 1%),
        and lowered it by up to 1.8 points (clothing reviews, 1%). It costs about 22%
        more time per epoch (``benchmarks/RESULTS.md``).
    n_components : int, default=32
        Width of the fused representation r.
    output : {"fused", "fused_and_modalities"}, default="fused"
        What :meth:`transform` returns: the fused representation r, of ``n_components``
        columns, or r followed by each modality's embedding e^k (``embedding_dim``
        columns each, the absent embedding where a row lacks the modality). Measured with
        5,000 rows or fewer, the embeddings beside r raised the linear probe with all
        labels on every data set tried (by 0.5 to 2.1 points) and on UCI Multiple
        Features at every share of labels (0.960 against 0.950 with 10%), but lowered it
        on clothing reviews with 5-10% of the labels and on UCI Adult with 1-10%
        (``benchmarks/RESULTS.md``).
    projection_dim : int, default=32
        Width of the projection head's output, used only by the loss.
    embedding_dim : int, default=32
        Width of each modality's embedding.
    hidden_dim : int, default=64
        Width of the hidden layers of the encoders and of the fusion head.
    n_layers : int, default=1
        Hidden layers in each modality encoder and in the fusion head.
    n_derangements : int, default=1
        Disturbed negatives per anchor and modality (R).
    modality_dropout : float, default=0.1
        Probability that a modality of a full training view is replaced by its absent
        embedding, so that the encoder also works from partial rows.
    partial_share : float, default=0.0
        Share of training batches built from partial tuples, as in the authors' code
        (who use 2/3): half of them contrast one modality alone against the rest of its
        row (the task :meth:`score` measures), half one modality alone against an
        augmented copy of itself. The other batches contrast whole tuples with disturbed
        negatives. Ignored with one modality. It raises the cross-modal accuracies; the
        default is 0 because it lowered the linear probe on UCI Multiple Features
        (``benchmarks/RESULTS.md``).
    noise : float, default=0.0
        Standard deviation of Gaussian noise added to each view after corruption.
    batch_size : int, default=256
        Rows per training batch; every other row of a batch is a negative.
    max_epochs : int, default=50
        Passes over the data.
    lr : float, default=1e-3
        Adam learning rate (with ``lr_schedule="one_cycle"``, the peak rate).
    lr_schedule : {"constant", "one_cycle"}, default="constant"
        ``"one_cycle"``: one-cycle cosine annealing over each fit's batches (torch's
        ``OneCycleLR``, as in the authors' code), from ``lr / 25`` up to ``lr`` over the
        first 30% of the steps, then down to ``lr / 1e4``.
    score_chunk_size : int, default=32
        Candidate-set size M of the cross-modal retrieval behind :meth:`score`: every row
        is ranked among exactly M candidates (chance ``1 / M``), so that scores compare
        across data sizes.
    score_corruption : float, default=0.3
        Corruption rate of the queries in :meth:`score` and :meth:`cross_modal_accuracy`:
        the evaluation's own augmentation, independent of ``corruption``, so that models
        trained with different rates are scored on the same task.
    warm_start : bool, default=False
        When True and the estimator is fitted, :meth:`fit` keeps the fitted preprocessing
        (``X`` must have the same columns) and trains ``max_epochs`` more epochs from the
        current weights and optimizer state, with the current ``alpha`` and
        ``corruption``; ``loss_curve_`` grows.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the batches and the augmentations. An int gives bit-identical
        results on CPU for a given number of torch threads (``torch.get_num_threads()``):
        float sums may be split differently across another thread count.
    device : str or torch.device, default="cpu"
        ``"cpu"`` or ``"cuda"``.
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
        Mean training loss of each epoch.
    n_iter_ : int
        Epochs run.
    n_features_in_ : int
        Number of columns seen in fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names seen in fit, when X had string column names.

    See Also
    --------
    sktnce.tuple_infonce_loss : The loss, as a function over tensors.
    sklearn.compose.ColumnTransformer : The model of the ``modalities`` specification.

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

    # The torch module that builds views and negatives in training, and the loss over its
    # output: benchmarks swap them to build baselines (naive negatives, CMC) on the same net.
    _training_module = TupleInfoNCEModule
    _criterion = TupleInfoNCECriterion

    _parameter_constraints = {
        "modalities": [list, tuple, None],
        "alpha": [StrOptions({"uniform"}), "array-like", dict],
        "corruption": [Interval(Real, 0, 1, closed="left"), dict],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "reconstruction": [Interval(Real, 0, None, closed="left")],
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "output": [StrOptions({"fused", "fused_and_modalities"})],
        "projection_dim": [Interval(Integral, 1, None, closed="left")],
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "hidden_dim": [Interval(Integral, 1, None, closed="left")],
        "n_layers": [Interval(Integral, 0, None, closed="left")],
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
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        modalities=None,
        alpha="uniform",
        corruption=0.3,
        temperature=0.1,
        reconstruction=3.0,
        n_components=32,
        output="fused",
        projection_dim=32,
        embedding_dim=32,
        hidden_dim=64,
        n_layers=1,
        n_derangements=1,
        modality_dropout=0.1,
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
        verbose=0,
    ):
        self.modalities = modalities
        self.alpha = alpha
        self.corruption = corruption
        self.temperature = temperature
        self.reconstruction = reconstruction
        self.n_components = n_components
        self.output = output
        self.projection_dim = projection_dim
        self.embedding_dim = embedding_dim
        self.hidden_dim = hidden_dim
        self.n_layers = n_layers
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
        self.verbose = verbose

    # ------------------------------------------------------------------ input
    def _validate_input(self, X, *, reset):
        if sparse.issparse(X):
            raise TypeError(
                f"{type(self).__name__} does not take a sparse X; pass a dense array or a "
                "DataFrame (a modality's transformer may output sparse blocks)."
            )
        if _is_dataframe(X):
            if reset and X.shape[0] < 2:
                raise ValueError(
                    f"Found {X.shape[0]} sample(s) while a minimum of 2 is required by "
                    f"{type(self).__name__}: contrastive training needs other rows."
                )
        else:
            X = check_array(
                X,
                dtype=None,
                ensure_all_finite=False,
                ensure_min_samples=2 if reset else 1,
                estimator=self,
            )
        validate_data(self, X, reset=reset, skip_check_array=True)
        return X

    def _encode_input(self, X, device=None):
        """Preprocessed float32 features and missing mask of ``X``, as tensors on the device.

        ``device`` defaults to the trained encoder's; give it to encode before training.
        """
        plan = [(name, transformer, columns, scalar) for (name, transformer, columns), scalar
                in zip(self.modalities_, self._selects_1d)]
        widths = [s.stop - s.start for s in self.output_indices_.values()]
        features, missing = transform_modalities(plan, X, widths)
        if device is None:
            device = self.net_.module_.encoder.absent.device
        return torch.from_numpy(features).to(device), torch.from_numpy(missing).to(device)

    # -------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Fit every modality's preprocessing, then train the encoder without labels.

        With ``warm_start=True`` on a fitted estimator, keep the preprocessing and go on
        training from the current weights instead. A fit that fails leaves the estimator
        as it was before the call.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            The table; at least 2 rows.
        y : None
            Ignored.

        Returns
        -------
        self : TupleInfoNCEFusion
        """
        with _restore_on_failure(self):
            warm = self.warm_start and self.__sklearn_is_fitted__()
            # Checked before any preprocessing or training.
            specs, names, alpha, corruption = self._check_setting(
                list(self.output_indices_) if warm else None)
            device = _resolve_device(self.device)
            start, loss_curve = {}, []
            if warm:
                features, missing = self._encode_input(self._validate_input(X, reset=False))
                start = {
                    "initial_state": self.net_.module_.encoder.state_dict(),
                    # A copy: Adam updates its step counts in place, and a failed fit
                    # must leave the previous net as it was.
                    "optimizer_state": copy.deepcopy(self.net_.optimizer_.state_dict()),
                }
                loss_curve = list(self.loss_curve_)
            else:
                features, missing = self._fit_preprocessing(specs, X, device)
            self._train(features, missing, alpha, corruption, loss_curve=loss_curve, **start)
        return self

    def _train(self, features, missing, alpha, corruption, *, loss_curve=(), **start):
        """Train the network on preprocessed tensors: a fresh one seeded from
        ``random_state``, or one that continues from ``start`` (``initial_state`` and
        ``optimizer_state``) after the epochs of ``loss_curve``."""
        weight_seed, augment_seed, shuffle_seed, self._eval_seed = self._draw_seeds()
        net = self._build_net(alpha, corruption, weight_seed=weight_seed,
                              augment_seed=augment_seed, shuffle_seed=shuffle_seed,
                              block_scales=self._block_scales(features, missing), **start)
        net.partial_fit({"x": features, "missing": missing}, None)
        self._set_trained(net, alpha, corruption)
        self.loss_curve_ = list(loss_curve) + self.loss_curve_
        self.n_iter_ = len(self.loss_curve_)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "net_")

    def _block_scales(self, features, missing, rows=None):
        """Each modality's unit for the reconstruction term: the root mean variance of its
        columns over the training rows (``rows`` of the tensors, or all) that hold it, or 1
        where that is smaller; None without the term.

        Standardised and one-hot blocks keep their error as it is; a block left on a large
        scale (``"passthrough"`` of raw amounts) is measured in units of its own spread,
        so that it can neither swamp the loss nor overflow it.
        """
        if self.reconstruction == 0:
            return None
        blocks = list(self.output_indices_.values())
        n_held = torch.zeros(len(blocks), dtype=torch.float64)
        sums = [torch.zeros(b.stop - b.start, dtype=torch.float64) for b in blocks]
        squares = [torch.zeros(b.stop - b.start, dtype=torch.float64) for b in blocks]
        index = torch.arange(len(features)) if rows is None else torch.as_tensor(rows)
        # In float64 and by chunks: no overflow, and no copy of a large training table.
        for chunk in torch.split(index, _INFERENCE_BATCH):
            chunk = chunk.to(features.device)
            x = features[chunk].double().cpu()
            held = (~missing[chunk]).double().cpu()
            n_held += held.sum(dim=0)
            for k, block in enumerate(blocks):
                values = x[:, block] * held[:, k:k + 1]
                sums[k] += values.sum(dim=0)
                squares[k] += (values ** 2).sum(dim=0)
        scales = []
        for k in range(len(blocks)):
            n = max(float(n_held[k]), 1.0)
            variance = (squares[k] / n - (sums[k] / n) ** 2).clamp(min=0).mean()
            scales.append(max(1.0, float(variance) ** 0.5))
        return scales

    def _draw_seeds(self):
        """The seeds of one fit, from ``random_state``: weights, augmentations, shuffling,
        and the evaluation's candidate sets and query augmentations."""
        rng = check_random_state(self.random_state)
        return tuple(int(s) for s in rng.randint(np.iinfo(np.int32).max, size=4))

    def _check_setting(self, fitted_names=None):
        """``(specs, names, alpha, corruption)`` from the parameters, checked.

        ``fitted_names`` (a warm start's modalities) skips the modality specification, whose
        fitted form is kept; ``specs`` is then None.
        """
        specs = None if fitted_names is not None else check_modalities(self.modalities)
        names = fitted_names if specs is None else [spec[0] for spec in specs]
        return (specs, names, resolve_alpha(self.alpha, names),
                resolve_corruption(self.corruption, names))

    def _initialize(self, X):
        """Fit the preprocessing and set up untrained, seeded weights; return the
        preprocessed tensors ``(features, missing)`` of ``X``.

        A warm-started :meth:`fit` then trains from these weights: the search starts every
        candidate of its first round from them.
        """
        specs, _, alpha, corruption = self._check_setting()
        with _restore_on_failure(self):
            features, missing = self._fit_preprocessing(specs, X, _resolve_device(self.device))
            rng = check_random_state(self.random_state)
            weight_seed, self._eval_seed = (
                int(s) for s in rng.randint(np.iinfo(np.int32).max, size=2)
            )
            net = self._build_net(alpha, corruption, weight_seed=weight_seed,
                                  augment_seed=0, shuffle_seed=0)
            net.initialize()
            self._set_trained(net, alpha, corruption)
        return features, missing

    # The private steps below are shared with sktnce.save and load.
    def _fit_preprocessing(self, specs, X, device):
        """Fit the modalities' transformers; return the training tensors on ``device``."""
        X = self._validate_input(X, reset=True)
        plan, features, missing, widths = fit_modalities(specs, X)
        offsets = np.cumsum([0, *widths])
        self.modalities_ = [(name, transformer, columns)
                            for name, transformer, columns, _ in plan]
        self._selects_1d = [scalar for *_, scalar in plan]
        self.output_indices_ = {
            name: slice(int(start), int(stop))
            for (name, *_), start, stop in zip(plan, offsets[:-1], offsets[1:])
        }
        return torch.from_numpy(features).to(device), torch.from_numpy(missing).to(device)

    def _build_net(self, alpha, corruption, *, weight_seed, augment_seed, shuffle_seed,
                   max_epochs=None, initial_state=None, optimizer_state=None, block_scales=None):
        """A skorch net for the fitted modalities and the given alpha and beta.

        ``initial_state`` (an encoder state dict) replaces the seeded initial weights;
        ``optimizer_state`` (an Adam state dict) returns the net initialised, with it loaded;
        ``block_scales`` are the training rows' :meth:`_block_scales`.
        """
        names = list(self.output_indices_)
        widths = [s.stop - s.start for s in self.output_indices_.values()]
        # Seed the initial weights without touching the caller's global torch RNG.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(weight_seed)
            encoder = TupleEncoder(
                widths,
                embedding_dim=self.embedding_dim,
                hidden_dim=self.hidden_dim,
                n_layers=self.n_layers,
                n_components=self.n_components,
                projection_dim=self.projection_dim,
                reconstruct=self.reconstruction > 0,
            )
        if initial_state is not None:
            encoder.load_state_dict(initial_state)
        disturbed = self._disturbed_modalities(alpha)
        module = self._training_module(
            encoder, corruption=[corruption[name] for name in names],
            disturbed_modalities=disturbed, seed=augment_seed, **self._module_params(),
        )
        net = self._skorch_net(
            module, self._criterion, _criterion_alpha(alpha, disturbed),
            shuffle_seed=shuffle_seed, max_epochs=max_epochs, block_scales=block_scales,
        )
        if optimizer_state is not None:
            net.initialize()
            net.optimizer_.load_state_dict(optimizer_state)
            _reset_learning_rate(net.optimizer_, self.lr)
        return net

    def _module_params(self):
        """The training module's parameters that this estimator's give as they are."""
        return {"n_derangements": self.n_derangements,
                "modality_dropout": self.modality_dropout, "noise": self.noise,
                "partial_share": self.partial_share}

    def _disturbed_modalities(self, alpha):
        """Indices of the modalities whose disturbed negatives train: those weighed above 0."""
        n_modalities = len(self.output_indices_)
        # With one modality a disturbed tuple is another row: an ordinary negative again.
        if n_modalities < 2:
            return []
        return [k for k in range(n_modalities) if alpha[k + 1] > 0]

    def _skorch_net(self, module, criterion, criterion_alpha, *, shuffle_seed, max_epochs=None,
                    callbacks=(), rows=None, block_scales=None):
        """The skorch net that trains ``module`` with ``criterion`` and this estimator's
        optimizer, batches and epochs; ``callbacks`` come after the standard ones, and
        ``rows`` (indices) restricts training to those rows of the tensors it is given."""
        standard = [("nonfinite", StopOnNonFiniteLoss()),
                    ("last_complete_epoch", KeepLastCompleteEpoch())]
        if self.lr_schedule == "one_cycle":
            standard.append(("lr_schedule", OneCycleSchedule(self.lr)))
        if self.verbose:
            standard.append(("progress", EpochProgressBar()))
        return TupleInfoNCENet(
            module,
            criterion=criterion,
            criterion__alpha=criterion_alpha,
            criterion__temperature=self.temperature,
            criterion__reconstruction=self.reconstruction,
            criterion__block_widths=[s.stop - s.start for s in self.output_indices_.values()],
            criterion__block_scales=block_scales,
            optimizer=torch.optim.Adam,
            lr=self.lr,
            max_epochs=self.max_epochs if max_epochs is None else max_epochs,
            batch_size=self.batch_size,
            iterator_train=SliceBatchIterator,
            iterator_train__shuffle=True,
            iterator_train__seed=shuffle_seed,
            iterator_train__rows=rows,
            train_split=None,
            callbacks=[*standard, *callbacks],
            verbose=0,
            device=_resolve_device(self.device),
        )

    def _set_trained(self, net, alpha, corruption):
        # Epochs completed, or None for a net that was initialised but not trained here.
        keeper = dict(net.callbacks_)["last_complete_epoch"]
        completed = getattr(keeper, "completed_epochs_", None)
        if completed is not None and completed < net.max_epochs:
            # skorch swallowed a KeyboardInterrupt; a part-trained epoch is not kept.
            net.module_.load_state_dict(keeper.state_)
            warnings.warn(
                f"Training was interrupted after {completed} of "
                f"{net.max_epochs} epochs; {type(self).__name__} keeps the weights of the "
                "last complete epoch.",
                UserWarning,
                stacklevel=3,
            )
        keeper.state_ = None  # the copy served its purpose; do not pickle it with the net
        net.module_.eval()
        self.alpha_ = dict(zip(["ordinary", *self.output_indices_], np.asarray(alpha).tolist()))
        self.corruption_ = dict(corruption)
        self.net_ = net
        self.loss_curve_ = [float(row["train_loss"]) for row in net.history
                            if "train_loss" in row]
        self.n_iter_ = len(self.loss_curve_)

    # -------------------------------------------------------------- transform
    def transform(self, X):
        """Return the fused representation of each row.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Same columns as in fit.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_out), float32
            r, ``n_components`` columns; with ``output="fused_and_modalities"``, then each
            modality's embedding, ``embedding_dim`` columns each.
        """
        check_is_fitted(self)
        X = self._validate_input(X, reset=False)
        features, missing = self._encode_input(X)
        encoder = self.net_.module_.encoder
        outputs = []
        with torch.inference_mode():
            for start in range(0, len(features), _INFERENCE_BATCH):
                rows = slice(start, start + _INFERENCE_BATCH)
                x, absent = features[rows], missing[rows]
                if self.output == "fused":
                    outputs.append(encoder(x, absent).cpu())
                else:
                    embeddings = encoder.embed(encoder.blocks(x), absent)
                    outputs.append(torch.cat([encoder.fuse(embeddings), embeddings.flatten(1)],
                                             dim=1).cpu())
        if not outputs:
            return np.zeros((0, self._n_features_out), dtype=np.float32)
        return torch.cat(outputs).numpy()

    @property
    def _n_features_out(self):
        if self.output == "fused":
            return self.n_components
        return self.n_components + len(self.output_indices_) * self.embedding_dim

    def get_feature_names_out(self, input_features=None):
        """Names of the output features.

        ``tupleinfoncefusion0`` ... for the columns of r, then, with
        ``output="fused_and_modalities"``, ``tupleinfoncefusion_<modality>0`` ... for each
        modality's embedding.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against the names seen in fit.

        Returns
        -------
        feature_names_out : ndarray of str
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        prefix = type(self).__name__.lower()
        names = [f"{prefix}{i}" for i in range(self.n_components)]
        if self.output == "fused_and_modalities":
            names += [f"{prefix}_{modality}{j}" for modality in self.output_indices_
                      for j in range(self.embedding_dim)]
        return np.asarray(names, dtype=object)

    # ---------------------------------------------------------------- scoring
    def _discrimination(self, X, *, seed=None):
        """Per-modality accuracy and log-probability arrays on ``X``; ``seed`` fixes the
        candidate sets and query augmentations (default: the one drawn in fit)."""
        check_is_fitted(self)
        X = self._validate_input(X, reset=False)
        features, missing = self._encode_input(X)
        if len(features) < 2:
            raise ValueError("Cross-modal discrimination needs at least 2 rows.")
        if len(features) < self.score_chunk_size:
            warnings.warn(
                f"Cross-modal discrimination on {len(features)} rows, fewer than "
                f"score_chunk_size={self.score_chunk_size}: rows are ranked among "
                f"{len(features)} candidates (chance 1/{len(features)}), a score that does "
                "not compare with scores on more rows.",
                UserWarning,
                stacklevel=3,
            )
        seed = self._eval_seed if seed is None else seed
        generator = torch.Generator(device=features.device).manual_seed(seed)
        encoder = self.net_.module_.encoder
        return cross_modal_discrimination(
            encoder,
            features,
            missing,
            corruption=[self.score_corruption] * len(self.output_indices_),
            chunk_size=self.score_chunk_size,
            temperature=self.temperature,
            generator=generator,
        )

    def cross_modal_accuracy(self, X):
        """Each modality's cross-modal discrimination accuracy A^k on ``X``.

        For modality k, the share of rows whose modality k alone, corrupted at
        ``score_corruption``, retrieves, among ``score_chunk_size`` candidates, the rest of
        its own row (all modalities but
        k). A modality the encoder ignores scores near chance, ``1 / score_chunk_size``.
        With one modality it is instance discrimination: an augmented view of a row
        retrieves the clean row.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Held-out rows, at least 2.

        Returns
        -------
        accuracy : dict of str to float
            A^k by modality name, in [0, 1]; NaN where no row has the modality.
        """
        accuracy, _ = self._discrimination(X)
        return dict(zip(self.output_indices_, accuracy.tolist()))

    def score(self, X, y=None):
        """Mean cross-modal discrimination accuracy over modalities, in [0, 1].

        The reward of METHOD.md divided by K, so that it does not grow with the number of
        modalities; :class:`~sklearn.model_selection.GridSearchCV` without ``y`` selects
        by it.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        score : float
        """
        accuracy, _ = self._discrimination(X)
        return float(np.nanmean(accuracy))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

