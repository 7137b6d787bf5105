"""
A map of the fused embedding against the raw features
=====================================================

:func:`~sktnce.datasets.make_multimodal_classification` draws a table of three modalities
of unequal strength (``strong``, ``medium``, ``weak``) whose label needs all of them. We fit
:class:`~sktnce.TupleInfoNCEFusion` without labels, then draw two t-SNE maps of the same
held-out rows, one of the standardised raw features and one of the fused embedding, each
point coloured by its label. A linear probe trained on 10% of the labels says the same in
a number.
"""

import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.manifold import TSNE
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktnce import TupleInfoNCEFusion
from sktnce.datasets import make_multimodal_classification

QUICK = os.environ.get("SKTNCE_QUICK") == "1"  # tiny data, for the test suite

X, y, columns = make_multimodal_classification(n_samples=120 if QUICK else 2000,
                                               synergy=False, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                    random_state=0)

# %%
# Fit the fusion on the training rows, labels unused: one modality per column block.
fusion = TupleInfoNCEFusion(
    modalities=[(name, StandardScaler(), cols) for name, cols in columns.items()],
    max_epochs=2 if QUICK else 40,
    random_state=0,
).fit(X_train)

raw_scaler = StandardScaler().fit(X_train)
views = {"raw features (standardised)": (raw_scaler.transform(X_train),
                                          raw_scaler.transform(X_test)),
         "fused embedding (TupleInfoNCE)": (fusion.transform(X_train),
                                            fusion.transform(X_test))}

# %%
# A linear probe on 10% of the training labels, scored on the test rows.
labelled = np.random.default_rng(0).permutation(len(y_train))[: len(y_train) // 10]
for title, (train, test) in views.items():
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    accuracy = probe.fit(train[labelled], y_train[labelled]).score(test, y_test)
    print(f"{title:32s} probe accuracy {accuracy:.3f}")

# %%
# The two maps. The label has 4 classes, ``2 * [shared > 0] + [weak > 0]``: one bit that
# every modality sees, and one that only the weak modality carries.
fig, axes = plt.subplots(1, 2, figsize=(9, 4.4), layout="constrained")
for ax, (title, (_, test)) in zip(axes, views.items()):
    points = TSNE(n_components=2, perplexity=10 if QUICK else 30, init="pca",
                  random_state=0).fit_transform(test)
    scatter = ax.scatter(points[:, 0], points[:, 1], c=y_test, cmap="tab10", vmin=0, vmax=9,
                         s=8, alpha=0.8)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
fig.legend(*scatter.legend_elements(), title="label", loc="outside right center")
fig.suptitle("t-SNE of held-out rows, coloured by label")
plt.show()
