"""Does the search improve what it tunes? Probe accuracy of searched against uniform alpha.

For each data set and seed: a stratified 70/30 split and a 10% labelled subset of the
training rows (as ``bench_quality.py``). Each method learns its representation on all rows;
a linear probe (StandardScaler + LogisticRegression) is trained on the labelled rows and
scored on the test rows. Seeds are paired: every method sees the same split, labelled rows
and ``random_state``.

- ``uniform``: TupleInfoNCEFusion with its defaults and ``n_rounds * epochs_per_round``
  epochs, the epochs of the search's lineage (and of its refit, which also has uniform's
  ``random_state``);
- ``search (<reward>)``: TupleInfoNCESearch with its defaults and that reward: the lineage,
  with candidates branching off it for a quarter of the training rows each round;
- ``search (<reward>, rounds + refit)`` (``--designs rounds``): the rounds design,
  ``branch_fraction=None, refit=True``: every candidate trains
  ``epochs_per_round`` epochs, the best carries on, and the learned alpha is refitted, so
  that it and uniform differ only by alpha;
- ``search (probe, 10% labels)``: ``reward="probe"``, fitted with ``y`` holding the labelled
  rows' labels and -1 elsewhere.

    python benchmarks/bench_search_quality.py
    python benchmarks/bench_search_quality.py --datasets multiple_features --seeds 5
    python benchmarks/bench_search_quality.py --rewards rankme --designs lineage rounds
    python benchmarks/bench_search_quality.py --quick
    python benchmarks/bench_search_quality.py --json benchmarks/results/search_quality.json
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent))

import data  # noqa: E402
import methods  # noqa: E402
import results_io  # noqa: E402
from bench_label_efficiency import labelled_rows  # noqa: E402

from sktnce import TupleInfoNCESearch  # noqa: E402

DATASETS = data.STUDY_SIZES


def _probe(Z, y, labelled, test):
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
    return probe.fit(Z[labelled], y[labelled]).score(Z[test], y[test])


DESIGNS = {"lineage": {}, "rounds": {"branch_fraction": None, "refit": True}}


def run(dataset, n_samples, *, seeds, rewards, search_params, fusion_params,
        designs=("lineage",)):
    X, y, modalities = data.LOADERS[dataset](n_samples=n_samples)
    epochs = search_params["n_rounds"] * search_params["epochs_per_round"]
    scores = {}
    for seed in range(seeds):
        train, test = next(StratifiedShuffleSplit(1, test_size=0.3, random_state=seed)
                           .split(np.zeros(len(y)), y))
        labelled = labelled_rows(train, y[train], 0.1, seed)
        y_partial = np.full(len(y), -1)
        y_partial[labelled] = y[labelled]
        models = {"uniform": (methods.tuple_infonce(
            modalities, max_epochs=epochs, random_state=seed, **fusion_params), None)}
        for reward in rewards:
            for design in designs:
                # A refit has uniform's epochs and random_state: the pair differs by alpha.
                search = TupleInfoNCESearch(
                    methods.tuple_infonce(modalities, max_epochs=epochs, random_state=seed,
                                          **fusion_params),
                    reward=reward, random_state=seed, **search_params, **DESIGNS[design])
                label = f"search ({reward}, 10% labels" if reward == "probe" else (
                    f"search ({reward}")
                label += "" if design == "lineage" else ", rounds + refit"
                models[label + ")"] = (search, y_partial if reward == "probe" else None)
        for label, (model, target) in models.items():
            started = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", category=UserWarning)
                Z = model.fit(X, target).transform(X)
            score = _probe(Z, y, labelled, test)
            scores.setdefault(label, []).append(score)
            extra = ""
            if hasattr(model, "alpha_") and isinstance(model, TupleInfoNCESearch):
                extra = " alpha " + ", ".join(f"{k}={v:.2f}" for k, v in model.alpha_.items())
            print(f"  {dataset} seed {seed} {label:40s} probe {score:.3f} "
                  f"({time.perf_counter() - started:.0f} s){extra}", flush=True)
    return scores


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--rewards", nargs="+", default=["log_prob", "rankme", "probe"])
    parser.add_argument("--designs", nargs="+", default=["lineage"], choices=list(DESIGNS))
    parser.add_argument("--quick", action="store_true", help="small data, few epochs")
    parser.add_argument("--json", help="write the table and every score to this file")
    args = parser.parse_args(argv)
    search_params = {"n_candidates": 5, "n_rounds": 10, "epochs_per_round": 5}
    fusion_params = {}
    if args.quick:
        search_params = {"n_candidates": 2, "n_rounds": 2, "epochs_per_round": 1}
        fusion_params = {"score_chunk_size": 8}
    report = {}
    for dataset in args.datasets:
        n_samples = 300 if args.quick else DATASETS.get(dataset)
        report[dataset] = run(dataset, n_samples, seeds=1 if args.quick else args.seeds,
                              rewards=args.rewards, search_params=search_params,
                              fusion_params=fusion_params, designs=args.designs)
    table = ["| data set | method | probe, 10% labels (mean ± sd) | paired gain over uniform |",
             "|---|---|---|---|"]
    for dataset, scores in report.items():
        base = np.array(scores["uniform"])
        for label, values in scores.items():
            values = np.array(values)
            gain = "" if label == "uniform" else (
                f"{np.mean(values - base):+.3f} ± {np.std(values - base):.3f}")
            table.append(f"| {dataset} | {label} | {values.mean():.3f} ± {values.std():.3f} "
                         f"| {gain} |")
    results_io.report(table, args.json, script="bench_search_quality.py", argv=argv,
                      results=report)
    return report


if __name__ == "__main__":
    main()
