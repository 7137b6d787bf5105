"""Data-parallel fits (``n_processes``) on 2 CPU processes under gloo: started by the fusion
itself, or as ranks of a process group that exists, against one process on the same
batches."""

import pickle
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from joblib import Parallel, delayed
from sklearn.preprocessing import StandardScaler
from torch import distributed as dist

from sktnce import TupleInfoNCEClassifier, TupleInfoNCEFusion, _launch, load, save
from sktnce.datasets import make_multimodal_classification
from sktnce._modalities import EncodedTable
from sktnce._network import TupleInfoNCEModule

from .ranks import WORLD_SIZE, run_ranks

#: Without corruption or modality dropout, both ranks see the views one process sees.
NO_AUGMENTATION = {"corruption": 0.0, "modality_dropout": 0.0}


def _table(n_samples=128, random_state=0):
    X, _, columns = make_multimodal_classification(n_samples=n_samples,
                                                   random_state=random_state)
    return X, [(name, StandardScaler(), cols) for name, cols in columns.items()]


def _fusion(modalities, **params):
    return TupleInfoNCEFusion(**{"modalities": modalities, "n_components": 4,
                                 "embedding_dim": 8, "hidden_dim": 8, "projection_dim": 8,
                                 "batch_size": 32, "max_epochs": 3, "random_state": 0,
                                 **params})


def _weights(fusion):
    return torch.cat([p.detach().flatten() for p in fusion.net_.module_.encoder.parameters()])


@pytest.fixture(scope="module")
def one_and_two():
    """The same fit (no augmentation) in one process and on 2 local processes."""
    X, modalities = _table()
    return (X, _fusion(modalities, **NO_AUGMENTATION).fit(X),
            _fusion(modalities, **NO_AUGMENTATION, n_processes=2).fit(X))


def test_two_local_processes_train_the_weights_of_one_process(one_and_two):
    _, one, two = one_and_two
    torch.testing.assert_close(_weights(two), _weights(one), rtol=0, atol=1e-4)
    np.testing.assert_allclose(two.loss_curve_, one.loss_curve_, rtol=1e-5)
    assert two.n_iter_ == 3


def test_the_fitted_estimator_needs_no_process_group(one_and_two, tmp_path):
    X, one, two = one_and_two
    assert not dist.is_initialized()
    assert type(two.net_.module_) is TupleInfoNCEModule
    np.testing.assert_allclose(two.transform(X), one.transform(X), atol=1e-3)
    restored = pickle.loads(pickle.dumps(two))
    np.testing.assert_array_equal(restored.transform(X), two.transform(X))
    save(two, tmp_path / "two.skt")
    np.testing.assert_array_equal(load(tmp_path / "two.skt").transform(X), two.transform(X))
    assert 0 <= two.score(X) <= 1


def test_a_classifiers_target_aware_fusion_on_two_processes_is_one_process_fit():
    X, modalities = _table()
    y = np.where(np.arange(len(X)) % 3 == 0, np.arange(len(X)) % 2, -1)
    one, two = (TupleInfoNCEClassifier(_fusion(modalities, **NO_AUGMENTATION, label_weight=1.0,
                                               n_processes=n), random_state=0).fit(X, y)
                for n in (1, 2))
    assert np.array_equal(two.predict(X), one.predict(X))
    one, two = one.fusion_, two.fusion_
    torch.testing.assert_close(_weights(two), _weights(one), rtol=0, atol=1e-4)
    np.testing.assert_allclose(two.loss_curve_, one.loss_curve_, rtol=1e-5)
    assert two.classes_.tolist() == [0, 1]
    assert two.net_.module_.encoder.architecture.n_classes == 2


def test_a_seeded_data_parallel_fit_repeats_bit_for_bit():
    X, modalities = _table(n_samples=64)
    first, second = (_fusion(modalities, n_processes=2, max_epochs=2).fit(X)
                     for _ in range(2))
    assert torch.equal(_weights(first), _weights(second))


def test_a_failing_rank_fails_the_fit_and_leaves_the_estimator_unfitted():
    X, modalities = _table(n_samples=64)
    fusion = _fusion(modalities, n_processes=2, lr=1e30, max_epochs=2)
    with pytest.raises(Exception, match="non-finite"):
        fusion.fit(X)
    assert not hasattr(fusion, "net_")


class _RankEnded(Exception):
    """Raised where a local rank would end its process, so that the test goes on."""


@pytest.mark.parametrize("trains", [True, False])
def test_a_local_rank_ends_without_finalisation_only_after_a_clean_teardown(
        trains, monkeypatch, tmp_path):
    """A rank that trained ends by os._exit, its group destroyed and rank 0's result on disk;
    a rank that raised ends by its exception (torch.multiprocessing reports it), its group
    destroyed too. Run here as the one rank of a group of one."""
    def train(*training):
        if not trains:
            raise RuntimeError("this rank failed")
        return {"weight": torch.ones(2)}, [0.5]

    def end(code):
        ended.append((code, dist.is_initialized()))
        raise _RankEnded

    ended, result = [], tmp_path / "rank0.pt"
    monkeypatch.setattr(_launch, "_train", train)
    monkeypatch.setattr(_launch.os, "_exit", end)
    config = SimpleNamespace(device=torch.device("cpu"))
    with pytest.raises(_RankEnded if trains else RuntimeError):
        _launch._run_rank(0, 1, f"file://{tmp_path / 'rendezvous'}", torch.get_num_threads(),
                          _launch.TIMEOUT, (config, None, None, None, None, None), str(result))
    assert not dist.is_initialized()
    assert ended == ([(0, False)] if trains else [])
    assert result.exists() == trains
    if trains:
        assert torch.load(result)["losses"] == [0.5]


def test_local_ranks_wait_for_each_other_as_long_as_the_timeout_when_they_start(monkeypatch):
    started = []

    def spawn(run_rank, args, nprocs, join):
        started.append(args[3])
        torch.save({"state": {}, "losses": [0.5]}, args[-1])

    monkeypatch.setattr(_launch.mp, "spawn", spawn)
    monkeypatch.setattr(_launch, "TIMEOUT", timedelta(seconds=7))
    training = (None, EncodedTable(torch.zeros(2, 1), torch.zeros(2, 1)), None, None, None,
                None)
    assert _launch._train_on_local_processes(2, training) == ({}, [0.5])
    assert started == [timedelta(seconds=7)]


def _rank_of_a_group(rank, init_file, out):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank,
                            world_size=WORLD_SIZE)
    try:
        X, modalities = _table()
        fusion = _fusion(modalities, **NO_AUGMENTATION, n_processes="process_group").fit(X)
        results = {"weights": _weights(fusion), "loss_curve": fusion.loss_curve_}
        other, _ = _table(random_state=rank)  # rank 1's table is not rank 0's
        try:
            _fusion(modalities, n_processes="process_group").fit(other)
        except ValueError as error:
            results["error"] = str(error)
        y = np.where(np.arange(len(X)) % 3 == 0, np.arange(len(X)) % 2, -1)
        y[0] = rank  # rank 1's labels are not rank 0's
        try:
            _fusion(modalities, label_weight=1.0, n_processes="process_group").fit(X, y)
        except ValueError as error:
            results["label_error"] = str(error)
        torch.save(results, f"{out}/{rank}.pt")
        # Both ranks done before either tears gloo down: a rank that left while the other's
        # last collective was still in flight aborted once ("terminate called without an
        # active exception", SIGABRT at exit).
        dist.barrier()
    finally:
        dist.destroy_process_group()


def test_ranks_of_an_existing_process_group_train_the_weights_of_one_process(one_and_two,
                                                                             tmp_path):
    _, one, _ = one_and_two
    run_ranks(_rank_of_a_group, str(tmp_path / "init"), str(tmp_path))
    ranks = [torch.load(tmp_path / f"{rank}.pt") for rank in range(WORLD_SIZE)]
    for r in ranks:
        torch.testing.assert_close(r["weights"], _weights(one), rtol=0, atol=1e-4)
        np.testing.assert_allclose(r["loss_curve"], one.loss_curve_, rtol=1e-5)
        assert "every process fits on the same whole table" in r["error"]
        assert "with the same labels" in r["label_error"]
    assert torch.equal(ranks[0]["weights"], ranks[1]["weights"])


@pytest.mark.parametrize("params, match", [
    ({"label_weight": 1.0, "label_loss": "supcon"}, "label_loss='cross_entropy' only"),
    ({"partial_share": 0.5}, "set partial_share=0"),
])
def test_what_a_data_parallel_fit_cannot_train_is_refused_before_training(params, match):
    X, modalities = _table(n_samples=16)
    y = np.where(np.arange(16) % 2, 1, 0)
    with pytest.raises(ValueError, match=match):
        _fusion(modalities, n_processes=2, **params).fit(X, y)


def test_continuing_a_fit_on_several_processes_is_refused():
    X, modalities = _table(n_samples=16)
    fusion = _fusion(modalities, max_epochs=1, warm_start=True).fit(X)
    weights = _weights(fusion)
    with pytest.raises(ValueError, match="set warm_start=False to fit anew"):
        fusion.set_params(n_processes=2).fit(X)
    assert torch.equal(_weights(fusion), weights)


def test_too_few_rows_and_a_missing_process_group_are_refused():
    X, modalities = _table(n_samples=16)
    with pytest.raises(ValueError, match="10 processes need at least 20 rows"):
        _fusion(modalities, n_processes=10).fit(X)
    with pytest.raises(ValueError, match="none is initialised here"):
        _fusion(modalities, n_processes="process_group").fit(X)
    with pytest.raises(ValueError, match="n_processes"):
        _fusion(modalities, n_processes=0).fit(X)


def _fit_in_a_worker(X, modalities):
    try:
        _fusion(modalities, n_processes=2).fit(X)
    except RuntimeError as error:
        return str(error)
    return "fitted"


def test_starting_processes_inside_a_joblib_worker_is_refused():
    X, modalities = _table(n_samples=16)
    message, = Parallel(n_jobs=2)(delayed(_fit_in_a_worker)(X, modalities) for _ in range(1))
    assert "cannot do inside a joblib or multiprocessing worker" in message


SCRIPTS = Path(__file__).resolve().parent.parent / "docs" / "distributed"


def test_the_documented_torchrun_script_runs_as_written(tmp_path):
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    subprocess.run([torchrun, "--standalone", "--nproc-per-node", "2",
                    str(SCRIPTS / "fit_torchrun.py"), "fusion.skt"], cwd=tmp_path,
                   check=True, timeout=300, capture_output=True)
    X, _ = _table()
    assert load(tmp_path / "fusion.skt").transform(X).shape == (len(X), 32)
