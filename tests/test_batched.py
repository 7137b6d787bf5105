"""A round's candidates trained as one stacked model give what training them one by one gives."""

import numpy as np
import pytest
import torch
from sklearn.preprocessing import StandardScaler

from sktnce import TupleInfoNCEFusion, TupleInfoNCESearch
from sktnce._batched import CandidateBatchModule, can_batch
from sktnce._candidates import CandidateRound, _train_candidate, train_stacked_candidates
from sktnce._modalities import EncodedTable
from sktnce._search import _initialized
from sktnce._setting import resolve_setting
from sktnce._training import TrainingConfig
from sktnce.datasets import make_multimodal_classification

from .conftest import FAST

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device"))]


def _table(n_samples=300):
    X, _, columns = make_multimodal_classification(n_samples=n_samples, random_state=0)
    X[:40, columns["weak"]] = np.nan  # rows without a modality take its absent embedding
    modalities = [(name, StandardScaler(), cols) for name, cols in columns.items()]
    return X, list(columns), modalities


def _warm_start(X, modalities, names, **params):
    """An initialised estimator trained one epoch, so that its Adam state is not empty;
    and the table encoded."""
    template = TupleInfoNCEFusion(**{**FAST, "modalities": modalities, **params})
    setting = resolve_setting("uniform", 0.3, names)
    start, encoded = _initialized(template, modalities, X, setting, random_state=0)
    return _train_candidate(start, setting, CandidateRound(encoded, None, 1, 5)), encoded


def _settings(names):
    return [resolve_setting(alpha, corruption, names) for alpha, corruption in [
        (np.array([0.1, 0.2, 0.3, 0.4]), dict(zip(names, [0.1, 0.5, 0.3]))),
        (np.array([0.4, 0.3, 0.2, 0.1]), dict(zip(names, [0.6, 0.2, 0.05]))),
        (np.full(4, 0.25), dict.fromkeys(names, 0.3)),
    ]]


def _assert_same_candidate(one_by_one, batched, X):
    expected = one_by_one.net_.module_.encoder.state_dict()
    found = batched.net_.module_.encoder.state_dict()
    for name in expected:
        torch.testing.assert_close(found[name], expected[name], atol=1e-5, rtol=1e-4)
    expected_adam = one_by_one.net_.optimizer_.state_dict()["state"]
    found_adam = batched.net_.optimizer_.state_dict()["state"]
    assert found_adam.keys() == expected_adam.keys()
    for index in expected_adam:
        for key in ("step", "exp_avg", "exp_avg_sq"):
            # Adam may keep its step count on the CPU or on the parameters' device.
            torch.testing.assert_close(found_adam[index][key], expected_adam[index][key],
                                       atol=1e-6, rtol=1e-4, check_device=False)
    np.testing.assert_allclose(batched.loss_curve_, one_by_one.loss_curve_, rtol=1e-5)
    assert batched.n_iter_ == one_by_one.n_iter_
    # Exact: both candidates hold the same resolved Setting object; nothing recomputes it.
    assert batched.alpha_ == one_by_one.alpha_ and batched.corruption_ == one_by_one.corruption_
    np.testing.assert_allclose(batched.transform(X), one_by_one.transform(X), atol=1e-5)
    # The same evaluation seed: the same candidate sets and query augmentations.
    for a, b in zip(batched._cross_modal_scores(X), one_by_one._cross_modal_scores(X)):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("params", [
    {},
    {"partial_share": 0.5, "noise": 0.05, "n_derangements": 2},
    {"lr_schedule": "one_cycle", "lr": 0.005},
    {"reconstruction": 0.0},
])
def test_batched_round_equals_training_candidates_one_by_one(params, device):
    X, names, modalities = _table()
    start, encoded = _warm_start(X, modalities, names, device=device, **params)
    settings = _settings(names)
    assert can_batch(TrainingConfig.from_estimator(start), settings)
    round_ = CandidateRound(encoded, None, 2, 7)
    one_by_one = [_train_candidate(start, setting, round_) for setting in settings]
    batched = train_stacked_candidates(start, settings, round_)
    for expected, found in zip(one_by_one, batched):
        _assert_same_candidate(expected, found, X)
    # Training on some rows of a larger table's tensors, read in place, is training on them.
    rows = np.arange(0, len(X), 2)
    copied = EncodedTable(encoded.features[rows], encoded.missing[rows])
    on_rows = [_train_candidate(start, setting, CandidateRound(copied, None, 1, 8))
               for setting in settings[:2]]
    in_place = train_stacked_candidates(start, settings[:2], CandidateRound(encoded, rows, 1, 8))
    for expected, found in zip(on_rows, in_place):
        _assert_same_candidate(expected, found, X)
    # The candidates really differ: each kept its own setting.
    assert not np.allclose(batched[0].transform(X), batched[1].transform(X))
    # The start is untouched, and each candidate warm-starts again on its own.
    assert start.n_iter_ == 1
    again = batched[0].set_params(max_epochs=1).fit(X)
    assert again.n_iter_ == 4


def test_settings_that_cannot_share_a_batch_are_told_apart():
    X, names, modalities = _table(120)
    start, _ = _warm_start(X, modalities, names)
    config = TrainingConfig.from_estimator(start)
    rates = dict.fromkeys(names, 0.3)
    uniform = resolve_setting(np.full(4, 0.25), rates, names)
    assert can_batch(config, [uniform, resolve_setting([1, 2, 3, 4], 0.5, names)])
    # A zero weight drops a modality's disturbed negatives for one candidate only.
    assert not can_batch(config, [uniform, resolve_setting([1, 0, 1, 1], rates, names)])
    # A zero rate draws no corruption for one candidate only.
    assert not can_batch(config, [uniform, resolve_setting(
        np.full(4, 0.25), {**rates, names[0]: 0.0}, names)])
    with pytest.raises(ValueError, match="rate is 0 for some candidates"):
        CandidateBatchModule([start.net_.module_.encoder] * 2, corruption=[[0.3] * 3, [0, .3, .3]],
                             disturbed_modalities=[0, 1, 2], n_derangements=1,
                             modality_dropout=0.1, noise=0.0, seed=0)

    class Subclass(TupleInfoNCEFusion):
        _training_module = type("OwnModule", (start._training_module,), {})

    own = Subclass(**{**FAST, "modalities": modalities})
    assert not can_batch(TrainingConfig.from_estimator(own), [uniform] * 2)


@pytest.mark.parametrize("device", DEVICES)
def test_the_search_batched_or_not_finds_the_same_setting(device):
    X, _, modalities = _table(200)
    fusion = TupleInfoNCEFusion(**{**FAST, "modalities": modalities, "score_chunk_size": 16,
                                   "device": device})

    def search(batch_candidates):
        return TupleInfoNCESearch(fusion, n_candidates=3, n_rounds=2, epochs_per_round=1,
                                  search=("alpha", "corruption"),
                                  batch_candidates=batch_candidates, random_state=0).fit(X)

    batched, one_by_one = search(True), search(False)
    for key in ("reward", "rankme", "accuracy_weak", "log_prob_strong"):
        np.testing.assert_allclose(batched.search_results_[key],
                                   one_by_one.search_results_[key], rtol=1e-4, atol=1e-5)
    assert batched.history_["best_candidate"] == one_by_one.history_["best_candidate"]
    assert batched.alpha_ == pytest.approx(one_by_one.alpha_, abs=1e-6)
    np.testing.assert_allclose(batched.transform(X), one_by_one.transform(X), atol=1e-5)
