"""Demo: fuse generated multimodal data and compare linear probes.

Run with ``python -m sktnce.demo``. It fits :class:`~sktnce.TupleInfoNCEFusion` on
generated data with a strong, a medium and a weak modality (no labels used), and whole-tuple
contrast beside it, then trains a LogisticRegression on 1% and on 10% of the labels, on
each embedding and on the raw features, and prints the probes' test accuracy beside each
modality's cross-modal accuracy. One split and one fit: the benchmarks' figures
(``benchmarks/RESULTS.md``) average 15.
"""

import argparse
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ._fusion import TupleInfoNCEFusion
from .datasets import make_multimodal_classification


def _probe_accuracy(train, y_train, test, y_test):
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    return probe.fit(train, y_train).score(test, y_test)


#: The shares of labelled training rows the probes train on.
LABEL_FRACTIONS = (0.01, 0.1)


def _labelled(X_fit, y_fit, fraction, random_state):
    """A stratified ``fraction`` of the training rows, at least one of each class."""
    size = max(int(fraction * len(y_fit)), np.bincount(y_fit).size)
    rows, _ = train_test_split(np.arange(len(y_fit)), train_size=size, stratify=y_fit,
                               random_state=random_state)
    return rows


def _probes(train, test, y_fit, y_test, labelled):
    """The probe's test accuracy at each share of labels, by column name."""
    return {f"probe {fraction:.0%}": _probe_accuracy(train[rows], y_fit[rows], test, y_test)
            for fraction, rows in labelled.items()}


def run(n_samples=3000, max_epochs=60, random_state=0):
    """Fit the demo's models and return its table as a list of dicts."""
    X, y, columns = make_multimodal_classification(n_samples=n_samples, random_state=random_state)
    modalities = [(name, StandardScaler(), cols) for name, cols in columns.items()]
    X_fit, X_test, y_fit, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=random_state
    )
    labelled = {f: _labelled(X_fit, y_fit, f, random_state) for f in LABEL_FRACTIONS}
    chance = 1.0 / np.bincount(y_test).size
    rows = [{"method": "raw features", **_probes(X_fit, X_test, y_fit, y_test, labelled)}]
    settings = {
        "TupleInfoNCE (uniform alpha)": "uniform",
        "whole-tuple contrast (alpha=(1,0,0,0))": [1, 0, 0, 0],
    }
    for label, alpha in settings.items():
        start = time.perf_counter()
        fusion = TupleInfoNCEFusion(modalities=modalities, alpha=alpha, max_epochs=max_epochs,
                                    random_state=random_state).fit(X_fit)
        row = {"method": label,
               **_probes(fusion.transform(X_fit), fusion.transform(X_test), y_fit, y_test,
                         labelled),
               "fit_seconds": time.perf_counter() - start}
        row.update(fusion.cross_modal_accuracy(X_test))
        rows.append(row)
    return rows, list(columns), chance, fusion


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=3000)
    parser.add_argument("--max-epochs", type=int, default=60)
    parser.add_argument("--random-state", type=int, default=0)
    args = parser.parse_args(argv)
    rows, names, chance, fusion = run(args.n_samples, args.max_epochs,
                                      random_state=args.random_state)
    embedding = fusion.transform(make_multimodal_classification(n_samples=3, random_state=1)[0])
    print(f"Fused embedding of 3 new rows (first 6 of {embedding.shape[1]} components):")
    print(np.array2string(embedding[:, :6], precision=3, suppress_small=True))
    print()
    print(f"Linear probe on 1% and on 10% of the labels; chance = {chance:.3f}. Cross-modal "
          f"accuracy A^k: top-1 among {fusion.score_chunk_size} (chance "
          f"{1 / fusion.score_chunk_size:.3f}).")
    probes = [f"probe {fraction:.0%}" for fraction in LABEL_FRACTIONS]
    header = (f"{'method':<42}" + "".join(f"{p:>11}" for p in probes)
              + "".join(f"{'A^' + n:>10}" for n in names))
    print(header)
    print("-" * len(header))
    for row in rows:
        cells = "".join(f"{row[n]:>10.3f}" if n in row else f"{'-':>10}" for n in names)
        print(f"{row['method']:<42}" + "".join(f"{row[p]:>11.3f}" for p in probes) + cells)


if __name__ == "__main__":
    main()
