import types

import numpy as np
import pytest
import torch

from sktnce._skorch import SliceBatchIterator, StopOnNonFiniteLoss


class _Dataset:
    def __init__(self, n):
        self.X, self.n = {"x": torch.arange(n).view(n, 1)}, n

    def __len__(self):
        return self.n


def _iterator(n, batch_size, shuffle=True, seed=0):
    return SliceBatchIterator(_Dataset(n), batch_size, shuffle=shuffle, seed=seed)


@pytest.mark.parametrize("n, batch_size", [(10, 3), (9, 4), (2, 256), (257, 256), (7, 2)])
def test_every_row_once_and_no_batch_of_one(n, batch_size):
    batches = [xi["x"].view(-1).tolist() for xi, yi in _iterator(n, batch_size)]
    assert sorted(sum(batches, [])) == list(range(n))
    assert min(len(b) for b in batches) >= 2
    assert len(batches) == len(_iterator(n, batch_size))


def test_reshuffles_every_pass_reproducibly():
    first, second = _iterator(20, 5, seed=1), _iterator(20, 5, seed=1)
    epoch1 = [xi["x"].view(-1).tolist() for xi, _ in first]
    epoch2 = [xi["x"].view(-1).tolist() for xi, _ in first]
    assert epoch1 != epoch2
    assert epoch1 == [xi["x"].view(-1).tolist() for xi, _ in second]
    ordered = [xi["x"].view(-1).tolist() for xi, _ in _iterator(6, 3, shuffle=False)]
    assert ordered == [[0, 1, 2], [3, 4, 5]]


def test_non_finite_loss_stops_with_a_remedy():
    net = types.SimpleNamespace(history=[{}, {}])
    callback = StopOnNonFiniteLoss()
    callback.on_batch_end(net, loss=torch.tensor(1.0))
    with pytest.raises(FloatingPointError, match="nan in epoch 2.*lower lr.*temperature"):
        callback.on_batch_end(net, loss=torch.tensor(float("nan")))


@pytest.mark.parametrize("shuffle", [False, True])
def test_slice_iterator_over_some_rows_equals_one_over_those_rows_copied(shuffle):
    from skorch.dataset import Dataset

    x = torch.arange(30.0).reshape(15, 2)
    rows = np.array([0, 2, 3, 7, 8, 9, 11, 14])
    in_place = SliceBatchIterator(Dataset({"x": x}), batch_size=3, shuffle=shuffle, seed=4,
                                  rows=rows)
    copied = SliceBatchIterator(Dataset({"x": x[rows]}), batch_size=3, shuffle=shuffle, seed=4)
    assert len(in_place) == len(copied) == 3
    for _ in range(2):  # two passes: the shuffles go on alike
        for (a, _), (b, _) in zip(in_place, copied, strict=True):
            assert torch.equal(a["x"], b["x"])


@pytest.mark.parametrize("n, batch_size", [(20, 6), (21, 8), (9, 4), (7, 256)])
def test_each_rank_takes_an_equal_share_of_the_same_global_batches(n, batch_size):
    world_size = 2
    order = next(iter(_iterator(n, n, seed=3)))[0]["x"].view(-1).tolist()  # one epoch's
    ranks = [SliceBatchIterator(_Dataset(n), batch_size, shuffle=True, seed=3, rank=rank,
                                world_size=world_size) for rank in range(world_size)]
    assert len(ranks[0]) == len(ranks[1])
    start = 0
    for shares in zip(*([xi["x"].view(-1).tolist() for xi, _ in it] for it in ranks),
                      strict=True):
        stop = min(start + batch_size, n)
        if n - stop < 2 * world_size:  # the last batch, or one merged into it
            stop = n
        share = (stop - start) // world_size
        assert len(shares[0]) == len(shares[1]) == share >= 2
        assert shares[0] + shares[1] == order[start:start + 2 * share]
        start = stop
    assert start == n


def test_too_few_rows_for_the_processes_or_a_bad_rank_is_an_error():
    with pytest.raises(ValueError, match="4 processes need at least 8 rows"):
        SliceBatchIterator(_Dataset(7), 4, rank=0, world_size=4)
    with pytest.raises(ValueError, match=r"rank in \[0, 2\)"):
        SliceBatchIterator(_Dataset(8), 4, rank=2, world_size=2)
