"""How much signal the cross-modal reward carries, by candidate-set size.

Top-1 retrieval among M candidates gets harder as M grows; where modalities share little
per-row information, it sits near chance (1/M) and a search driven by it follows noise.
For two trained models (uniform alpha, and whole-tuple contrast) on one data set, this
prints, for each ``score_chunk_size`` M: the mean accuracy over modalities, chance, the
standard deviation over evaluation seeds (the query augmentation and chunking), and the
gap between the two models in units of that noise; the same for the smooth companion, the
mean log-probability of the right match.

    python benchmarks/bench_reward.py                    # generated data, 3,000 rows
    python benchmarks/bench_reward.py --dataset multiple_features
    python benchmarks/bench_reward.py --quick
    python benchmarks/bench_reward.py --json benchmarks/results/reward.json
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import data  # noqa: E402
import methods  # noqa: E402
import results_io  # noqa: E402

CHUNK_SIZES = (4, 8, 16, 32, 64, 128, 256)


def reward_table(dataset="generated", n_samples=3000, max_epochs=50, eval_seeds=5,
                 chunk_sizes=CHUNK_SIZES):
    X, _, modalities = data.LOADERS[dataset](n_samples=n_samples)
    fit_rows = np.arange(len(X)) % 5 != 0  # the reward is computed on held-out rows
    models = {
        "uniform": methods.tuple_infonce(modalities, max_epochs=max_epochs, random_state=0),
        "whole-tuple": methods.tuple_contrast(modalities, max_epochs=max_epochs,
                                              random_state=0),
    }
    held_out = X[~fit_rows]
    for model in models.values():
        model.fit(X[fit_rows])
    rows = []
    for size in chunk_sizes:
        if size > len(held_out):
            break
        entry = {"M": size, "chance": 1.0 / size}
        for name, model in models.items():
            model.set_params(score_chunk_size=size)
            accuracy, log_prob = [], []
            for seed in range(eval_seeds):
                a, lp = methods.cross_modal_scores(model, held_out, seed)
                accuracy.append(np.nanmean(a))
                log_prob.append(np.nanmean(lp))
            entry[name] = (np.mean(accuracy), np.std(accuracy), np.mean(log_prob),
                           np.std(log_prob))
        (a1, s1, l1, t1), (a2, s2, l2, t2) = entry["uniform"], entry["whole-tuple"]
        entry["accuracy_gap_in_noise"] = abs(a1 - a2) / (max(s1, s2) + 1e-12)
        entry["log_prob_gap_in_noise"] = abs(l1 - l2) / (max(t1, t2) + 1e-12)
        rows.append(entry)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description="Signal of the cross-modal reward.")
    parser.add_argument("--dataset", default="generated")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", help="write the table and its figures to this file")
    args = parser.parse_args(argv)
    settings = ({"n_samples": 300, "max_epochs": 2, "eval_seeds": 2, "chunk_sizes": (4, 16)}
                if args.quick else {})
    rows = reward_table(args.dataset, **settings)
    print(f"{args.dataset}: mean over modalities on held-out rows; noise = std over "
          "evaluation seeds")
    table = ["| M | chance | A uniform | A whole-tuple | gap / noise | log p uniform | "
             "log p whole-tuple | gap / noise |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        (a1, s1, l1, t1), (a2, s2, l2, t2) = r["uniform"], r["whole-tuple"]
        table.append(f"| {r['M']} | {r['chance']:.3f} | {a1:.3f} ± {s1:.3f} | {a2:.3f} ± "
                     f"{s2:.3f} | {r['accuracy_gap_in_noise']:.1f} | {l1:.2f} ± {t1:.2f} | "
                     f"{l2:.2f} ± {t2:.2f} | {r['log_prob_gap_in_noise']:.1f} |")
    print("\n".join(table))
    if args.json:
        results_io.write(args.json, script="bench_reward.py", argv=argv,
                         printed="\n".join(table), results=rows)
    return rows


if __name__ == "__main__":
    main()
