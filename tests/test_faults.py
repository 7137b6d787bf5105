"""Faults during training: a diverging loss, an interrupted fit, a failing search candidate."""

import numpy as np
import pytest
import torch

from sktnce import TupleInfoNCEFusion, TupleInfoNCESearch
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
    # The same seeds give the same first two epochs (a constant lr: max_epochs does not
    # change them): the kept weights are exactly those.
    assert np.array_equal(est.transform(X), reference.transform(X))


@pytest.mark.parametrize("temperature", [0.1, 1e-44], ids=["completed", "diverged"])
def test_search_gives_back_the_callers_torch_threads(data, modalities, temperature):
    """Candidates train with one torch thread, here in the caller's process (n_jobs=None);
    the caller's thread count must come back, also when a candidate's training fails."""
    X, _, _ = data
    fusion = TupleInfoNCEFusion(modalities=modalities, **FAST, temperature=temperature)
    search = TupleInfoNCESearch(fusion, n_candidates=2, n_rounds=1, epochs_per_round=1,
                                random_state=0)
    previous = torch.get_num_threads()
    torch.set_num_threads(3)  # not the candidates' single thread
    try:
        if temperature > 1e-30:
            search.fit(X)
        else:  # the logits overflow: the first candidate's training raises
            with pytest.raises(FloatingPointError, match="loss became nan"):
                search.fit(X)
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(previous)
