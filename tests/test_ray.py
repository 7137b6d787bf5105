"""Ray: the search's candidates through Ray's joblib backend, the same as in one process."""

import numpy as np
import pytest
import torch
from sklearn.preprocessing import StandardScaler

from sktnce import TupleInfoNCEFusion, TupleInfoNCESearch
from sktnce.datasets import make_multimodal_classification

from .conftest import FAST


def test_search_through_rays_joblib_backend_matches_the_default_backend():
    ray = pytest.importorskip("ray")
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
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            register_ray()
            with parallel_config(backend="ray"):
                on_ray = search().fit(X)
        finally:
            ray.shutdown()
    finally:
        torch.set_num_threads(previous)
    # Exact: the backend changes only where a candidate runs, not its path; each trains and
    # is scored on one torch thread (_CANDIDATE_THREADS), and the refit runs here.
    assert on_ray.history_ == local.history_
    assert np.array_equal(on_ray.transform(X), local.transform(X))
