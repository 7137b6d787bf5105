"""
The search's trajectory of alpha and beta
=========================================

:class:`~sktnce.TupleInfoNCESearch` learns the negatives' mixture weights alpha and the
corruption rates beta while it trains, by REINFORCE on a reward computed on held-out rows
(by default the effective rank of their embedding, the label-free reward that tracked a
linear probe best in the benchmarks). :func:`~sktnce.plotting.plot_search_history` draws
the policy mean after each round and the reward of every candidate.
"""

import os

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.preprocessing import StandardScaler

from sktnce import TupleInfoNCEFusion, TupleInfoNCESearch
from sktnce.datasets import make_multimodal_classification
from sktnce.plotting import plot_search_history

QUICK = os.environ.get("SKTNCE_QUICK") == "1"  # tiny data, for the test suite

X, y, columns = make_multimodal_classification(n_samples=240 if QUICK else 1500,
                                               random_state=0)
search = TupleInfoNCESearch(
    TupleInfoNCEFusion(
        modalities=[(name, StandardScaler(), cols) for name, cols in columns.items()],
        max_epochs=2 if QUICK else 36),
    n_candidates=2 if QUICK else 4,
    n_rounds=2 if QUICK else 12,
    epochs_per_round=1 if QUICK else 3,
    random_state=0,
).fit(X)

# %%
# ``history_`` reads into a DataFrame: one row per round.
history = pd.DataFrame(search.history_)
print(history[["round", "alpha_ordinary", "alpha_strong", "alpha_medium", "alpha_weak",
               "reward_best"]].round(3).to_string(index=False))
print("learned alpha:", {k: round(v, 3) for k, v in search.alpha_.items()})

# %%
# ``search_results_`` has one row per candidate of every round: its setting, its reward,
# each modality's cross-modal scores, and its training time.
results = pd.DataFrame(search.search_results_)
print(results[["round", "candidate", "reward", "rank_in_round", "fit_time"]]
      .round(3).to_string(index=False))

# %%
# The trajectories, from the starting point (round 0) to the learned values.
fig = plot_search_history(search)
plt.show()
