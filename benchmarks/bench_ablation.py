"""The ablation METHOD.md asks for: disturbed negatives × the partial-view fixes.

Two fixes for modality neglect, measured apart on every data set: disturbed negatives
(uniform alpha against whole-tuple contrast, alpha = (1, 0, ..., 0)), and training on
partial tuples, in its light form (modality dropout) and in the authors' form (a share of
partial-tuple batches). Each cell is the linear probe's accuracy with 10% of the labels,
mean over representation seeds × probe splits (as ``bench_quality.py``), and A, the mean
cross-modal accuracy (``score``) on the rows the fusion trained on; each modality's A^k is
printed too.

    python benchmarks/bench_ablation.py
    python benchmarks/bench_ablation.py --datasets multiple_features --seeds 3
    python benchmarks/bench_ablation.py --quick
    python benchmarks/bench_ablation.py --json benchmarks/results/ablation.json
"""

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import data  # noqa: E402
import methods  # noqa: E402
import results_io  # noqa: E402
from bench_quality import probe_scores  # noqa: E402

DATASETS = data.STUDY_SIZES
PARTIAL_VIEWS = {
    "none": {"modality_dropout": 0.0, "partial_share": 0.0},
    "dropout 0.1": {"modality_dropout": 0.1, "partial_share": 0.0},
    "partial 0.5": {"modality_dropout": 0.0, "partial_share": 0.5},
    "dropout 0.1 + partial 0.5": {"modality_dropout": 0.1, "partial_share": 0.5},
}


def ablation(dataset, n_samples, *, seeds, probe_seeds, epochs):
    X, y, modalities = data.LOADERS[dataset](n_samples=n_samples)
    whole_tuple = [1.0] + [0.0] * len(modalities)
    rows = []
    for partial, partial_params in PARTIAL_VIEWS.items():
        for disturbing, alpha in (("off", whole_tuple), ("on", "uniform")):
            probe, score, per_modality = [], [], []
            for seed in range(seeds):
                fusion = methods.tuple_infonce(modalities, alpha=alpha, max_epochs=epochs,
                                               random_state=seed, **partial_params)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", category=UserWarning)
                    Z = fusion.fit_transform(X)
                probe += probe_scores(Z, y, probe_seeds)[0.1]
                accuracy = fusion.cross_modal_accuracy(X)
                score.append(np.mean(list(accuracy.values())))
                per_modality.append(list(accuracy.values()))
            rows.append({"partial views": partial, "disturbed": disturbing,
                         "probe": float(np.mean(probe)), "sd": float(np.std(probe)),
                         "score": float(np.mean(score)),
                         "A": dict(zip([m[0] for m in modalities],
                                       np.mean(per_modality, axis=0).round(3).tolist()))})
            print(f"  {dataset} {partial:26s} disturbed {disturbing:3s} probe "
                  f"{rows[-1]['probe']:.3f} ± {rows[-1]['sd']:.3f}  A {rows[-1]['score']:.3f} "
                  f"{rows[-1]['A']}",
                  flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--probe-seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="small data, few epochs")
    parser.add_argument("--json", help="write the table and every cell to this file")
    args = parser.parse_args(argv)
    report = {}
    for dataset in args.datasets:
        report[dataset] = ablation(
            dataset, 300 if args.quick else DATASETS.get(dataset),
            seeds=1 if args.quick else args.seeds,
            probe_seeds=1 if args.quick else args.probe_seeds,
            epochs=2 if args.quick else args.epochs)
    lines = ["| data set | partial views | disturbed off | disturbed on |", "|---|---|---|---|"]
    for dataset, rows in report.items():
        for partial in PARTIAL_VIEWS:
            off, on = (r for r in rows if r["partial views"] == partial)
            lines.append(f"| {dataset} | {partial} | {off['probe']:.3f} (A {off['score']:.2f}) "
                         f"| {on['probe']:.3f} (A {on['score']:.2f}) |")
    results_io.report(lines, args.json, script="bench_ablation.py", argv=argv, results=report)
    return report


if __name__ == "__main__":
    main()
