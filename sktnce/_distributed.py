"""The collectives of data-parallel training, in one place and tested alone.

Each process (rank) holds an equal share of a global batch. The contrast needs every rank's
rows as candidates, so their projections are gathered, and the gradient of a gathered row
must flow back to the rank that produced it, summed over every rank whose loss used it.
Known silent failures of public contrastive code are ruled out here: a gather whose backward
keeps only the local gradient (``torch.distributed.all_gather`` has none at all) or passes
on a wrong one, shares of unequal size (gloo waits forever on them), and losses computed
whole on every rank (the gradient then counts each row ``world_size`` times): each rank computes the
losses of its own anchors only (``first_row`` of :func:`~sktnce._loss.tuple_infonce_loss`).
Without an initialised process group every function is the identity of one process.
"""

import torch
from torch import distributed as dist

__all__ = ["check_equal_shares", "first_row", "gather_rows", "rank_and_world_size"]


def rank_and_world_size(group=None):
    """``(rank, world size)`` in ``group`` (None: the default group); ``(0, 1)`` without
    an initialised process group."""
    if not (dist.is_available() and dist.is_initialized()):
        return 0, 1
    return dist.get_rank(group), dist.get_world_size(group)


def check_equal_shares(n_rows, group=None):
    """Raise ValueError, on every rank alike, unless every rank holds ``n_rows`` rows.

    gloo's all_gather waits forever for a tensor of another size, and a batch padded with
    repeated rows would contrast rows with copies of themselves (false negatives): the
    shares are checked instead, with one small all_gather of their sizes.
    """
    _, world_size = rank_and_world_size(group)
    if world_size == 1:
        return
    mine = torch.tensor([n_rows], dtype=torch.int64)
    if dist.get_backend(group) == dist.Backend.NCCL:
        mine = mine.cuda()
    sizes = [torch.empty_like(mine) for _ in range(world_size)]
    dist.all_gather(sizes, mine, group=group)
    sizes = [int(size) for size in sizes]
    if len(set(sizes)) > 1:
        raise ValueError(f"Every process must hold the same number of rows of a batch; they "
                         f"hold {sizes} (rank by rank).")


class _GatherRows(torch.autograd.Function):
    """All ranks' rows in rank order; backward: the sum over ranks of the gradient of this
    rank's rows, by an all_reduce of a contiguous copy. Not torch's own
    ``torch.distributed.nn.functional.all_gather`` (deprecated in torch 2.13): under gloo,
    its all_to_all backward gave the training module's embeddings wrong gradients in every
    row of a share but the first, silently (tests/test_distributed.py's module test fails
    with it); it hands all_to_all the gradient as autograd gives it, likely strided."""

    @staticmethod
    def forward(ctx, tensor, group):
        ctx.group = group
        parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size(group))]
        dist.all_gather(parts, tensor.contiguous(), group=group)
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad):
        # A copy: all_reduce works in place, and autograd may hand the same buffer on.
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, group=ctx.group)
        rank, world_size = dist.get_rank(ctx.group), dist.get_world_size(ctx.group)
        share = grad.shape[0] // world_size
        return grad[rank * share:(rank + 1) * share], None


def gather_rows(tensor, group=None):
    """Every rank's ``tensor`` (equal shapes), concatenated along the first dimension in
    rank order, with gradients: the backward of a gathered row sums what every rank's loss
    sends it, on the rank that produced the row. One process: ``tensor`` itself."""
    _, world_size = rank_and_world_size(group)
    if world_size == 1:
        return tensor
    return _GatherRows.apply(tensor, group)


def first_row(n_rows, group=None):
    """The row of the gathered batch where this rank's ``n_rows`` rows begin."""
    rank, _ = rank_and_world_size(group)
    return rank * n_rows
