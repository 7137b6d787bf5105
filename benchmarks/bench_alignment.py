"""Does the search's reward rank settings the way a linear probe does?

For each data set, each ``partial_share`` and at least 8 settings of alpha and beta
(whole-tuple contrast, uniform alpha, and Dirichlet draws of alpha with random corruption
rates), a TupleInfoNCEFusion is fitted without labels on 80% of the rows (with
``--train-on-validation``, on every row: the validation rows are then trained on, as rows a
search's shared weights have fitted). Each reward is computed as
:class:`sktnce.TupleInfoNCESearch` computes it:

- ``log_prob`` and ``accuracy``: cross-modal discrimination on the held-out 20%, with the
  evaluation's own query corruption (``score_corruption``), the same for every setting;
- ``rankme``: the effective rank of the held-out rows' embedding (Garrido et al., 2023);
- ``probe``: the few-label reward, a linear probe's 3-fold cross-validated accuracy on a
  10% labelled subset.

The truth is the downstream quality: a linear probe trained on 10% of the labels and tested
on the rest (mean over ``--probe-seeds`` splits, as ``bench_quality.py``). The table gives
the Spearman rank correlation between each reward and the truth over the settings.
``--json PATH`` adds the correlations to the dict in PATH, under the design's key
(``"held_out"`` or ``"trained_on"``), so that two runs compare the designs.

    python benchmarks/bench_alignment.py                       # 3 data sets, 8 settings
    python benchmarks/bench_alignment.py --partial-shares 0 0.5 --epochs 30
    python benchmarks/bench_alignment.py --train-on-validation --json results/a.json
    python benchmarks/bench_alignment.py --quick
"""

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parent))

import data  # noqa: E402
import methods  # noqa: E402
from bench_quality import probe_scores  # noqa: E402

from sktnce._reward import REWARDS, labelled_probe_score as _labelled_probe_score, rankme as _rankme  # noqa: E402,E501

DATASETS = data.STUDY_SIZES


def settings(n_modalities, n_settings, seed=0):
    """(label, alpha, corruption) triples: whole-tuple, uniform, then random draws."""
    rng = np.random.default_rng(seed)
    found = [
        ("whole-tuple", [1.0] + [0.0] * n_modalities, 0.3),
        ("uniform", "uniform", 0.3),
    ]
    for i in range(n_settings - 2):
        alpha = rng.dirichlet(np.ones(n_modalities + 1)).round(3).tolist()
        corruption = round(float(rng.uniform(0.05, 0.6)), 2)
        found.append((f"draw {i}", alpha, corruption))
    return found


def alignment(dataset, n_samples, *, partial_share, n_settings, epochs, probe_seeds,
              train_on_validation=False):
    X, y, modalities = data.LOADERS[dataset](n_samples=n_samples)
    order = np.random.default_rng(0).permutation(len(X))
    n_validation = len(X) // 5
    validation, train = np.sort(order[:n_validation]), np.sort(order[n_validation:])
    if train_on_validation:
        train = np.arange(len(X))
    # The few-label reward sees a 10% labelled subset; -1 marks the other rows.
    y_partial = np.full(len(y), -1)
    labelled, _ = train_test_split(np.arange(len(y)), train_size=0.1, stratify=y,
                                   random_state=1)
    y_partial[labelled] = y[labelled]
    rows = []
    for label, alpha, corruption in settings(len(modalities), n_settings):
        fusion = methods.tuple_infonce(
            modalities, alpha=alpha, corruption=corruption, partial_share=partial_share,
            max_epochs=epochs, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            fusion.fit(X.iloc[train])
            accuracy, log_prob = methods.cross_modal_scores(fusion, X.iloc[validation], seed=0)
            Z = fusion.transform(X)
        rewards = {
            "log_prob": float(np.nanmean(log_prob)),
            "accuracy": float(np.nanmean(accuracy)),
            "rankme": _rankme(Z[validation]),
            "probe": _labelled_probe_score(Z, y_partial, scoring=None, random_state=0),
        }
        truth = float(np.mean(probe_scores(Z, y, probe_seeds)[0.1]))
        rows.append({"setting": label, "probe@10%": truth, **rewards})
        print(f"  {dataset} partial={partial_share} {label:12s} probe {truth:.3f}  "
              + "  ".join(f"{k} {v:.3f}" for k, v in rewards.items()), flush=True)
    truth = [row["probe@10%"] for row in rows]
    correlation = {reward: float(spearmanr([row[reward] for row in rows], truth).statistic)
                   for reward in REWARDS}
    return rows, correlation


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--partial-shares", nargs="+", type=float, default=[0.0, 0.5])
    parser.add_argument("--settings", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--probe-seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small data, few epochs")
    parser.add_argument("--train-on-validation", action="store_true",
                        help="fit on every row, the validation rows too")
    parser.add_argument("--json", type=Path, default=None,
                        help="add the correlations to this JSON file, under the design")
    args = parser.parse_args(argv)
    results = {}
    for dataset in args.datasets:
        n_samples = 400 if args.quick else DATASETS.get(dataset)
        for share in args.partial_shares:
            _, correlation = alignment(
                dataset, n_samples, partial_share=share,
                n_settings=4 if args.quick else args.settings,
                epochs=2 if args.quick else args.epochs,
                probe_seeds=1 if args.quick else args.probe_seeds,
                train_on_validation=args.train_on_validation)
            results[dataset, share] = correlation
    print("\n| data set | partial_share | " + " | ".join(REWARDS) + " |")
    print("|---|---|" + "---|" * len(REWARDS))
    for (dataset, share), correlation in results.items():
        print(f"| {dataset} | {share} | "
              + " | ".join(f"{correlation[r]:+.2f}" for r in REWARDS) + " |")
    if args.json is not None:
        _write_json(args.json, "trained_on" if args.train_on_validation else "held_out",
                    results, argv)
    return results


def _write_json(path, design, results, argv):
    """Put this run's correlations into the dict in ``path`` under ``design``."""
    table = json.loads(path.read_text()) if path.exists() else {}
    table[design] = {
        "command": "python benchmarks/bench_alignment.py "
                   + " ".join(sys.argv[1:] if argv is None else argv),
        "spearman": {f"{dataset}, partial_share={share}": correlation
                     for (dataset, share), correlation in results.items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(table, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
