"""Speed and memory of TupleInfoNCEFusion, as ratios measured in one run.

1. The price of the scikit-learn and skorch layers: epoch time of ``fit`` against a bare
   PyTorch loop that trains the same module with the same loss, batches and optimiser on
   the same preprocessed tensors (interleaved, median of the repeats).
2. The price of the reconstruction term: epoch time of ``fit`` with the default
   ``reconstruction`` against ``reconstruction=0`` (interleaved, median of the repeats).
3. Scaling: per-epoch fit time, peak resident memory and transform throughput at growing
   row counts (3 modalities, 100 columns in all), each size in a fresh process. Memory: the
   largest resident set seen during fit and transform, less the resident set just before
   (X already in memory), against the size of X itself (float64).
4. The price of numeric embeddings: fit time with ``numeric_embedding="piecewise_linear"``
   against none, on the widest study table (Multiple Features, 649 columns; interleaved,
   median of the repeats).

5. The price of TupleInfoNCEEnsembleClassifier's members: the fit of the ensemble on a
   fitted fusion (``fit_fusion=False``: its members' out-of-fold predictions, the weights, the
   kept members refitted) against the fusion's own fit, at 10% and 100% of the rows
   labelled, on three study sets (interleaved, median of the repeats); ``--fused-trees``
   adds the ensemble with two more members, boosted trees on the columns beside the fused
   vector (``methods.fused_trees``); ``--per-member`` adds the ensemble of each default
   member alone; ``--trees "{'max_iter': 50, 'learning_rate': 0.2}"`` adds the ensemble
   whose boosted trees have these parameters (``methods.cheaper_members``).

The cost of the disturbed negatives is ``bench_disturbed.py``; of the search,
``bench_search.py``. Run alone on the machine.

    python benchmarks/bench_cost.py                                  # sizes 10k, 100k, 1M
    python benchmarks/bench_cost.py --device cuda --sizes 10000 100000  # on a GPU
    python benchmarks/bench_cost.py --reconstruction-only            # item 2 alone
    python benchmarks/bench_cost.py --numeric-embedding-only         # item 4 alone
    python benchmarks/bench_cost.py --ensemble-only                  # item 5 alone
    python benchmarks/bench_cost.py --ensemble-only --fused-trees    # with two more members
    python benchmarks/bench_cost.py --ensemble-only --per-member     # and each member alone
    python benchmarks/bench_cost.py --quick                          # tiny sizes, a smoke run
    python benchmarks/bench_cost.py --json benchmarks/results/cost.json  # and write the figures
"""

import argparse
import ast
import json
import resource
import statistics
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.preprocessing import StandardScaler

from sktnce import TupleInfoNCEEnsembleClassifier, TupleInfoNCEFusion
from sktnce._ensemble import default_members, preprocessed_width
from sktnce._modalities import check_modalities, fit_input
from sktnce._setting import FitSeeds, resolve_setting
from sktnce._training import TrainingConfig, build_fusion_net
from sktnce.datasets import make_multimodal_classification

sys.path.insert(0, str(Path(__file__).resolve().parent))

import data  # noqa: E402
import methods  # noqa: E402
import results_io  # noqa: E402

WIDTHS = (50, 30, 20)


def _data(n_samples, random_state=0):
    X, _, columns = make_multimodal_classification(
        n_samples=n_samples, n_features=WIDTHS, random_state=random_state)
    return X, [(name, StandardScaler(), cols) for name, cols in columns.items()]


def bare_epoch_seconds(fusion, X, epochs):
    """Train the module ``fit`` would train, in a plain loop; median seconds per epoch."""
    specs = check_modalities(fusion.modalities)
    config = TrainingConfig.from_estimator(fusion)
    setting = resolve_setting(fusion.alpha, fusion.corruption, [name for name, _, _ in specs])
    preprocessing, (features, missing) = fit_input(fusion, specs, X, config.device)
    net = build_fusion_net(config, preprocessing.widths, setting,
                           FitSeeds(weights=0, augment=1, shuffle=2, evaluation=0))
    module = net.module.to(config.device)
    criterion = config.criterion(**net.get_params_for("criterion")).to(config.device)
    optimizer = torch.optim.Adam(module.parameters(), lr=fusion.lr)
    rng = np.random.default_rng(0)
    n_rows, batch = len(features), fusion.batch_size
    durations = []
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.as_tensor(rng.permutation(n_rows))
        for begin in range(0, n_rows - 1, batch):
            index = order[begin:begin + batch]
            if len(index) < 2:
                continue
            loss = criterion(module(features[index], missing[index]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if features.is_cuda:
            torch.cuda.synchronize()
        durations.append(time.perf_counter() - start)
    return statistics.median(durations[1:] or durations)


def layer_overhead(n_samples=20000, epochs=5, repeats=3, device="cpu"):
    X, modalities = _data(n_samples)
    bare, wrapped = [], []
    for _ in range(repeats):
        fusion = TupleInfoNCEFusion(modalities=modalities, max_epochs=epochs, device=device,
                                    random_state=0)
        bare.append(bare_epoch_seconds(fusion, X, epochs))
        fusion.fit(X)
        wrapped.append(statistics.median(fusion.net_.history[:, "dur"][1:]))
    bare_s, wrapped_s = statistics.median(bare), statistics.median(wrapped)
    return {"bare_s": bare_s, "fusion_s": wrapped_s, "ratio": wrapped_s / bare_s}


def reconstruction_price(n_samples=20000, epochs=5, repeats=3, device="cpu"):
    """Median epoch time with the default reconstruction term and without it, interleaved."""
    X, modalities = _data(n_samples)
    seconds = {"with": [], "without": []}
    for _ in range(repeats):
        for label, weight in (("with", TupleInfoNCEFusion().reconstruction), ("without", 0.0)):
            fusion = TupleInfoNCEFusion(modalities=modalities, max_epochs=epochs, device=device,
                                        random_state=0, reconstruction=weight).fit(X)
            seconds[label].append(statistics.median(fusion.net_.history[:, "dur"][1:]))
    with_s, without_s = statistics.median(seconds["with"]), statistics.median(seconds["without"])
    return {"with_s": with_s, "without_s": without_s, "ratio": with_s / without_s}


def numeric_embedding_price(epochs=10, repeats=3, device="cpu", n_samples=None):
    """Median fit time with ``numeric_embedding="piecewise_linear"`` and without, interleaved, on
    the widest study table (Multiple Features: 649 numeric columns in 6 modalities)."""
    X, _, modalities = data.LOADERS["multiple_features"](n_samples=n_samples)
    seconds = {"embedded": [], "none": []}
    for _ in range(repeats):
        for label, embedding in (("embedded", "piecewise_linear"), ("none", None)):
            fusion = TupleInfoNCEFusion(modalities=modalities, max_epochs=epochs, device=device,
                                        random_state=0, numeric_embedding=embedding)
            start = time.perf_counter()
            fusion.fit(X)
            seconds[label].append(time.perf_counter() - start)
    with_s, without_s = statistics.median(seconds["embedded"]), statistics.median(seconds["none"])
    return {"with_s": with_s, "without_s": without_s, "ratio": with_s / without_s,
            "rows": len(X), "columns": X.shape[1], "epochs": epochs}


#: The sets of the ensemble's price: the widest (10 classes), a binary and a 5-class one.
ENSEMBLE_SETS = ("multiple_features", "adult", "lending_club")


def ensemble_price(shares=(0.1, 1.0), repeats=3, device="cpu", n_samples=None,
                   datasets=ENSEMBLE_SETS, epochs=None, fused_trees=False, per_member=False,
                   tree_params=None):
    """Median fit seconds of the fusion and of TupleInfoNCEEnsembleClassifier's members on
    it, interleaved, for each of ``datasets`` and label ``shares``; with ``fused_trees``,
    also of the ensemble with ``methods.fused_trees`` after its default members
    (``"trees_s"``); with ``per_member``, also of the ensemble of each default member alone
    (``"<name>_s"``: its out-of-fold predictions and its refit); with ``tree_params``,
    also of the ensemble whose boosted trees have these parameters
    (``methods.cheaper_members``, ``"cheaper_s"``)."""
    out = []
    for name in datasets:
        X, y, modalities = data.LOADERS[name](n_samples=n_samples or data.STUDY_SIZES[name])
        labelled = {share: np.random.default_rng(0).random(len(y)) < share for share in shares}
        params = {} if epochs is None else {"max_epochs": epochs}
        seconds = {"fusion": []}
        for _ in range(repeats):
            fusion = TupleInfoNCEFusion(modalities=modalities, device=device, random_state=0,
                                        **params)
            start = time.perf_counter()
            fusion.fit(X)
            seconds["fusion"].append(time.perf_counter() - start)
            # the default members as the estimator builds them on this table's width
            variants = _price_variants(preprocessed_width(fusion), fused_trees, per_member,
                                       tree_params)
            for share in shares:
                for key, members in variants.items():
                    model = TupleInfoNCEEnsembleClassifier(fusion, members=members,
                                                           fit_fusion=False, random_state=0)
                    start = time.perf_counter()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")  # convergence with few labels
                        model.fit(X, np.where(labelled[share], y, -1))
                    seconds.setdefault((share, key), []).append(time.perf_counter() - start)
        fusion_s = statistics.median(seconds["fusion"])
        for share in shares:
            row = {"dataset": name, "rows": len(X), "share": share, "fusion_s": fusion_s,
                   **{key: statistics.median(seconds[share, key]) for key in variants}}
            row["ratio"] = row["members_s"] / fusion_s
            if fused_trees:
                row["trees_ratio"] = row["trees_s"] / fusion_s
            if tree_params:
                row["cheaper_ratio"] = row["cheaper_s"] / fusion_s
            if per_member:
                row["member_ratios"] = {name: row[f"{name}_s"] / fusion_s
                                        for name, _, _ in default_members()}
            out.append(row)
    return out


def _price_variants(width, fused_trees, per_member, tree_params):
    """``{seconds key: members}`` that :func:`ensemble_price` times on a table of ``width``
    preprocessed columns: the default members (None), and as asked the default members
    with ``methods.fused_trees`` after them, each default member alone, or the default
    members with cheaper trees."""
    variants = {"members_s": None}
    if fused_trees:
        variants["trees_s"] = default_members(width) + methods.fused_trees()
    if per_member:
        variants.update({f"{member[0]}_s": [member] for member in default_members(width)})
    if tree_params:
        variants["cheaper_s"] = methods.cheaper_members(tree_params, default_members(width))
    return variants


def _ensemble_report(args, argv, quick):
    tree_params = ast.literal_eval(args.trees) if args.trees else None
    rows = ensemble_price(device=args.device, fused_trees=args.fused_trees,
                          per_member=args.per_member, tree_params=tree_params, **quick)
    trees = args.fused_trees
    tables = ["\n".join([
        "| data set | rows | labelled | fusion fit (s) | members (s) | members / fusion |"
        + (" with trees on columns and fused (s) | with the trees / fusion |" if trees else ""),
        "|---|---|---|---|---|---|" + ("---|---|" if trees else ""),
        *(f"| {r['dataset']} | {r['rows']:,} | {r['share']:.0%} | {r['fusion_s']:.2f} | "
          f"{r['members_s']:.2f} | {r['ratio']:.2f} |"
          + (f" {r['trees_s']:.2f} | {r['trees_ratio']:.2f} |" if trees else "")
          for r in rows)])]
    if args.per_member:
        names = [name for name, _, _ in default_members()]
        tables.append("\n".join([
            "| data set | labelled | " + " | ".join(f"{name} / fusion" for name in names) + " |",
            "|---|---|" + "---|" * len(names),
            *(f"| {r['dataset']} | {r['share']:.0%} | "
              + " | ".join(f"{r['member_ratios'][name]:.2f}" for name in names) + " |"
              for r in rows)]))
    if tree_params:
        tables.append("\n".join([
            "| data set | labelled | members / fusion | with the trees' "
            f"{methods.trees_label(tree_params)} / fusion |", "|---|---|---|---|",
            *(f"| {r['dataset']} | {r['share']:.0%} | {r['ratio']:.2f} | "
              f"{r['cheaper_ratio']:.2f} |" for r in rows)]))
    table = "\n\n".join(tables)
    print(table)
    if args.json:
        results_io.write(args.json, script="bench_cost.py", argv=argv, printed=table,
                         results={"ensemble": rows})
    return rows


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


class _PeakMemory(threading.Thread):
    """Samples the resident set size every 5 ms; ``peak`` is the largest seen.

    ``ru_maxrss`` will not do: it is the high-water mark of the whole process, data
    generation included.
    """

    def __init__(self):
        super().__init__(daemon=True)
        self.peak = _rss_bytes()
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.wait(0.005):
            self.peak = max(self.peak, _rss_bytes())

    def stop(self):
        self._stop_event.set()
        self.join()
        self.peak = max(self.peak, _rss_bytes())


def scaling_child(n_samples, device="cpu"):
    """One size, in this process: prints a JSON line."""
    X, modalities = _data(n_samples)
    baseline = _rss_bytes()
    sampler = _PeakMemory()
    sampler.start()
    fusion = TupleInfoNCEFusion(modalities=modalities, max_epochs=1, device=device,
                                random_state=0)
    start = time.perf_counter()
    fusion.fit(X)
    fit_s = time.perf_counter() - start
    epoch_s = float(fusion.net_.history[-1, "dur"])
    start = time.perf_counter()
    fusion.transform(X)
    transform_s = time.perf_counter() - start
    sampler.stop()
    peak = sampler.peak
    print(json.dumps({"n_samples": n_samples, "data_mb": X.nbytes / 2**20,
                      "epoch_s": epoch_s, "fit_s": fit_s,
                      "transform_rows_per_s": n_samples / transform_s,
                      "peak_over_baseline_mb": (peak - baseline) / 2**20,
                      "baseline_mb": baseline / 2**20}))


def scaling(sizes, device="cpu"):
    results = []
    for n in sizes:
        out = subprocess.run([sys.executable, __file__, "--child", str(n), "--device", device],
                             check=True,
                             capture_output=True, text=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def _numeric_embedding_report(args, argv, quick):
    price = numeric_embedding_price(device=args.device, **quick)
    table = "\n".join([
        f"Multiple Features, {price['rows']:,} rows, {price['columns']} columns; "
        f"{price['epochs']} epochs, median fit of the interleaved repeats", "",
        "| numeric_embedding | fit (s) | ratio |", "|---|---|---|",
        f"| None | {price['without_s']:.2f} | 1.00 |",
        f"| \"piecewise_linear\" | {price['with_s']:.2f} | {price['ratio']:.2f} |"])
    print(table)
    if args.json:
        results_io.write(args.json, script="bench_cost.py", argv=argv, printed=table,
                         results={"numeric_embedding": price})
    return price


def main(argv=None):
    parser = argparse.ArgumentParser(description="Speed and memory of TupleInfoNCEFusion.")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--reconstruction-only", action="store_true")
    parser.add_argument("--numeric-embedding-only", action="store_true",
                        help="the price of numeric_embedding alone (item 4)")
    parser.add_argument("--ensemble-only", action="store_true",
                        help="the price of TupleInfoNCEEnsembleClassifier's members (item 5)")
    parser.add_argument("--fused-trees", action="store_true",
                        help="with --ensemble-only, also price the ensemble with boosted trees "
                        "on the columns beside the fused vector as two more members")
    parser.add_argument("--per-member", action="store_true",
                        help="with --ensemble-only, also price each default member alone")
    parser.add_argument("--trees", metavar="PARAMS",
                        help="with --ensemble-only, also the ensemble whose boosted trees "
                        "have these parameters (a dict)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--json", help="write the tables and figures to this file")
    args = parser.parse_args(argv)
    if args.child:
        scaling_child(args.child, args.device)
        return None
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}")
    quick = {"n_samples": 600, "epochs": 2, "repeats": 1} if args.quick else {}
    if args.numeric_embedding_only:
        return _numeric_embedding_report(args, argv, quick)
    if args.ensemble_only:
        return _ensemble_report(args, argv, {"n_samples": 120, "epochs": 2, "repeats": 1,
                                             "datasets": ("generated",)} if args.quick else {})
    price = reconstruction_price(device=args.device, **quick)
    print(f"fit epoch: reconstruction={TupleInfoNCEFusion().reconstruction} {price['with_s']:.3f} s, "
          f"reconstruction=0 {price['without_s']:.3f} s, ratio {price['ratio']:.2f}")
    tables = ["| reconstruction | s/epoch | ratio |", "|---|---|---|",
              f"| 0 | {price['without_s']:.3f} | 1.00 |",
              f"| {TupleInfoNCEFusion().reconstruction} | {price['with_s']:.3f} "
              f"| {price['ratio']:.2f} |"]
    if args.reconstruction_only:
        if args.json:
            results_io.write(args.json, script="bench_cost.py", argv=argv,
                             printed="\n".join(tables), results={"reconstruction": price})
        return price
    overhead = layer_overhead(device=args.device, **quick)
    sizes = [500, 2000] if args.quick else args.sizes
    print(f"fit epoch: bare loop {overhead['bare_s']:.3f} s, TupleInfoNCEFusion "
          f"{overhead['fusion_s']:.3f} s, ratio {overhead['ratio']:.2f}")
    rows = scaling(sizes, args.device)
    scaling_table = ["| rows | X (MB) | s/epoch | transform rows/s | extra peak memory (x X) |",
                     "|---|---|---|---|---|"]
    for r in rows:
        scaling_table.append(
            f"| {r['n_samples']:,} | {r['data_mb']:.0f} | {r['epoch_s']:.2f} | "
            f"{r['transform_rows_per_s']:,.0f} | {r['peak_over_baseline_mb']:.0f} MB "
            f"({r['peak_over_baseline_mb'] / r['data_mb']:.1f}x) |")
    print("\n".join(scaling_table))
    if args.json:
        tables += ["", "| loop | s/epoch | ratio |", "|---|---|---|",
                   f"| bare PyTorch | {overhead['bare_s']:.3f} | 1.00 |",
                   f"| TupleInfoNCEFusion.fit | {overhead['fusion_s']:.3f} "
                   f"| {overhead['ratio']:.2f} |", "", *scaling_table]
        results_io.write(args.json, script="bench_cost.py", argv=argv,
                         printed="\n".join(tables),
                         results={"reconstruction": price, "overhead": overhead,
                                  "scaling": rows})
    return overhead, rows


if __name__ == "__main__":
    main()
