"""
A table with numeric, categorical and free-text columns
=======================================================

A small generated table of product reviews: a price and a delivery time (numeric), a
brand and a sales channel (categorical) and the review's free text, with some values
missing. The label, whether the customer came back, depends on every modality, and most
on the text.

:func:`sktnce.make_modalities` reads the column types and builds the modalities in one
line; the fusion then feeds a linear probe inside one :class:`~sklearn.pipeline.Pipeline`.
"""

import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from sktnce import TupleInfoNCEFusion, make_modalities

QUICK = os.environ.get("SKTNCE_QUICK") == "1"  # tiny data, for the test suite
rng = np.random.default_rng(0)
n = 120 if QUICK else 1500

# %%
# The table. A hidden satisfaction score drives the price paid, the delivery time, the
# brand, and the words of the review; the label is whether that score is positive.
satisfaction = rng.normal(size=n)
good = ["great", "sturdy", "love", "perfect", "fast", "recommend", "excellent", "happy"]
bad = ["broken", "slow", "cheap", "refund", "disappointed", "flimsy", "late", "poor"]
neutral = ["the", "item", "arrived", "box", "colour", "size", "it", "was", "and", "my"]


def review(score):
    n_words = rng.integers(6, 14)
    p_good = 1 / (1 + np.exp(-2 * score))
    words = [rng.choice(good if rng.random() < p_good else bad) if rng.random() < 0.35
             else rng.choice(neutral) for _ in range(n_words)]
    return " ".join(words)


df = pd.DataFrame({
    "price": np.round(40 + 8 * satisfaction + rng.normal(0, 10, n), 2),
    "delivery_days": np.clip(np.round(5 - satisfaction + rng.normal(0, 2, n)), 1, None),
    "brand": pd.Categorical(np.where(satisfaction + rng.normal(0, 1.5, n) > 0,
                                     rng.choice(["acme", "zenith"], n),
                                     rng.choice(["budgetco", "acme"], n))),
    "channel": rng.choice(["web", "store", "phone"], n),
    "review": [review(s) for s in satisfaction],
})
y = (satisfaction > 0).astype(int)
df.loc[rng.random(n) < 0.1, "review"] = None          # no review: the text is absent
df.loc[rng.random(n) < 0.1, "delivery_days"] = np.nan  # partly missing: imputed
print(df.head().to_string())

# %%
# The modalities, read off the dtypes: numeric columns (median imputation, scaling),
# categorical columns (one-hot), and each text column (TF-IDF, then TruncatedSVD).
df_train, df_test, y_train, y_test = train_test_split(df, y, test_size=0.3, random_state=0)
modalities = make_modalities(df_train)
for name, transformer, columns in modalities:
    print(f"{name:12s} {columns!s:32s} {transformer}")

# %%
# The fused embedding and a linear probe, in one Pipeline. The fusion ignores ``y``; only
# the probe uses the labels. Beside it, the probe on the same preprocessed columns.
fusion_pipe = Pipeline([
    ("fuse", TupleInfoNCEFusion(modalities=modalities, max_epochs=2 if QUICK else 40,
                                random_state=0)),
    ("probe", LogisticRegression(max_iter=2000)),
]).fit(df_train, y_train)
raw_pipe = Pipeline([
    ("columns", ColumnTransformer(modalities)),
    ("probe", LogisticRegression(max_iter=2000)),
]).fit(df_train.fillna({"review": ""}), y_train)
probe = {"raw columns": raw_pipe.score(df_test.fillna({"review": ""}), y_test),
         "fused embedding": fusion_pipe.score(df_test, y_test)}
cross_modal = fusion_pipe["fuse"].cross_modal_accuracy(df_test)
print("probe accuracy:", {k: round(v, 3) for k, v in probe.items()})
print("cross-modal accuracy:", {k: round(v, 3) for k, v in cross_modal.items()})

# %%
# Left, the probes' test accuracy; right, each modality's cross-modal accuracy (chance is
# one in ``score_chunk_size``). Here the modalities share one hidden score per row and
# little else, so finding a row's exact partner among 32 is hard for any encoder: the
# accuracies stay near chance, and the right scale to read them on is chance's.
fig, (ax_probe, ax_modal) = plt.subplots(1, 2, figsize=(8, 3.6), layout="constrained",
                                         width_ratios=[2, 3])
bars = ax_probe.bar(list(probe), list(probe.values()), color=["0.6", "C0"])
ax_probe.bar_label(bars, fmt="%.3f")
ax_probe.set_ylim(0, 1.05)
ax_probe.set_ylabel("test accuracy")
ax_probe.set_title("Linear probe")
bars = ax_modal.bar(list(cross_modal), list(cross_modal.values()), color="C1")
ax_modal.bar_label(bars, fmt="%.2f")
chance = 1 / fusion_pipe["fuse"].score_chunk_size
ax_modal.axhline(chance, color="0.4", linestyle=":", label=f"chance ({chance:.2f})")
ax_modal.set_ylim(0, max(1.5 * max(cross_modal.values()), 2 * chance))
ax_modal.set_ylabel("cross-modal accuracy $A^k$")
ax_modal.set_title("Each modality, held-out rows")
ax_modal.legend(fontsize="small")
plt.show()

# %%
# With the ``text`` extra (``pip install "sktnce[text]"``), a pretrained sentence model
# can replace TF-IDF for the review: edit the list, which is plain data::
#
#     from sktnce.text import SentenceEmbedder
#     modalities[-1] = ("review", SentenceEmbedder("all-MiniLM-L6-v2"), "review")
