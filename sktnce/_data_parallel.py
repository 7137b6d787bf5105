"""Data-parallel training: the training module of one process among several.

Every process (rank) runs :class:`DataParallelModule` on its equal share of each global
batch (:class:`~sktnce._skorch.SliceBatchIterator` with ``rank`` and ``world_size``). The
modality encoders run on the share alone; their embeddings are gathered with gradients
(:mod:`sktnce._distributed`), so that each rank's k-disturbed tuples take their swapped
modality from any row of the global batch, by a derangement every rank draws alike. Each
rank's anchors are its own rows and their candidates every rank's: the loss of a rank is
its anchors' share of the single-process loss of the global batch, and the mean of the
ranks' gradients (as ``DistributedDataParallel`` averages them) is the single-process
gradient.

:func:`train_rank` is one rank's fit: the gradients are averaged over the ranks after every
backward pass, by :class:`AverageGradients`, before the optimizer's step.
"""

import dataclasses

import torch
from skorch.callbacks import Callback

from ._augment import random_derangement
from ._distributed import (
    average_gradients,
    first_row,
    gather_rows,
    mean_over_ranks,
    rank_and_world_size,
)
from ._network import TupleInfoNCEModule, disturbed_mask, generator_on
from ._training import bins_reference, build_fusion_net, fit_net, reconstruction_units

__all__ = ["AverageGradients", "DataParallelModule", "train_rank"]


class DataParallelModule(TupleInfoNCEModule):
    """:class:`~sktnce._network.TupleInfoNCEModule` on one rank's share of a global batch.

    The corruption and modality dropout of a rank's rows are drawn from its own generator
    (seeded by ``seed`` and its rank), the derangements of the k-disturbed tuples from one
    that every rank seeds alike. A corrupted feature's replacement comes from the rank's
    share, not the global batch. Partial-tuple batches, which keep only the rows holding a
    modality (so that the shares would differ in size), are refused.

    Parameters are :class:`~sktnce._network.TupleInfoNCEModule`'s.
    """

    def __init__(self, encoder, *, corruption, disturbed_modalities, n_derangements,
                 modality_dropout, noise, seed, partial_share=0.0):
        if partial_share > 0:
            raise ValueError("Data-parallel training does not take partial-tuple batches: set "
                             f"partial_share=0 (got {partial_share}).")
        super().__init__(encoder, corruption=corruption,
                         disturbed_modalities=disturbed_modalities,
                         n_derangements=n_derangements, modality_dropout=modality_dropout,
                         noise=noise, seed=seed, partial_share=partial_share)
        self._shared_generator = None

    def __getstate__(self):
        state = super().__getstate__()
        state["_shared_generator"] = None
        return state

    @property
    def generator(self):
        """This rank's generator: its corruption and modality dropout."""
        rank, _ = rank_and_world_size()
        # Not seed + rank: that would be rank 0's seed in the fit seeded one higher.
        self._generator = generator_on(self._generator, self.device,
                                       self.seed + 1_000_003 * rank)
        return self._generator

    @property
    def shared_generator(self):
        """The generator every rank seeds alike: the derangements of the global batch."""
        self._shared_generator = generator_on(self._shared_generator, self.device, self.seed)
        return self._shared_generator

    def _project_with_disturbed(self, embeddings, absent):
        """As the single-process module's, for this rank's rows of the global batch."""
        n_local = absent.shape[0]
        mine = slice(first_row(n_local), first_row(n_local) + n_local)
        everyone = gather_rows(embeddings)
        # all_gather carries no bool under every backend: as bytes, and back.
        everyone_absent = gather_rows(absent.to(torch.uint8)).bool()
        n_rows = everyone_absent.shape[0]
        swaps = [(k, random_derangement(n_rows, generator=self.shared_generator,
                                        device=absent.device))
                 for k in self.disturbed_modalities for _ in range(self.n_derangements)]
        projected = self.encoder.project_with_swaps(everyone, swaps, rows=mine)
        shape = (len(self.disturbed_modalities), self.n_derangements, n_local)
        disturbed = projected[1:].reshape(*shape, projected.shape[-1])
        return projected[0], disturbed, disturbed_mask(everyone_absent, swaps, shape, mine)

    def forward(self, x, missing, labels=None):
        outputs = super().forward(x, missing, labels)
        return outputs._replace(candidates1=gather_rows(outputs.z1),
                                candidates2=gather_rows(outputs.z2),
                                first_row=first_row(len(outputs.z1)))


class AverageGradients(Callback):
    """After every backward pass, each gradient becomes its mean over the ranks (as
    ``DistributedDataParallel`` averages them), so that every rank takes the same step and
    the weights stay equal on every rank.

    Not ``DistributedDataParallel`` itself: it would wrap the module that skorch and the
    fitted estimator address, and it fails on parameters that a step leaves without a
    gradient (an absent embedding, a modality's head), which this training meets by design.
    A non-finite averaged gradient stops every rank alike, where a non-finite loss on one
    rank alone would stop that rank and leave the others waiting.
    """

    def on_grad_computed(self, net, named_parameters, **kwargs):
        if not average_gradients(p for _, p in named_parameters):
            raise FloatingPointError(
                f"The TupleInfoNCE gradient became non-finite in epoch {len(net.history)} "
                "on some process; training stopped. Try a lower lr, a higher temperature, "
                "or check the inputs for extreme values.")


def train_rank(config, encoded, setting, seeds, *, widths, labels=None):
    """This rank's part of a data-parallel fit on the whole ``encoded`` table (every rank
    holds it, alike): ``(the encoder's state dict, the epochs' mean losses)``, alike on
    every rank. The configuration's net is built as for one process, with
    :class:`DataParallelModule` as its training module, this rank's share of every global
    batch, and its gradients averaged; the progress bar is rank 0's alone.

    ``labels`` (:class:`~sktnce._labels.Labels`, a target-aware configuration's) travel
    with the rows. The cross-entropy term of a batch is its labelled rows' sum over all
    its rows, so each rank's term over its share, averaged over the ranks, is the global
    batch's; the supervised contrastive term, which contrasts rows of every rank, is
    refused before training."""
    rank, world_size = rank_and_world_size()
    config = dataclasses.replace(config, training_module=DataParallelModule,
                                 verbose=config.verbose if rank == 0 else 0)
    supervised = config.supervision is not None
    net = build_fusion_net(config, widths, setting, seeds,
                           scales=reconstruction_units(config, encoded, widths),
                           reference=bins_reference(config, encoded, None),
                           n_classes=labels.n_classes if supervised else 0,
                           callbacks=[("average_gradients", AverageGradients())])
    net.set_params(iterator_train__rank=rank, iterator_train__world_size=world_size)
    losses = fit_net(net, encoded, on_interrupt="raise",
                     labels=labels.codes if supervised else None)
    # Each rank's loss is its anchors' share: the whole batch's loss is their mean.
    return net.module_.encoder.state_dict(), mean_over_ranks(losses)
