"""The skorch layer: a NeuralNet whose loss is TupleInfoNCE, fed whole batches by slicing."""

import math

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback

from ._loss import ReconstructionTerm, SupervisionTerm, training_loss

__all__ = [
    "EpochProgressBar",
    "KeepLastCompleteEpoch",
    "OneCycleSchedule",
    "SliceBatchIterator",
    "StopOnNonFiniteLoss",
    "TupleInfoNCECriterion",
    "TupleInfoNCENet",
]


class SliceBatchIterator:
    """Batches sliced from whole tensors, reshuffled at every pass.

    skorch's default DataLoader indexes and collates row by row, which costs about twice
    the time of a bare torch loop for a small network; slicing costs nothing extra.
    A final batch of a single row is merged into the one before it: the loss needs two.

    Parameters
    ----------
    dataset : skorch Dataset whose ``X`` is a dict of tensors with equal first dimension.
    batch_size : int
    shuffle : bool
    seed : int
        Seed of the shuffling order (a NumPy generator that lives as long as the iterator).
    rows : array-like of int, default=None
        Iterate over these rows of the tensors only, as if the tensors held just them
        (the same batches, in the same order, as tensors sliced to them), without copying
        them out. None: all rows.
    rank, world_size : int, default=0, 1
        In data-parallel training, every process (rank) iterates with the same ``seed``
        over the same global batches of ``batch_size`` rows, in the same order, and yields
        its equal share of each: the global batch's first ``world_size * share`` rows, cut
        in ``world_size`` consecutive shares, the ``rank``-th its own. The fewer than
        ``world_size`` rows left over are left out of that batch (reshuffled, they fall in
        other batches in other epochs): shares of unequal size would hang gloo's gather,
        and rows repeated to pad them would be their own false negatives.
    """

    def __init__(self, dataset, batch_size, shuffle=False, seed=0, rows=None, rank=0,
                 world_size=1):
        self.tensors = dataset.X
        self._device = next(iter(self.tensors.values())).device
        self.rows = None if rows is None else torch.as_tensor(rows, device=self._device)
        self.n_rows = len(dataset) if rows is None else len(self.rows)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self._rng = np.random.default_rng(seed)
        self.rank, self.world_size = rank, world_size
        if world_size > 1 and self.n_rows < 2 * world_size or not 0 <= rank < world_size:
            raise ValueError(f"{world_size} processes need at least {2 * world_size} rows, "
                             f"and rank in [0, {world_size}); got {self.n_rows} rows, rank "
                             f"{rank}.")

    def _bounds(self):
        starts = list(range(0, self.n_rows, self.batch_size))
        # A last batch of fewer than 2 rows per share joins the one before it.
        if len(starts) > 1 and self.n_rows - starts[-1] < 2 * self.world_size:
            starts.pop()
        bounds = list(zip(starts, starts[1:] + [self.n_rows]))
        if self.world_size == 1:
            return bounds
        shares = [(stop - start) // self.world_size for start, stop in bounds]
        return [(start + self.rank * share, start + (self.rank + 1) * share)
                for (start, _), share in zip(bounds, shares)]

    def __len__(self):
        return len(self._bounds())

    def __iter__(self):
        order = self.rows
        if self.shuffle:
            order = torch.as_tensor(self._rng.permutation(self.n_rows), device=self._device)
            if self.rows is not None:
                order = self.rows[order]
        for start, stop in self._bounds():
            if order is None:
                yield {k: v[start:stop] for k, v in self.tensors.items()}, None
            else:
                index = order[start:stop]
                yield {k: v[index] for k, v in self.tensors.items()}, None


class TupleInfoNCECriterion(torch.nn.Module):
    """:func:`~sktnce._loss.training_loss` of the module's outputs, as skorch's criterion.

    Parameters
    ----------
    alpha : array-like of shape (K' + 1,)
        The loss's mixture weights, ordinary first.
    temperature : float
    reconstruction : ReconstructionTerm, default=None
        The reconstruction term; None trains on the contrast alone.
    supervision : SupervisionTerm, default=None
        The supervised term of a target-aware fit; None trains without labels.
    """

    def __init__(self, alpha, temperature, reconstruction=None, supervision=None):
        super().__init__()
        self.register_buffer("alpha", torch.as_tensor(alpha, dtype=torch.float32))
        self.temperature = float(temperature)
        self.reconstruction = None
        if reconstruction is not None:
            self.register_buffer("block_scales", None if reconstruction.block_scales is None
                                 else torch.as_tensor(reconstruction.block_scales,
                                                      dtype=torch.float32))
            self.reconstruction = ReconstructionTerm(
                float(reconstruction.weight), [int(w) for w in reconstruction.block_widths])
        self.supervision = None if supervision is None else SupervisionTerm(
            str(supervision.kind), float(supervision.weight))

    def reconstruction_term(self):
        """The reconstruction term, with its units on the criterion's device."""
        if self.reconstruction is None:
            return None
        return self.reconstruction._replace(block_scales=self.block_scales)

    def forward(self, outputs):
        return training_loss(outputs, self.alpha, self.temperature, self.reconstruction_term(),
                             self.supervision)


class TupleInfoNCENet(NeuralNet):
    """A NeuralNet whose loss needs no target: labels, where a fit has them, travel with
    the inputs (the batch's ``labels``) and reach the criterion in the module's outputs."""

    def get_loss(self, y_pred, y_true, X=None, training=False):
        return self.criterion_(y_pred)


class OneCycleSchedule(Callback):
    """One-cycle cosine annealing of the learning rate over the fit's batches.

    torch's :class:`~torch.optim.lr_scheduler.OneCycleLR` (as in the authors' code), from
    ``max_lr / 25`` up to ``max_lr`` in the first 30% of the steps, then down to
    ``max_lr / 1e4``; stepped after every training batch. Adam's betas are left alone.
    A fit that continues training (warm start) runs a new cycle over its own epochs.
    """

    def __init__(self, max_lr):
        self.max_lr = max_lr

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        n_batches = len(net.get_iterator(net.get_dataset(X), training=True))
        self.scheduler_ = torch.optim.lr_scheduler.OneCycleLR(
            net.optimizer_, max_lr=self.max_lr, total_steps=net.max_epochs * n_batches,
            anneal_strategy="cos", cycle_momentum=False,
        )

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.scheduler_.step()


class EpochProgressBar(Callback):
    """A tqdm bar over epochs, showing the last epoch's loss.

    skorch calls ``on_train_end`` only when a fit ends without an error: whoever runs the
    fit calls :meth:`close` in a ``finally``, so that no bar stays open in a notebook.
    """

    def on_train_begin(self, net, **kwargs):
        from tqdm.auto import tqdm

        self._bar = tqdm(total=net.max_epochs, desc="TupleInfoNCE", unit="epoch")

    def on_epoch_end(self, net, **kwargs):
        self._bar.set_postfix(loss=f"{net.history[-1, 'train_loss']:.4f}")
        self._bar.update(1)

    def on_train_end(self, net, **kwargs):
        self.close()

    def close(self):
        """Close the bar, once; a bar that is closed or was never opened is left alone."""
        bar, self._bar = getattr(self, "_bar", None), None
        if bar is not None:
            bar.close()


class KeepLastCompleteEpoch(Callback):
    """Roll back an interrupted fit to the weights of its last complete epoch.

    skorch ends ``fit`` quietly on KeyboardInterrupt, possibly in the middle of an epoch,
    and then still calls ``on_train_end``: there the module gets back the weights of the
    last complete epoch. ``completed_epochs_`` counts the complete epochs of the last fit;
    the owner of the net decides what an interruption means (a warning, or an error).
    """

    def on_train_begin(self, net, **kwargs):
        self.completed_epochs_ = 0
        self.state_ = _copy_state(net.module_)

    def on_epoch_end(self, net, **kwargs):
        self.completed_epochs_ += 1
        self.state_ = _copy_state(net.module_)

    def on_train_end(self, net, **kwargs):
        if self.completed_epochs_ < net.max_epochs:
            net.module_.load_state_dict(self.state_)
        self.state_ = None  # the copy served its purpose

    def __getstate__(self):
        # A copy of the weights is only needed while a fit runs; never pickle it.
        state = self.__dict__.copy()
        state["state_"] = None
        return state


def _copy_state(module):
    return {key: value.detach().clone() for key, value in module.state_dict().items()}


class StopOnNonFiniteLoss(Callback):
    """Stop with an explanation as soon as a batch's loss is NaN or infinite, or, at the
    end of an epoch, a weight is (a step can blow the weights up without the loss of that
    batch showing it)."""

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        value = float(loss.item())
        if not math.isfinite(value):
            raise FloatingPointError(_diverged(f"loss became {value}", len(net.history)))

    def on_epoch_end(self, net, **kwargs):
        finite = torch.stack([torch.isfinite(p).all() for p in net.module_.parameters()])
        if not bool(finite.all()):
            raise FloatingPointError(_diverged("weights became non-finite",
                                               len(net.history)))


def _diverged(what, epoch):
    return (f"The TupleInfoNCE {what} in epoch {epoch}; training stopped. Try a lower lr, "
            "a higher temperature, or check the inputs for extreme values.")
