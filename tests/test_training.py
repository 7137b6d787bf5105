"""The torch side of a fit: its configuration, the reconstruction units, interruptions."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktnce import TupleInfoNCEFusion
from sktnce._modalities import EncodedTable, Preprocessing
from sktnce._setting import FitSeeds, resolve_setting
from sktnce._skorch import StopOnNonFiniteLoss
from sktnce._training import TrainingConfig, block_scales, build_fusion_net, fit_net, train
from sktnce.datasets import make_multimodal_classification

from .conftest import FAST


def test_reconstruction_units_follow_the_training_rows_and_large_blocks():
    X, _, columns = make_multimodal_classification(n_samples=300, random_state=0)
    X[:40, columns["weak"]] = np.nan
    X[:, columns["strong"]] *= 1e30  # a block left on an absurd scale
    modalities = [("strong", "passthrough", columns["strong"]),
                  ("medium", StandardScaler(), columns["medium"]),
                  ("weak", make_pipeline(StandardScaler()), columns["weak"])]
    fusion = TupleInfoNCEFusion(modalities=modalities, **FAST)
    with pytest.warns(UserWarning, match="scaler"):
        preprocessing, encoded = Preprocessing.fit(modalities, X, "cpu")
    features, missing = encoded
    widths = preprocessing.widths
    scales = block_scales(encoded, widths)
    assert scales[0] == pytest.approx(1e30 * np.sqrt(np.var(X[:, columns["strong"]] / 1e30,
                                                            axis=0).mean()), rel=1e-5)
    assert scales[1:] == pytest.approx([1.0, 1.0])  # standardised blocks keep their scale
    rows = np.arange(0, 300, 3)
    torch.testing.assert_close(
        torch.tensor(block_scales(encoded, widths, rows)),
        torch.tensor(block_scales(EncodedTable(features[rows], missing[rows]), widths)))
    # The term's switch is decided once, from the parameter.
    assert TrainingConfig.from_estimator(fusion).reconstructs
    assert not TrainingConfig.from_estimator(fusion.set_params(reconstruction=0.0)).reconstructs


def _interrupt_in_second_epoch(self, net, batch=None, training=None, loss=None, **kwargs):
    if len(net.history) == 2:
        raise KeyboardInterrupt


@pytest.mark.parametrize("on_interrupt", ["warn", "raise"])
def test_an_interrupted_fit_rolls_back_to_its_last_complete_epoch(data, modalities,
                                                                   monkeypatch, on_interrupt):
    X, _, _ = data
    fusion = TupleInfoNCEFusion(modalities=modalities, **{**FAST, "max_epochs": 3})
    config = TrainingConfig.from_estimator(fusion)
    preprocessing, encoded = Preprocessing.fit(modalities, X, "cpu")
    setting = resolve_setting("uniform", 0.3, preprocessing.names)
    seeds = FitSeeds.draw(0)
    one_epoch = train(config, encoded, setting, seeds, widths=preprocessing.widths,
                      max_epochs=1)
    monkeypatch.setattr(StopOnNonFiniteLoss, "on_batch_end", _interrupt_in_second_epoch)
    # The reconstruction units train() gives its net too, so that both nets take one path.
    net = build_fusion_net(config, preprocessing.widths, setting, seeds,
                           scales=block_scales(encoded, preprocessing.widths))
    if on_interrupt == "raise":
        with pytest.raises(KeyboardInterrupt, match="after 1 of 3 epochs"):
            fit_net(net, encoded, on_interrupt="raise")
    else:
        with pytest.warns(UserWarning, match="after 1 of 3 epochs"):
            assert len(fit_net(net, encoded, on_interrupt="warn")) == 1
    # Either way the weights are those of the first epoch, exactly (same seeds, same path,
    # and a constant lr, so that max_epochs does not change the first epoch).
    expected = one_epoch.net.module_.encoder.state_dict()
    for name, value in net.module_.encoder.state_dict().items():
        assert torch.equal(value, expected[name]), name
    # The callback dropped its copy of the weights, and never pickles one.
    keeper = dict(net.callbacks_)["last_complete_epoch"]
    assert keeper.state_ is None
    keeper.state_ = {"w": torch.zeros(3)}
    assert pickle.loads(pickle.dumps(keeper)).state_ is None


def test_configuration_is_read_once_from_the_parameters():
    fusion = TupleInfoNCEFusion(**FAST, lr_schedule="one_cycle")
    config = TrainingConfig.from_estimator(fusion)
    assert config.max_epochs == FAST["max_epochs"] and config.lr_schedule == "one_cycle"
    assert config.device == torch.device("cpu")
    fusion.set_params(max_epochs=7)
    assert config.max_epochs == FAST["max_epochs"]  # frozen: a fit's own copy
    with pytest.raises(Exception):
        config.max_epochs = 3
