"""
Scaling out with Dask: the search on a cluster, and transform partition by partition
=====================================================================================

Two things a larger job needs, shown on a :class:`distributed.LocalCluster` of two worker
processes (a real cluster's scheduler address works the same way):

1. the search's candidates trained on the cluster's workers, through joblib's Dask
   backend, with the same result as in one process;
2. a fitted estimator transforming a :class:`dask.dataframe.DataFrame` partition by
   partition, the way a table larger than memory is embedded.

Needs ``pip install "sktnce[dask]"``.
"""

import os

import dask.dataframe as dd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from distributed import Client, LocalCluster
from joblib import parallel_config
from sklearn.preprocessing import StandardScaler

from sktnce import TupleInfoNCEFusion, TupleInfoNCESearch
from sktnce.datasets import make_multimodal_classification

QUICK = os.environ.get("SKTNCE_QUICK") == "1"  # tiny data, for the test suite

X, y, columns = make_multimodal_classification(n_samples=240 if QUICK else 3000,
                                               random_state=0)
table = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
modalities = [(name, StandardScaler(), [f"x{i}" for i in cols])
              for name, cols in columns.items()]
fusion = TupleInfoNCEFusion(modalities=modalities, max_epochs=2 if QUICK else 20,
                            n_components=8 if QUICK else 32, random_state=0)


def search():
    # One joblib task per candidate: batch_candidates=False.
    return TupleInfoNCESearch(fusion, n_candidates=2 if QUICK else 4, n_rounds=2 if QUICK else 5,
                              epochs_per_round=1 if QUICK else 4, batch_candidates=False,
                              n_jobs=2, random_state=0)


# %%
# The cluster's workers are processes: a script that starts them needs the
# ``if __name__ == "__main__":`` guard, since each worker imports the script again.


def main():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster):
        # The search's candidates on the cluster's workers.
        with parallel_config(backend="dask"):
            on_cluster = search().fit(table)
        # Transform partition by partition: 4 partitions, computed on the workers.
        parts = dd.from_pandas(table, npartitions=4)
        names = on_cluster.get_feature_names_out()
        embedded = parts.map_partitions(
            lambda part: pd.DataFrame(on_cluster.transform(part), index=part.index,
                                      columns=names),
            meta=pd.DataFrame({name: pd.Series(dtype="float32") for name in names}),
        ).compute()

    # The same search in this process.
    local = search().fit(table)
    print("same learned alpha on the cluster and locally:", on_cluster.alpha_ == local.alpha_)
    print("learned alpha:", {key: round(value, 3) for key, value in on_cluster.alpha_.items()})
    gap = np.abs(embedded.to_numpy() - on_cluster.transform(table)).max()
    print(f"partition by partition against one transform: largest difference {gap:.1e} "
          f"({embedded.shape[0]} rows)")

    # The fused representation from the partitions, first two coordinates, by class.
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.scatter(embedded.iloc[:, 0], embedded.iloc[:, 1], c=y, s=6, cmap="tab10")
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_title("Embedded partition by partition on a Dask cluster")
    fig.tight_layout()
    plt.show()


if __name__ == "__main__":
    main()
