"""The collectives of data-parallel training on 2 CPU processes (gloo), against one process
on the whole batch. One spawn runs every check, so that the suite pays for it once."""

import pytest
import torch
import torch.multiprocessing as mp
from torch import distributed as dist

from sktnce._distributed import (
    all_ranks,
    average_gradients,
    broadcast_from_first,
    check_equal_shares,
    first_row,
    gather_rows,
    mean_over_ranks,
    rank_and_world_size,
)
from sktnce._data_parallel import DataParallelModule
from sktnce._loss import training_loss, tuple_infonce_loss
from sktnce._network import Architecture, TupleInfoNCEModule

from .ranks import WORLD_SIZE, run_ranks

ROWS, WIDTH = 4, 3
ALPHA, TEMPERATURE = [0.5, 0.3, 0.2], 0.2


def _unit(gen, *shape):
    return torch.nn.functional.normalize(torch.randn(*shape, generator=gen), dim=-1)


def _batch():
    """The global batch every rank draws alike: anchors, positives, disturbed tuples and
    their mask."""
    gen = torch.Generator().manual_seed(0)
    n = WORLD_SIZE * ROWS
    return (_unit(gen, n, WIDTH), _unit(gen, n, WIDTH), _unit(gen, 2, 2, n, WIDTH),
            torch.rand(2, 2, n, generator=gen) > 0.2)


def _contrast(anchor, positive, disturbed, mask, start):
    """This rank's share of the global mean loss (the share's mean over the world size),
    positives gathered, and the leaves whose gradients the test compares."""
    leaves = [t.clone().requires_grad_() for t in (anchor, positive, disturbed)]
    anchor, positive, disturbed = leaves
    loss = tuple_infonce_loss(anchor, gather_rows(positive), disturbed, ALPHA, TEMPERATURE,
                              disturbed_mask=mask, first_row=start)
    return loss, leaves


def _table():
    """A global batch of 2 modalities (widths 3 and 2), some absent, and an encoder."""
    gen = torch.Generator().manual_seed(1)
    n = WORLD_SIZE * ROWS
    x = torch.randn(n, 5, generator=gen)
    missing = torch.zeros(n, 2, dtype=torch.bool)
    missing[[1, 6], 0] = True
    missing[[2], 1] = True
    torch.manual_seed(0)
    encoder = Architecture((3, 2), embedding_dim=4, hidden_dim=8, n_layers=1, n_components=4,
                           projection_dim=4, reconstruct=False, n_classes=0).build()
    return x, missing, encoder


def _training_step(module_type, x, missing, encoder, disturbed=(0, 1)):
    """The loss of one batch through ``module_type`` (no corruption, noise or dropout, so
    that one process and several see the same views) and the encoder's gradients."""
    module = module_type(encoder, corruption=(0.0, 0.0), disturbed_modalities=disturbed,
                         n_derangements=2, modality_dropout=0.0, noise=0.0, seed=3)
    loss = training_loss(module(x, missing), torch.tensor(ALPHA), TEMPERATURE)
    loss.backward()
    return loss.detach(), [p.grad.clone() for p in encoder.parameters()]


def _worker(rank, init_file, out):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank,
                            world_size=WORLD_SIZE)
    try:
        torch.manual_seed(0)
        results = {"rank_and_world_size": rank_and_world_size()}
        # The gather's gradient: each rank weighs every gathered row differently.
        x = torch.full((ROWS, WIDTH), float(rank + 1), requires_grad=True)
        weights = torch.arange(WORLD_SIZE * ROWS * WIDTH, dtype=torch.float32).view(-1, WIDTH)
        (gather_rows(x) * weights * (rank + 1)).sum().backward()
        results["gathered"] = gather_rows(x.detach())
        results["gather_grad"] = x.grad
        # The loss of this rank's anchors against every rank's positives.
        anchor, positive, disturbed, mask = _batch()
        mine = slice(first_row(ROWS), first_row(ROWS) + ROWS)
        loss, leaves = _contrast(anchor[mine], positive[mine], disturbed[:, :, mine],
                                 mask[:, :, mine], first_row(ROWS))
        (loss / WORLD_SIZE).backward()
        results["loss"] = loss.detach()
        results["grads"] = [leaf.grad for leaf in leaves]
        # The training module's loss and gradients: each rank's share of the global batch,
        # its encoder's gradients averaged over the ranks as DistributedDataParallel does.
        x, missing, encoder = _table()
        results["module_loss"], _ = _training_step(DataParallelModule, x[mine], missing[mine],
                                                   encoder)
        results["finite"] = average_gradients(encoder.parameters())
        results["module_grads"] = [p.grad for p in encoder.parameters()]
        # A gradient that one rank's loss reached, and one that none did.
        reached, unreached = torch.zeros(2, requires_grad=True), torch.zeros(2,
                                                                             requires_grad=True)
        if rank == 0:
            reached.grad = torch.ones(2)
        average_gradients([reached, unreached])
        results["reached"], results["unreached"] = reached.grad, unreached.grad
        results["mean"] = mean_over_ranks([float(rank), 2.0 * rank])
        results["all_ranks"] = all_ranks([float(rank)])
        results["broadcast"] = broadcast_from_first(lambda: {"made on": rank})
        try:
            broadcast_from_first(_fail_on_rank_0)
        except (RuntimeError, ValueError) as error:
            results["broadcast_error"] = f"{type(error).__name__}: {error}"
        # Unequal shares: an error on every rank, not a hang.
        try:
            check_equal_shares(ROWS + rank)
        except ValueError as error:
            results["unequal"] = str(error)
        torch.save(results, f"{out}/{rank}.pt")
    finally:
        dist.destroy_process_group()


def _fail_on_rank_0():
    raise ValueError("a bad table")


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp("ranks")
    run_ranks(_worker, str(out / "init"), str(out))
    return [torch.load(out / f"{rank}.pt") for rank in range(WORLD_SIZE)]


def _failing_worker(rank, init_file):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank,
                            world_size=WORLD_SIZE)
    if rank == 1:
        raise RuntimeError("rank 1 failed")
    gather_rows(torch.ones(2, 2))  # rank 0 waits on rank 1 here


def test_a_rank_that_raises_surfaces_in_the_caller_without_a_hang(tmp_path):
    with pytest.raises(mp.ProcessRaisedException, match="rank 1 failed"):
        run_ranks(_failing_worker, str(tmp_path / "init"))


def test_one_process_is_the_identity():
    x = torch.ones(3, 2)
    assert rank_and_world_size() == (0, 1)
    assert gather_rows(x) is x
    assert first_row(3) == 0
    check_equal_shares(3)
    assert mean_over_ranks([1.0, 2.0]) == [1.0, 2.0]
    assert broadcast_from_first(lambda: "made") == "made"
    weight = torch.zeros(2, requires_grad=True)
    weight.grad = torch.tensor([1.0, float("nan")])
    assert average_gradients([weight]) is False


def test_the_gather_returns_every_rank_in_order_and_sums_the_gradients(ranks):
    assert [r["rank_and_world_size"] for r in ranks] == [(0, 2), (1, 2)]
    expected = torch.cat([torch.full((ROWS, WIDTH), float(r + 1)) for r in range(WORLD_SIZE)])
    for r in ranks:
        assert torch.equal(r["gathered"], expected)
    weights = torch.arange(WORLD_SIZE * ROWS * WIDTH, dtype=torch.float32).view(-1, WIDTH)
    summed = weights * sum(rank + 1 for rank in range(WORLD_SIZE))  # every rank's loss
    for rank, r in enumerate(ranks):
        assert torch.equal(r["gather_grad"], summed[rank * ROWS:(rank + 1) * ROWS])


def test_loss_and_gradients_on_two_ranks_equal_one_process_on_the_whole_batch(ranks):
    anchor, positive, disturbed, mask = _batch()
    loss, leaves = _contrast(anchor, positive, disturbed, mask, 0)
    loss.backward()
    whole = [leaf.grad for leaf in leaves]
    mean = sum(r["loss"] for r in ranks) / WORLD_SIZE
    torch.testing.assert_close(mean, loss.detach())
    for position, dim in enumerate((0, 0, 2)):  # anchor, positive, disturbed rows
        shares = torch.cat([r["grads"][position] for r in ranks], dim=dim)
        torch.testing.assert_close(shares, whole[position])


def test_a_gradient_some_rank_reached_is_averaged_and_one_none_reached_stays_none(ranks):
    for r in ranks:
        assert r["finite"] is True
        torch.testing.assert_close(r["reached"], torch.full((2,), 0.5))
        assert r["unreached"] is None


def test_means_gathers_and_broadcasts_agree_on_every_rank(ranks):
    for r in ranks:
        assert r["mean"] == [0.5, 1.0]
        assert r["all_ranks"] == [[0.0], [1.0]]
        assert r["broadcast"] == {"made on": 0}
    assert ranks[0]["broadcast_error"] == "ValueError: a bad table"
    assert ranks[1]["broadcast_error"] == ("RuntimeError: Rank 0 failed, so this rank stops "
                                           "too: ValueError: a bad table")


def test_unequal_shares_are_an_error_on_every_rank(ranks):
    for r in ranks:
        assert "[4, 5]" in r["unequal"] and "same number of rows" in r["unequal"]


def test_a_share_of_anchors_has_the_whole_batchs_losses():
    anchor, positive, disturbed, mask = _batch()
    whole = tuple_infonce_loss(anchor, positive, disturbed, ALPHA, TEMPERATURE,
                               disturbed_mask=mask, reduction="none")
    share = tuple_infonce_loss(anchor[2:5], positive, disturbed[:, :, 2:5], ALPHA,
                               TEMPERATURE, disturbed_mask=mask[:, :, 2:5], reduction="none",
                               first_row=2)
    torch.testing.assert_close(share, whole[2:5])
    with pytest.raises(ValueError, match="must be rows of positive, which has 8"):
        tuple_infonce_loss(anchor[2:5], positive, disturbed[:, :, 2:5], ALPHA, TEMPERATURE,
                           first_row=6)


def test_the_training_module_on_two_ranks_is_one_process_on_the_whole_batch(ranks):
    loss, grads = _training_step(TupleInfoNCEModule, *_table())
    torch.testing.assert_close(sum(r["module_loss"] for r in ranks) / WORLD_SIZE, loss)
    for r in ranks:
        for shared, whole in zip(r["module_grads"], grads, strict=True):
            torch.testing.assert_close(shared, whole)


def test_data_parallel_training_refuses_partial_tuple_batches():
    _, _, encoder = _table()
    with pytest.raises(ValueError, match="partial_share=0"):
        DataParallelModule(encoder, corruption=(0.0, 0.0), disturbed_modalities=(0,),
                           n_derangements=1, modality_dropout=0.0, noise=0.0, seed=0,
                           partial_share=0.5)
