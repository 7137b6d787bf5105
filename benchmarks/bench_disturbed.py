"""Cost of the disturbed negatives: epoch time of TupleInfoNCE against plain tuple contrast.

Runs, interleaved in one process so that machine noise hits every variant alike:

- ``plain``: ``alpha = (1, 0, ..., 0)``, whole-tuple contrast (the baseline);
- ``default``: ``alpha = "uniform"``, one disturbed negative per modality and anchor, built
  from the per-modality embeddings (the encoders run once per view);
- ``naive``: the same loss, but every disturbed tuple re-runs the modality encoders and
  the whole fusion head (what the design avoids).

Prints the median epoch time of each and its ratio to ``plain``. Run it alone on the
machine: another busy process distorts timings by up to 35x on two cores.

    python benchmarks/bench_disturbed.py            # 20,000 rows, 3 modalities
    python benchmarks/bench_disturbed.py --quick    # a smoke run on tiny data
    python benchmarks/bench_disturbed.py --json benchmarks/results/disturbed.json
"""

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.preprocessing import StandardScaler

from sktnce import TupleInfoNCEFusion
from sktnce._augment import corrupt, random_derangement
from sktnce._network import TrainingOutputs, TupleInfoNCEModule
from sktnce.datasets import make_multimodal_classification

sys.path.insert(0, str(Path(__file__).resolve().parent))

import results_io  # noqa: E402


class NaiveDisturbedModule(TupleInfoNCEModule):
    """Disturbed tuples re-encoded from their raw blocks, then fused from scratch."""

    def forward(self, x, missing):
        blocks = self.encoder.blocks(x)
        outputs = []
        for _ in range(2):
            augmented = [corrupt(b, rate, noise=self.noise, generator=self.generator)
                         for b, rate in zip(blocks, self.corruption)]
            embeddings = self.encoder.embed(augmented, missing)
            z = self.encoder.project(self.encoder.fuse(embeddings))
            disturbed = []
            for k in self.disturbed_modalities:
                for _ in range(self.n_derangements):
                    perm = random_derangement(len(x), generator=self.generator, device=x.device)
                    swapped = list(augmented)
                    swapped[k] = augmented[k][perm]
                    recoded = self.encoder.embed(swapped, missing)
                    disturbed.append(self.encoder.project(self.encoder.fuse(recoded)))
            width = z.shape[1]
            disturbed = (torch.stack(disturbed).view(len(self.disturbed_modalities),
                                                     self.n_derangements, len(x), width)
                         if disturbed else z.new_empty(0, self.n_derangements, len(x), width))
            outputs.append((z, disturbed))
        (z1, d1), (z2, d2) = outputs
        return TrainingOutputs(z1, z2, d1, d2, None, None)


class NaiveFusion(TupleInfoNCEFusion):
    _training_module = NaiveDisturbedModule


def epoch_seconds(estimator, X):
    estimator.fit(X)
    durations = estimator.net_.history[:, "dur"][1:]  # the first epoch pays for warm-up
    return statistics.median(durations)


def run(n_samples=20000, max_epochs=6, repeats=3, random_state=0):
    X, _, columns = make_multimodal_classification(n_samples=n_samples, random_state=random_state)
    modalities = [(name, StandardScaler(), cols) for name, cols in columns.items()]
    # The disturbed negatives' price alone: the reconstruction term is off in every variant.
    params = {"modalities": modalities, "max_epochs": max_epochs, "random_state": random_state,
              "reconstruction": 0.0}
    variants = {
        "plain": TupleInfoNCEFusion(alpha=[1, 0, 0, 0], **params),
        "default": TupleInfoNCEFusion(**params),
        "naive": NaiveFusion(**params),
    }
    times = {name: [] for name in variants}
    for _ in range(repeats):
        for name, estimator in variants.items():
            times[name].append(epoch_seconds(estimator, X))
    medians = {name: statistics.median(values) for name, values in times.items()}
    return {name: (seconds, seconds / medians["plain"]) for name, seconds in medians.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description="Epoch time of disturbed negatives.")
    parser.add_argument("--quick", action="store_true", help="tiny data, for a smoke test")
    parser.add_argument("--json", help="write the table and the times to this file")
    args = parser.parse_args(argv)
    settings = {"n_samples": 300, "max_epochs": 2, "repeats": 1} if args.quick else {}
    results = run(**settings)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"numpy {np.__version__}")
    print(f"{'variant':<10}{'s/epoch':>10}{'x plain':>10}")
    for name, (seconds, ratio) in results.items():
        print(f"{name:<10}{seconds:>10.4f}{ratio:>10.2f}")
    if args.json:
        table = ["| variant | s/epoch | x plain |", "|---|---|---|"] + [
            f"| {name} | {seconds:.3f} | {ratio:.2f} |"
            for name, (seconds, ratio) in results.items()]
        results_io.write(args.json, script="bench_disturbed.py", argv=argv,
                         printed="\n".join(table), results=results)
    return results


if __name__ == "__main__":
    main()
