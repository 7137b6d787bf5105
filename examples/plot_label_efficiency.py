"""
How many labels does the fused representation save?
===================================================

Unsupervised fusion is for tables with few labels: the encoder learns from every row, the
linear probe behind it from the labelled ones. This example draws the probe's test accuracy
against the share of labelled rows for the standardised raw columns, whole-tuple contrast
and TupleInfoNCE, on paired splits. ``benchmarks/bench_label_efficiency.py`` measures the
same on the real data sets (``benchmarks/RESULTS.md``).
"""

import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedShuffleSplit, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktnce import TupleInfoNCEFusion
from sktnce.datasets import make_multimodal_classification

QUICK = os.environ.get("SKTNCE_QUICK") == "1"  # tiny data, for the test suite

X, y, columns = make_multimodal_classification(n_samples=300 if QUICK else 3000,
                                               random_state=0)
modalities = [(name, StandardScaler(), cols) for name, cols in columns.items()]
fit_params = {"modalities": modalities, "max_epochs": 2 if QUICK else 50, "random_state": 0}

# %%
# Each representation is learned once, without labels, on every row.
representations = {
    "raw columns": StandardScaler().fit_transform(X),
    "whole-tuple contrast": TupleInfoNCEFusion(
        alpha=[1.0] + [0.0] * len(modalities), **fit_params).fit_transform(X),
    "TupleInfoNCE": TupleInfoNCEFusion(**fit_params).fit_transform(X),
}

# %%
# A linear probe on a growing share of the training rows; the same splits for every
# representation, so that the curves compare.
fractions = [0.01, 0.05, 0.1, 0.25, 1.0]
seeds = 2 if QUICK else 5
n_classes = len(np.unique(y))
curves = {name: np.zeros((seeds, len(fractions))) for name in representations}
for seed in range(seeds):
    train, test = next(StratifiedShuffleSplit(1, test_size=0.3, random_state=seed).split(X, y))
    for j, fraction in enumerate(fractions):
        rows = train
        if fraction < 1:
            size = max(int(round(fraction * len(train))), n_classes)
            rows, _ = train_test_split(train, train_size=size, stratify=y[train],
                                       random_state=seed)
        for name, Z in representations.items():
            probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
            curves[name][seed, j] = probe.fit(Z[rows], y[rows]).score(Z[test], y[test])

for name, scores in curves.items():
    print(f"{name:22s}", "  ".join(f"{m:.3f}" for m in scores.mean(axis=0)))

# %%
fig, ax = plt.subplots(figsize=(6, 4))
for name, scores in curves.items():
    mean, std = scores.mean(axis=0), scores.std(axis=0)
    ax.plot(fractions, mean, marker="o", label=name)
    ax.fill_between(fractions, mean - std, mean + std, alpha=0.2)
ax.set_xscale("log")
ax.set_xticks(fractions, [f"{f:.0%}" for f in fractions])
ax.set_xlabel("labelled share of the training rows")
ax.set_ylabel("linear probe, test accuracy")
ax.legend()
fig.tight_layout()
plt.show()
