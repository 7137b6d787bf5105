"""Ray: the search's candidates through Ray's joblib backend, and one fit on Ray Train's
workers, each the same as in one process."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.preprocessing import StandardScaler

from sktnce import TupleInfoNCEFusion, TupleInfoNCESearch, load
from sktnce.datasets import make_multimodal_classification

from .conftest import FAST


# First: the script starts a Ray cluster of its own, which must not find the module's.
def test_the_documented_ray_train_script_runs_as_written(tmp_path):
    pytest.importorskip("ray")
    script = Path(__file__).resolve().parent.parent / "docs" / "distributed" / "fit_ray_train.py"
    subprocess.run([sys.executable, str(script), "fusion.skt"], cwd=tmp_path, check=True,
                   timeout=300, capture_output=True)
    _, X = _fusion_and_table()
    assert load(tmp_path / "fusion.skt").transform(X).shape == (len(X), 32)


@pytest.fixture(scope="module")
def ray_cluster():
    """One local Ray cluster of 2 CPUs for the module's tests: starting one takes seconds."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_search_through_rays_joblib_backend_matches_the_default_backend(ray_cluster):
    from joblib import parallel_config
    from ray.util.joblib import register_ray

    X, _, columns = make_multimodal_classification(n_samples=160, random_state=0)
    modalities = [(name, StandardScaler(), cols) for name, cols in columns.items()]

    def search():
        fusion = TupleInfoNCEFusion(modalities=modalities, score_chunk_size=16, **FAST)
        return TupleInfoNCESearch(fusion, n_candidates=2, n_rounds=2, epochs_per_round=1,
                                  n_jobs=2, batch_candidates=False, random_state=0)

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        local = search().fit(X)
        register_ray()
        with parallel_config(backend="ray"):
            on_ray = search().fit(X)
    finally:
        torch.set_num_threads(previous)
    # Exact: the backend changes only where a candidate runs, not its path; each trains and
    # is scored on one torch thread (_CANDIDATE_THREADS), and the refit runs here.
    assert on_ray.history_ == local.history_
    assert np.array_equal(on_ray.transform(X), local.transform(X))


def _fusion_and_table():
    X, _, columns = make_multimodal_classification(n_samples=128, random_state=0)
    fusion = TupleInfoNCEFusion(
        modalities=[(name, StandardScaler(), cols) for name, cols in columns.items()],
        n_components=4, embedding_dim=8, hidden_dim=8, projection_dim=8, batch_size=32,
        max_epochs=3, corruption=0.0, modality_dropout=0.0, random_state=0)
    return fusion, X


def _weights(fusion):
    return torch.cat([p.detach().flatten() for p in fusion.net_.module_.encoder.parameters()])


def _train_loop(config):
    """A Ray Train worker's loop: as in the user guide, each worker fits on the same table
    in the process group that TorchTrainer set up."""
    import ray.train

    fusion, X = _fusion_and_table()
    fusion.set_params(n_processes="process_group").fit(X)
    rank = ray.train.get_context().get_world_rank()
    torch.save(_weights(fusion), f"{config['out']}/{rank}.pt")


def test_ray_trains_torchtrainer_workers_fit_the_model_of_one_process(ray_cluster, tmp_path):
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    TorchTrainer(_train_loop, train_loop_config={"out": str(tmp_path)},
                 scaling_config=ScalingConfig(num_workers=2, use_gpu=False),
                 torch_config=TorchConfig(backend="gloo"),
                 run_config=RunConfig(storage_path=str(tmp_path), name="fit")).fit()
    fusion, X = _fusion_and_table()
    one = _weights(fusion.fit(X))
    for rank in range(2):
        # Without augmentation the ranks' views are one process's; float rounding apart.
        torch.testing.assert_close(torch.load(tmp_path / f"{rank}.pt"), one, rtol=0,
                                   atol=1e-4)
