"""Dask: the search on a cluster through joblib's backend, and transform of a Dask
DataFrame partition by partition, each the same as in one process."""

import numpy as np
import pytest
import torch
from sklearn.preprocessing import StandardScaler

from sktnce import TupleInfoNCEFusion, TupleInfoNCESearch
from sktnce.datasets import make_multimodal_classification

from .conftest import FAST


@pytest.fixture(scope="module")
def table():
    pd = pytest.importorskip("pandas")
    X, _, columns = make_multimodal_classification(n_samples=160, random_state=0)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    modalities = [(name, StandardScaler(), [f"x{i}" for i in cols])
                  for name, cols in columns.items()]
    return frame, modalities


def _search(modalities, batch_candidates):
    fusion = TupleInfoNCEFusion(modalities=modalities, score_chunk_size=16, **FAST)
    return TupleInfoNCESearch(fusion, n_candidates=2, n_rounds=2, epochs_per_round=1,
                              n_jobs=2, batch_candidates=batch_candidates, random_state=0)


@pytest.mark.parametrize("batch_candidates", [True, False])
def test_search_on_a_dask_cluster_matches_the_default_backend(table, batch_candidates):
    distributed = pytest.importorskip("distributed")
    from joblib import parallel_config

    frame, modalities = table
    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # the refit runs here; the candidates take one thread anyway
    try:
        local = _search(modalities, batch_candidates).fit(frame)
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster, \
                distributed.Client(cluster), parallel_config(backend="dask"):
            on_dask = _search(modalities, batch_candidates).fit(frame)
    finally:
        torch.set_num_threads(previous)
    # Exact: the backend changes only where a candidate runs, not its path; each trains and
    # is scored on one torch thread (_CANDIDATE_THREADS), and the refit runs here.
    assert on_dask.history_ == local.history_
    assert np.array_equal(on_dask.transform(frame), local.transform(frame))


def test_parallel_post_fit_transforms_a_dask_dataframe_partition_by_partition(table):
    dd = pytest.importorskip("dask.dataframe")
    wrappers = pytest.importorskip("dask_ml.wrappers")
    frame, modalities = table
    wrapped = wrappers.ParallelPostFit(
        TupleInfoNCEFusion(modalities=modalities, **FAST)).fit(frame)
    partitions = dd.from_pandas(frame, npartitions=3)
    embedded = wrapped.transform(partitions)
    assert partitions.npartitions == 3 and not isinstance(embedded, np.ndarray)  # lazy
    np.testing.assert_allclose(np.asarray(embedded.compute()),
                               wrapped.estimator.transform(frame), atol=1e-6)


def test_map_partitions_keeps_the_index_and_feature_names(table):
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    frame, modalities = table
    fusion = TupleInfoNCEFusion(modalities=modalities, **FAST).fit(frame)
    names = fusion.get_feature_names_out()
    shuffled = frame.sample(frac=1.0, random_state=0)
    embedded = dd.from_pandas(shuffled, npartitions=4, sort=False).map_partitions(
        lambda part: pd.DataFrame(fusion.transform(part), index=part.index, columns=names),
        meta=pd.DataFrame({name: pd.Series(dtype="float32") for name in names}),
    ).compute()
    assert list(embedded.columns) == list(names)
    assert embedded.index.equals(shuffled.index)
    np.testing.assert_allclose(embedded.to_numpy(), fusion.transform(shuffled), atol=1e-6)
