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
