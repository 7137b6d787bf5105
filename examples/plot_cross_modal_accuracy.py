"""
Does every modality count? Cross-modal accuracy by modality
===========================================================

The cross-modal accuracy A^k of a modality is the share of held-out rows whose modality k
alone picks the rest of its own row among ``score_chunk_size`` candidates (chance is one
in ``score_chunk_size``). A modality the encoder ignores scores near chance.

We compare three settings of the negatives' mixture alpha on the same data:

- ``alpha=(1, 0, 0, 0)``: whole-tuple contrast only, no disturbed negatives;
- ``alpha="uniform"``: TupleInfoNCE with equal weights;
- alpha (and the corruption rates beta) learned by :class:`~sktnce.TupleInfoNCESearch`.
"""

import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sktnce import TupleInfoNCEFusion, TupleInfoNCESearch
from sktnce.datasets import make_multimodal_classification

QUICK = os.environ.get("SKTNCE_QUICK") == "1"  # tiny data, for the test suite
EPOCHS = 2 if QUICK else 30

X, y, columns = make_multimodal_classification(n_samples=240 if QUICK else 1500,
                                               random_state=0)
X_train, X_test = train_test_split(X, test_size=0.3, random_state=0)
modalities = [(name, StandardScaler(), cols) for name, cols in columns.items()]

# %%
# Two fixed settings, then the search, which trains the encoder for
# ``n_rounds * epochs_per_round`` epochs along its path of best candidates: as many as the
# fixed settings get.
fixed = {
    "whole tuple\nalpha=(1, 0, 0, 0)": [1, 0, 0, 0],
    "uniform alpha": "uniform",
}
accuracy = {}
for label, alpha in fixed.items():
    fusion = TupleInfoNCEFusion(modalities=modalities, alpha=alpha, max_epochs=EPOCHS,
                                random_state=0).fit(X_train)
    accuracy[label] = fusion.cross_modal_accuracy(X_test)

search = TupleInfoNCESearch(
    TupleInfoNCEFusion(modalities=modalities, max_epochs=EPOCHS),
    n_candidates=2 if QUICK else 4,
    n_rounds=1 if QUICK else 6,
    epochs_per_round=2 if QUICK else EPOCHS // 6,
    random_state=0,
).fit(X_train)
accuracy["learned alpha\n(TupleInfoNCESearch)"] = search.cross_modal_accuracy(X_test)
print("learned alpha:", {k: round(v, 3) for k, v in search.alpha_.items()})

# %%
# One group of bars per modality, one bar per setting.
names = list(columns)
width = 0.8 / len(accuracy)
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
for i, (label, scores) in enumerate(accuracy.items()):
    positions = np.arange(len(names)) + (i - (len(accuracy) - 1) / 2) * width
    bars = ax.bar(positions, [scores[name] for name in names], width, label=label)
    ax.bar_label(bars, fmt="%.2f", fontsize="small")
chance = 1 / search.best_estimator_.score_chunk_size
ax.axhline(chance, color="0.4", linestyle=":", label=f"chance ({chance:.2f})")
ax.set_xticks(np.arange(len(names)), [f"{name} modality" for name in names])
ax.set_ylabel("cross-modal accuracy $A^k$ (held-out rows)")
top = max(max(scores.values()) for scores in accuracy.values())
ax.set_ylim(0, max(1.5 * top, 2 * chance))  # scaled to the bars: they are often small
ax.legend(fontsize="small", loc="upper left", ncols=2)
ax.set_title("Per-modality cross-modal accuracy")
plt.show()
