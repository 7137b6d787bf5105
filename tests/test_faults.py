"""Faults during training: a diverging loss, an interrupted fit, parallel workers."""

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV

from sktnce import TupleInfoNCEFusion
from sktnce._skorch import StopOnNonFiniteLoss

from .conftest import FAST


def test_diverging_loss_stops_with_a_remedy(data, modalities):
    X, _, _ = data
    # A temperature this small overflows the logits to inf, and the loss to NaN.
    est = TupleInfoNCEFusion(modalities=modalities, **{**FAST, "max_epochs": 3},
                             temperature=1e-44)
    with pytest.raises(FloatingPointError, match="loss became nan.*lower lr.*temperature"):
        est.fit(X)
    assert not hasattr(est, "net_")


def test_interrupted_fit_keeps_the_last_complete_epoch(data, modalities, monkeypatch):
    X, _, _ = data
    reference = TupleInfoNCEFusion(modalities=modalities, **{**FAST, "max_epochs": 2}).fit(X)

    def interrupt_in_third_epoch(self, net, batch=None, training=None, loss=None, **kwargs):
        if len(net.history) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(StopOnNonFiniteLoss, "on_batch_end", interrupt_in_third_epoch)
    est = TupleInfoNCEFusion(modalities=modalities, **{**FAST, "max_epochs": 5})
    with pytest.warns(UserWarning, match="interrupted after 2 of 5 epochs"):
        est.fit(X)
    assert est.n_iter_ == 2 and len(est.loss_curve_) == 2
    # The same seeds give the same first two epochs: the kept weights are exactly those.
    assert np.array_equal(est.transform(X), reference.transform(X))


def _torch_threads(estimator, X, y=None):
    return float(torch.get_num_threads())


def test_parallel_grid_search_does_not_oversubscribe_threads(data, modalities):
    X, _, _ = data
    grid = GridSearchCV(TupleInfoNCEFusion(modalities=modalities, **FAST),
                        {"temperature": [0.1, 0.2]}, cv=2, n_jobs=2,
                        scoring=_torch_threads).fit(X)
    # Each of the 2 workers gets at most its share of the machine's cores.
    share = max(1, (torch.get_num_threads() or 1) // 2)
    assert grid.cv_results_["mean_test_score"].max() <= share
