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

__all__ = ["all_ranks", "average_gradients", "broadcast_from_first", "check_equal_shares",
           "first_row", "gather_rows", "mean_over_ranks", "rank_and_world_size"]


def rank_and_world_size(group=None):
    """``(rank, world size)`` in ``group`` (None: the default group); ``(0, 1)`` without
    an initialised process group."""
    if not (dist.is_available() and dist.is_initialized()):
        return 0, 1
    return dist.get_rank(group), dist.get_world_size(group)


def _on_backend(tensor, group):
    """``tensor`` where the group's backend takes it: NCCL only takes CUDA tensors."""
    return tensor.cuda() if dist.get_backend(group) == dist.Backend.NCCL else tensor


def check_equal_shares(n_rows, group=None):
    """Raise ValueError, on every rank alike, unless every rank holds ``n_rows`` rows.

    gloo's all_gather waits forever for a tensor of another size, and a batch padded with
    repeated rows would contrast rows with copies of themselves (false negatives): the
    shares are checked instead, with one small all_gather of their sizes.
    """
    sizes = [int(size) for size, in all_ranks([n_rows], group)]
    if len(set(sizes)) > 1:
        raise ValueError(f"Every process must hold the same number of rows of a batch; they "
                         f"hold {sizes} (rank by rank).")


def all_ranks(values, group=None):
    """Every rank's list of floats (equally long on every rank), in rank order: what each
    rank decides from them, it decides alike."""
    _, world_size = rank_and_world_size(group)
    if world_size == 1:
        return [list(values)]
    mine = _on_backend(torch.tensor(values, dtype=torch.float64), group)
    gathered = [torch.empty_like(mine) for _ in range(world_size)]
    dist.all_gather(gathered, mine, group=group)
    return [part.tolist() for part in gathered]


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


def average_gradients(parameters, group=None):
    """Replace every parameter's gradient by its mean over the ranks, in one all_reduce.

    A parameter that no rank's loss reached keeps no gradient (Adam then leaves it alone, as
    in one process); one that some rank's loss reached gets zeros where it had none, then
    the mean. Returns whether every averaged gradient is finite, alike on every rank.
    """
    parameters = list(parameters)
    _, world_size = rank_and_world_size(group)
    if world_size == 1 or not parameters:
        return all(bool(torch.isfinite(p.grad).all()) for p in parameters
                   if p.grad is not None)
    device = parameters[0].device
    reached = _on_backend(torch.tensor([p.grad is not None for p in parameters],
                                       dtype=torch.int32, device=device), group)
    dist.all_reduce(reached, group=group)
    averaged = [p for p, n in zip(parameters, reached.tolist()) if n > 0]
    for p in averaged:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    flat = _on_backend(torch.cat([p.grad.reshape(-1) for p in averaged]), group)
    dist.all_reduce(flat, group=group)
    flat /= world_size
    for p, part in zip(averaged, torch.split(flat, [p.numel() for p in averaged])):
        p.grad.copy_(part.view_as(p.grad))
    return bool(torch.isfinite(flat).all())


def mean_over_ranks(values, group=None):
    """The mean over the ranks of a list of floats (equally long on every rank), as a list."""
    every = all_ranks(values, group)
    return [sum(column) / len(every) for column in zip(*every)]


def broadcast_from_first(make, group=None):
    """``make()`` called on rank 0 alone, its result handed to every rank (pickled).

    An exception on rank 0 is raised on every rank, so that none waits for what never comes:
    rank 0 raises its own, the others a RuntimeError naming it.
    """
    rank, world_size = rank_and_world_size(group)
    if world_size == 1:
        return make()
    box = [None, None]
    if rank == 0:
        try:
            box[0] = make()
        except Exception as error:
            box[1] = f"{type(error).__name__}: {error}"
            dist.broadcast_object_list(box, src=0, group=group)
            raise
    dist.broadcast_object_list(box, src=0, group=group)
    if box[1] is not None:
        raise RuntimeError(f"Rank 0 failed, so this rank stops too: {box[1]}")
    return box[0]
