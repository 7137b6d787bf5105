"""The search on a Dask cluster through joblib's backend: the same result as in-process."""

import numpy as np
import pytest
import torch
from sklearn.preprocessing import StandardScaler

from sktnce import TupleInfoNCEFusion, TupleInfoNCESearch
from sktnce.datasets import make_multimodal_classification

from .conftest import FAST


@pytest.mark.parametrize("batch_candidates", [True, False])
def test_search_on_a_dask_cluster_matches_the_default_backend(batch_candidates):
    distributed = pytest.importorskip("distributed")
    from joblib import parallel_config

    X, _, columns = make_multimodal_classification(n_samples=160, random_state=0)
    modalities = [(name, StandardScaler(), cols) for name, cols in columns.items()]

    def search():
        fusion = TupleInfoNCEFusion(modalities=modalities, score_chunk_size=16, **FAST)
        return TupleInfoNCESearch(fusion, n_candidates=2, n_rounds=2, epochs_per_round=1,
                                  n_jobs=2, batch_candidates=batch_candidates, random_state=0)

    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # the refit runs here; the candidates take one thread anyway
    try:
        local = search().fit(X)
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster, \
                distributed.Client(cluster), parallel_config(backend="dask"):
            on_dask = search().fit(X)
    finally:
        torch.set_num_threads(previous)
    assert on_dask.history_ == local.history_
    assert np.array_equal(on_dask.transform(X), local.transform(X))
