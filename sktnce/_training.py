"""Training the network of a TupleInfoNCEFusion: its configuration, its skorch net, a fit.

The estimators hold parameters and data checks; this module holds the torch side. A fit's
configuration is read from the estimator's parameters once, into a frozen
:class:`TrainingConfig`, and every switch that follows from it (is the reconstruction term
on, which lr schedule) is decided there. The fusion, the search's candidates and
persistence all build their nets here.
"""

import copy
import warnings
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from ._embeddings import resolve_numeric_embedding
from ._loss import HEAD_LOSSES, ReconstructionTerm, SupervisionTerm
from ._modalities import EncodedTable, check_modalities
from ._network import Architecture
from ._skorch import (
    EpochProgressBar,
    KeepLastCompleteEpoch,
    OneCycleSchedule,
    SliceBatchIterator,
    StopOnNonFiniteLoss,
    TupleInfoNCENet,
)

__all__ = ["TrainingConfig", "TrainingState", "bins_reference", "block_scales",
           "build_encoder", "build_fusion_net", "build_net", "fit_net", "initial_state",
           "load_optimizer_state", "reconstruction_units", "represent", "resolve_device", "train"]

#: Rows per chunk wherever a whole table passes through the network or a statistic.
CHUNK_ROWS = 4096


def resolve_device(device):
    """``device`` as a torch.device; a CUDA device where torch finds none is an error."""
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={str(device)!r}, but torch finds no CUDA device here.")
    return device


@dataclass(frozen=True)
class TrainingConfig:
    """What a TupleInfoNCEFusion's parameters fix about training, read once."""

    embedding_dim: int
    hidden_dim: int
    n_layers: int
    n_components: int
    projection_dim: int
    temperature: float
    reconstruction: float
    label_weight: float
    label_loss: str
    n_derangements: int
    modality_dropout: float
    noise: float
    partial_share: float
    batch_size: int
    max_epochs: int
    lr: float
    lr_schedule: str
    device: torch.device
    verbose: int
    #: The torch module that builds views and negatives, and the criterion over its
    #: outputs (benchmarks swap them in subclasses to build baselines on the same net).
    training_module: type
    criterion: type
    #: Each modality's numeric embedding shape (``NUMERIC_EMBEDDINGS``) or None; ``()``: none.
    numeric_embedding: tuple = ()

    @classmethod
    def from_estimator(cls, estimator):
        params = estimator.get_params(deep=False)
        fields = {name: params[name] for name in cls.__dataclass_fields__ if name in params}
        fields["device"] = resolve_device(params["device"])
        names = [name for name, _, _ in check_modalities(params["modalities"])]
        fields["numeric_embedding"] = resolve_numeric_embedding(
            params.get("numeric_embedding"), names)
        return cls(**fields, training_module=type(estimator)._training_module,
                   criterion=type(estimator)._criterion)

    @property
    def reconstructs(self):
        """Whether the loss has the reconstruction term (and the encoder its decoder)."""
        return self.reconstruction > 0

    @property
    def supervision(self):
        """The supervised term of a target-aware fit, or None (labels are ignored)."""
        if not self.label_weight > 0:
            return None
        return SupervisionTerm(self.label_loss, self.label_weight)

    @property
    def has_head(self):
        """Whether the encoder has a linear head on r: the cross-entropy term's (to the
        class logits) or the squared error's (to the standardised target)."""
        return self.supervision is not None and self.label_loss in HEAD_LOSSES

    def architecture(self, widths, n_classes=0):
        """The :class:`~sktnce._network.Architecture` this configuration builds for blocks
        of ``widths`` (with a head of ``n_classes`` outputs where it :attr:`has_head`: one
        for the squared error)."""
        return Architecture(
            input_dims=tuple(int(w) for w in widths),
            embedding_dim=self.embedding_dim,
            hidden_dim=self.hidden_dim if self.n_layers else 0,
            n_layers=self.n_layers,
            n_components=self.n_components,
            projection_dim=self.projection_dim,
            reconstruct=self.reconstructs,
            n_classes=n_classes if self.has_head else 0,
            numeric_embedding=self.numeric_embedding,
        )

    @property
    def module_params(self):
        """The training module's parameters that the configuration gives as they are."""
        return {"n_derangements": self.n_derangements,
                "modality_dropout": self.modality_dropout, "noise": self.noise,
                "partial_share": self.partial_share}


class TrainingState(NamedTuple):
    """A fusion's trained network and what its training leaves behind."""

    #: The skorch net, initialised (its module in eval mode once trained).
    net: TupleInfoNCENet
    #: Mean training loss of every epoch, earlier fits' (warm starts) included.
    loss_curve: tuple
    #: Seed of the evaluation's candidate sets and query augmentations.
    eval_seed: int


def block_scales(encoded, widths, rows=None):
    """Each modality's unit for the reconstruction term: the root mean variance of its
    columns over the training rows (``rows`` of ``encoded``, or all) that hold it, or 1
    where that is smaller.

    Standardised and one-hot blocks keep their error as it is; a block left on a large
    scale (``"passthrough"`` of raw amounts) is measured in units of its own spread,
    so that it can neither swamp the loss nor overflow it.
    """
    features, missing = encoded
    offsets = np.cumsum([0, *widths])
    blocks = [slice(int(a), int(b)) for a, b in zip(offsets[:-1], offsets[1:])]
    n_held = torch.zeros(len(blocks), dtype=torch.float64)
    sums = [torch.zeros(w, dtype=torch.float64) for w in widths]
    squares = [torch.zeros(w, dtype=torch.float64) for w in widths]
    index = torch.arange(len(features)) if rows is None else torch.as_tensor(rows)
    # In float64 and by chunks: no overflow, and no copy of a large training table.
    for chunk in torch.split(index, CHUNK_ROWS):
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


def reconstruction_units(config, encoded, widths, rows=None):
    """The reconstruction term's :func:`block_scales` on the training rows; None when the
    configuration has no reconstruction term."""
    return block_scales(encoded, widths, rows) if config.reconstructs else None


def build_net(config, module, criterion_alpha, *, widths, shuffle_seed, criterion=None,
              max_epochs=None, rows=None, scales=None, callbacks=()):
    """The skorch net that trains ``module`` with the configuration's optimizer, batches
    and epochs, and ``criterion`` (default: the configuration's).

    ``callbacks`` come after the standard ones; ``rows`` (indices) restricts training to
    those rows of the tensors it is given; ``scales`` are the reconstruction term's
    :func:`block_scales`.
    """
    standard = [("nonfinite", StopOnNonFiniteLoss()),
                ("last_complete_epoch", KeepLastCompleteEpoch())]
    if config.lr_schedule == "one_cycle":
        standard.append(("lr_schedule", OneCycleSchedule(config.lr)))
    if config.verbose:
        standard.append(("progress", EpochProgressBar()))
    reconstruction = None
    if config.reconstructs:
        reconstruction = ReconstructionTerm(config.reconstruction, list(widths), scales)
    return TupleInfoNCENet(
        module,
        criterion=config.criterion if criterion is None else criterion,
        criterion__alpha=criterion_alpha,
        criterion__temperature=config.temperature,
        criterion__reconstruction=reconstruction,
        criterion__supervision=config.supervision,
        optimizer=torch.optim.Adam,
        lr=config.lr,
        max_epochs=config.max_epochs if max_epochs is None else max_epochs,
        batch_size=config.batch_size,
        iterator_train=SliceBatchIterator,
        iterator_train__shuffle=True,
        iterator_train__seed=shuffle_seed,
        iterator_train__rows=rows,
        train_split=None,
        callbacks=[*standard, *callbacks],
        verbose=0,
        device=config.device,
    )


def build_encoder(architecture, weight_seed):
    """A :class:`~sktnce._network.TupleEncoder` of ``architecture``, its initial weights
    drawn from ``weight_seed`` without touching the caller's global torch RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(weight_seed)
        return architecture.build()


def load_optimizer_state(net, optimizer_state, lr):
    """Initialise ``net`` and load ``optimizer_state`` into its Adam, at rate ``lr``: a
    loaded state carries the rate where the previous fit's schedule left it."""
    net.initialize()
    net.optimizer_.load_state_dict(optimizer_state)
    for group in net.optimizer_.param_groups:
        group["lr"] = lr
    return net


def build_fusion_net(config, widths, setting, seeds, *, max_epochs=None, rows=None,
                     initial_state=None, optimizer_state=None, scales=None, n_classes=0,
                     architecture=None, reference=None, callbacks=()):
    """The net of one fusion: its encoder (seeded, or ``initial_state``), its training
    module with ``setting``, its criterion. A seeded encoder's numeric embeddings learn
    their bins from the ``reference`` rows (an :class:`EncodedTable`), where given.

    The encoder's ``architecture`` is the configuration's for ``widths`` and ``n_classes``
    unless given (a loaded model's, read from its file). ``optimizer_state`` (an Adam state
    dict) returns the net initialised, with it loaded. ``callbacks`` follow the standard
    ones (:func:`build_net`).
    """
    if architecture is None:
        architecture = config.architecture(widths, n_classes)
    encoder = build_encoder(architecture, seeds.weights)
    if initial_state is not None:
        encoder.load_state_dict(initial_state)
    elif reference is not None:
        encoder.fit_numeric_embeddings(*reference)
    module = config.training_module(
        encoder, corruption=setting.rates, disturbed_modalities=setting.disturbed_modalities,
        seed=seeds.augment, **config.module_params,
    )
    net = build_net(config, module, setting.criterion_alpha, widths=widths,
                    shuffle_seed=seeds.shuffle, max_epochs=max_epochs, rows=rows,
                    scales=scales, callbacks=callbacks)
    if optimizer_state is not None:
        load_optimizer_state(net, optimizer_state, config.lr)
    return net


def fit_net(net, encoded, *, on_interrupt, labels=None):
    """Train ``net`` on ``encoded`` for its ``max_epochs``; return the epochs' mean losses.

    skorch ends a fit quietly on KeyboardInterrupt, and the net's
    :class:`~sktnce._skorch.KeepLastCompleteEpoch` rolls it back to its last complete
    epoch. ``on_interrupt="warn"`` keeps those weights with a warning (a user's fit);
    ``"raise"`` raises KeyboardInterrupt (a search's candidate, whose interruption must stop
    the search). ``labels`` (class codes, -1 for none) travel with the rows.
    """
    inputs = {"x": encoded.features, "missing": encoded.missing}
    if labels is not None:
        inputs["labels"] = labels
    try:
        net.partial_fit(inputs, None)
    finally:
        progress = dict(net.callbacks_).get("progress")
        if progress is not None:
            progress.close()
    completed = dict(net.callbacks_)["last_complete_epoch"].completed_epochs_
    if completed < net.max_epochs:
        message = f"Training was interrupted after {completed} of {net.max_epochs} epochs"
        if on_interrupt == "raise":
            raise KeyboardInterrupt(message + ".")
        warnings.warn(message + "; TupleInfoNCEFusion keeps the weights of the last complete "
                      "epoch.", UserWarning, stacklevel=5)
    net.module_.eval()
    return [float(row["train_loss"]) for row in net.history if "train_loss" in row]


def train(config, encoded, setting, seeds, *, widths, start=None, rows=None, max_epochs=None,
          on_interrupt="warn", labels=None):
    """One fit: a net seeded by ``seeds`` (or continuing from ``start``, a
    :class:`TrainingState`, with its weights and optimizer state), trained with ``setting``
    on ``rows`` of ``encoded`` (default: all); returns its :class:`TrainingState`.

    ``labels`` (:class:`~sktnce._labels.Labels`) are those of a target-aware
    configuration, which needs them; any other ignores them."""
    supervised = config.supervision is not None
    if supervised and labels is None:
        raise ValueError("A target-aware configuration (label_weight > 0) trains on labels.")
    continued = {}
    if start is not None:
        continued = {
            "initial_state": start.net.module_.encoder.state_dict(),
            # A copy: Adam updates its step counts in place, and a failed fit must leave
            # the previous net as it was.
            "optimizer_state": copy.deepcopy(start.net.optimizer_.state_dict()),
        }
    net = build_fusion_net(config, widths, setting, seeds, max_epochs=max_epochs, rows=rows,
                           scales=reconstruction_units(config, encoded, widths, rows),
                           n_classes=labels.n_classes if supervised else 0,
                           reference=bins_reference(config, encoded, rows), **continued)
    losses = fit_net(net, encoded, on_interrupt=on_interrupt,
                     labels=labels.codes if supervised else None)
    earlier = () if start is None else tuple(start.loss_curve)
    return TrainingState(net, earlier + tuple(losses), seeds.evaluation)


def bins_reference(config, encoded, rows):
    """The :class:`EncodedTable` of the rows that numeric embeddings fit their bins on (the
    training ``rows``, default: all); None (no copy) without any."""
    if not config.numeric_embedding:
        return None
    return encoded if rows is None else EncodedTable(encoded.features[rows],
                                                     encoded.missing[rows])


def initial_state(config, widths, setting, seeds, n_classes=0, reference=None):
    """The :class:`TrainingState` of an untrained, seeded net: where a search's first
    round of candidates starts (its numeric embeddings' bins from the ``reference`` rows, an
    :class:`EncodedTable`)."""
    net = build_fusion_net(config, widths, setting, seeds, n_classes=n_classes,
                           reference=reference)
    net.initialize()
    net.module_.eval()
    return TrainingState(net, (), seeds.evaluation)


def represent(encoder, encoded, *, with_embeddings=False):
    """The representation r of every row of ``encoded``, then with ``with_embeddings``
    each modality's embedding, as a float32 array, by chunks of rows."""
    features, missing = encoded
    outputs = []
    with torch.inference_mode():
        for start in range(0, len(features), CHUNK_ROWS):
            rows = slice(start, start + CHUNK_ROWS)
            embeddings = encoder.embed(encoder.blocks(features[rows]), missing[rows])
            output = encoder.fuse(embeddings)
            if with_embeddings:
                output = torch.cat([output, embeddings.flatten(1)], dim=1)
            outputs.append(output.cpu())
    if not outputs:
        width = encoder.fusion_head[-1].out_features
        if with_embeddings:
            width += encoder.absent.numel()
        return np.zeros((0, width), dtype=np.float32)
    return torch.cat(outputs).numpy()
