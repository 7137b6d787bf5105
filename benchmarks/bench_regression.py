"""Regression: what a user's model gets from sktnce on real regression tables.

For each table of ``regression_data.LOADERS``, TupleInfoNCEFusion (the study's defaults,
``methods.tuple_infonce``) learns without the target on every row, once per ``--fit-seeds``
(``random_state`` 0, 1, ...); then for each of ``--seeds`` seeds a 70/30 split, the same for
every row of the results (paired), and each ``--fractions`` share of the training rows
(1%, 10% and 100% by default; at least 3 rows) given its target, every other training row
NaN. Each model is fitted on the rows with a target and scored on the test rows by R² and
the mean absolute error:

- without sktnce, on the raw columns (the modalities' own preprocessing): ``RidgeCV``,
  ``HistGradientBoostingRegressor`` (defaults, and ``min_samples_leaf=5``) and the user's own
  ensemble of the three, weighted as TupleInfoNCERegressor weighs its members (out-of-fold
  squared error, the same folds and rounds, each member's predictions clipped alike to the
  range of the targets it saw);
- with sktnce: ``RidgeCV`` on the fused vector, ``RidgeCV`` and both boosters on the raw
  columns beside the fused vector, and TupleInfoNCERegressor (prefitted fusion,
  ``fit_fusion=False``, ``random_state`` the split), selected on the squared and on the
  absolute error; with ``--target-aware``, instead, TupleInfoNCERegressor on a target-aware
  fusion (``AWARE_PARAMS``) fitted on each split's and share's targets, its members
  weighted on the unsupervised fusion, its twin, as the estimator weighs them; with
  ``--target-aware --cross-fit``, weighted instead on one more target-aware fusion per fold
  (``aware_weighing="cross_fit"``, the estimator as it is: 4 fusion fits per split and
  share).

``--json`` writes ``{table: {row: {"r2" | "mae": {share: [per fit and split]}, "fit_s"}}}``
after each table (``fit_s``: the fusion's fit for the rows that read it, else the model's
mean fit).

    python benchmarks/bench_regression.py --json benchmarks/results/regression.json
    python benchmarks/bench_regression.py --target-aware \
        --json benchmarks/results/regression_target_aware.json
    python benchmarks/bench_regression.py --target-aware --cross-fit --fractions 0.1 \
        --json benchmarks/results/regression_target_aware_cross_fit.json
    python benchmarks/bench_regression.py --datasets ames --seeds 2 --quick
"""

import argparse
import json
import time
import warnings

import numpy as np
from sklearn.metrics import mean_absolute_error, r2_score
from sklearn.model_selection import ShuffleSplit

import methods
import regression_data
from comparison import (ABSOLUTE, AWARE_CROSS_FIT, AWARE_REGRESSOR, BESIDE_HGB,
                        BESIDE_HGB_SMALL, BESIDE_RIDGE, FUSED_RIDGE, REGRESSION_HGB,
                        REGRESSION_HGB_SMALL, REGRESSION_USER_ENSEMBLE, REGRESSOR, RIDGE)
from sktnce import TupleInfoNCERegressor
from sktnce._ensemble import _MEMBERS, draw_seeds, fusion_views, seeded
from sktnce._regressor import clipped, default_regression_members

FRACTIONS = (0.01, 0.1, 1.0)
#: The fewest rows with a target a share gives (TupleInfoNCERegressor's minimum).
MIN_ROWS = 3
#: The members of TupleInfoNCERegressor's default, and each one's row when fitted alone.
MEMBER_ROWS = {"fused_ridge": FUSED_RIDGE, "columns_ridge": RIDGE,
               "columns_hgb": REGRESSION_HGB, "columns_hgb_leaf5": REGRESSION_HGB_SMALL,
               "columns_and_fused_ridge": BESIDE_RIDGE, "columns_and_fused_hgb": BESIDE_HGB,
               "columns_and_fused_hgb_leaf5": BESIDE_HGB_SMALL}
#: The rows that read the fusion fitted without the target (their ``fit_s`` is its fit).
READS_FUSION = {MEMBER_ROWS[name] for name, _, view in default_regression_members()
                if "fused" in view}
SCORINGS = ("squared_error", "absolute_error")
#: ``--target-aware``: TupleInfoNCERegressor on a fusion that trains on each split's targets.
AWARE = AWARE_REGRESSOR
AWARE_PARAMS = {"label_weight": 3.0, "label_loss": "squared_error"}
QUICK = {"n_samples": 400, "max_epochs": 2}


def labelled_shares(n_rows, seeds, fractions):
    """``(split, fraction, rows with a target, test rows)`` for every seed and fraction: a
    70/30 split and a nested random order of its training rows, by the seed alone, so that
    every row of the results gets the same ones and a share's rows hold the smaller's."""
    for split in range(seeds):
        train, test = next(ShuffleSplit(1, test_size=0.3, random_state=split)
                           .split(np.zeros(n_rows)))
        order = np.random.default_rng(split).permutation(train)
        for fraction in fractions:
            size = max(int(fraction * len(train)), MIN_ROWS)
            yield split, fraction, np.sort(order[:size]), test


def _empty_row(fractions, *more):
    """A row of the results before any score: R² and MAE per share, and ``more`` lists."""
    return {"r2": {f: [] for f in fractions}, "mae": {f: [] for f in fractions},
            **{key: [] for key in more}}


def ensemble_row(name, scoring):
    return name + ("" if scoring == "squared_error" else ABSOLUTE)


def _scored(entry, fraction, y_test, predicted):
    entry["r2"][fraction].append(float(r2_score(y_test, predicted)))
    entry["mae"][fraction].append(float(mean_absolute_error(y_test, predicted)))


def table_rows(X, y, fusion, seeds, fractions):
    """``{row: {"r2" | "mae": {fraction: [per split]}, "seconds": [...]}}`` of one fitted
    ``fusion`` on every split and share."""
    members = default_regression_members()
    columns_only = [m for m in members if m[2] == "columns"]
    views = fusion_views(fusion, X, np.float64)
    blends = (REGRESSION_USER_ENSEMBLE, REGRESSOR)
    names = [*MEMBER_ROWS.values(), *(ensemble_row(b, s) for b in blends for s in SCORINGS)]
    rows = {n: _empty_row(fractions, "seconds") for n in names}
    for split, fraction, labelled, test in labelled_shares(len(y), seeds, fractions):
        y_partial = np.full(len(y), np.nan)
        y_partial[labelled] = y[labelled]
        for position, (name, member, view) in enumerate(members):
            start = time.perf_counter()
            fitted = seeded(member, split + position).fit(views[view][labelled], y[labelled])
            rows[MEMBER_ROWS[name]]["seconds"].append(time.perf_counter() - start)
            _scored(rows[MEMBER_ROWS[name]], fraction, y[test],
                    fitted.predict(views[view][test]))
        for blend, blend_members in ((REGRESSION_USER_ENSEMBLE, columns_only),
                                     (REGRESSOR, None)):
            for scoring in SCORINGS:
                start = time.perf_counter()
                model = TupleInfoNCERegressor(fusion, members=blend_members, scoring=scoring,
                                              fit_fusion=False, random_state=split)
                model.fit(X, y_partial)
                row = rows[ensemble_row(blend, scoring)]
                row["seconds"].append(time.perf_counter() - start)
                _scored(row, fraction, y[test], model.predict(X.iloc[test]))
    return rows


def aware_prediction(plain, aware_fusion, X, y, labelled, test):
    """What TupleInfoNCERegressor predicts for ``test`` with ``aware_fusion`` (fitted on
    the ``labelled`` rows' targets with the ``random_state`` of ``plain``'s fusion): its
    weights are ``plain``'s, whose fused members were graded on that unsupervised fusion,
    which is the aware one's twin bit for bit; its kept members refitted on the aware
    fusion's views (``tests/test_benchmarks.py`` checks it against the estimator)."""
    views = fusion_views(aware_fusion, X, np.float64)
    seed = int(draw_seeds(plain.random_state)[_MEMBERS])
    members = {name: (position, member) for position, (name, member, _)
               in enumerate(default_regression_members())}
    predicted = np.zeros(len(test))
    for weight, (name, _, view) in zip(plain.weights_, plain.members_):
        position, member = members[name]
        fitted = seeded(member, seed + position).fit(views[view][labelled], y[labelled])
        predicted += weight * clipped(fitted.predict(views[view][test]),
                                      plain.prediction_range_)
    return predicted


def cross_fit_rows(X, y, make_aware, seeds, fractions):
    """``{AWARE_CROSS_FIT: ...}``: TupleInfoNCERegressor on a target-aware fusion
    (``make_aware()``), weighed on one more per fold, fitted on every split and share."""
    row = _empty_row(fractions, "seconds")
    for split, fraction, labelled, test in labelled_shares(len(y), seeds, fractions):
        y_partial = np.full(len(y), np.nan)
        y_partial[labelled] = y[labelled]
        start = time.perf_counter()
        model = TupleInfoNCERegressor(make_aware(), aware_weighing="cross_fit",
                                      random_state=split)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X, y_partial)
        row["seconds"].append(time.perf_counter() - start)
        _scored(row, fraction, y[test], model.predict(X.iloc[test]))
    return {AWARE_CROSS_FIT: row}


def aware_rows(X, y, fusion, make_aware, seeds, fractions):
    """``{AWARE: ...}`` as :func:`table_rows` gives its rows: a target-aware fusion
    (``make_aware()``) fitted on every split's and share's targets."""
    row = _empty_row(fractions, "seconds")
    for split, fraction, labelled, test in labelled_shares(len(y), seeds, fractions):
        y_partial = np.full(len(y), np.nan)
        y_partial[labelled] = y[labelled]
        plain = TupleInfoNCERegressor(fusion, fit_fusion=False, random_state=split)
        plain.fit(X, y_partial)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            aware = make_aware().fit(X, y_partial)
        row["seconds"].append(time.perf_counter() - start)
        _scored(row, fraction, y[test], aware_prediction(plain, aware, X, y, labelled, test))
    return {AWARE: row}


def run_table(name, seeds, fit_seeds, fractions, first_fit=0, quick=False,
              target_aware=False, cross_fit=False):
    """The rows of table ``name`` over ``fit_seeds`` fits of the fusion, fit by fit."""
    n_samples = QUICK["n_samples"] if quick else regression_data.SIZES[name]
    X, y, modalities = regression_data.LOADERS[name](n_samples)
    params = {"max_epochs": QUICK["max_epochs"]} if quick else {}
    results = {}
    for fit in range(first_fit, first_fit + fit_seeds):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fusion = methods.tuple_infonce(modalities, random_state=fit, **params).fit(X)
        fusion_s = time.perf_counter() - start
        def make_aware():
            return methods.tuple_infonce(modalities, random_state=fit, **AWARE_PARAMS,
                                         **params)

        if target_aware and cross_fit:
            rows = cross_fit_rows(X, y, make_aware, seeds, fractions)
        elif target_aware:
            rows = aware_rows(X, y, fusion, make_aware, seeds, fractions)
        else:
            rows = table_rows(X, y, fusion, seeds, fractions)
        for row, entry in rows.items():
            found = results.setdefault(row, _empty_row(fractions, "fit_s"))
            for key in ("r2", "mae"):
                for f in fractions:
                    found[key][f] += entry[key][f]
            reads_fusion = row in READS_FUSION or (row.startswith(REGRESSOR)
                                                   and row not in (AWARE, AWARE_CROSS_FIT))
            found["fit_s"].append(fusion_s if reads_fusion else float(np.mean(
                entry["seconds"])))
    for entry in results.values():
        entry["fit_s"] = float(np.mean(entry["fit_s"]))
    return results, len(y)


def markdown(name, rows, n_rows, fractions):
    lines = [f"### {name} ({n_rows} rows; R², mean ± sd over fits and splits)", "",
             "| model | " + " | ".join(f"{f:.0%} of targets" for f in fractions)
             + " | fit (s) |", "|---" * (len(fractions) + 2) + "|"]
    for row, entry in rows.items():
        cells = [f"{np.mean(entry['r2'][f]):.3f} ± {np.std(entry['r2'][f]):.3f}"
                 for f in fractions]
        lines.append(f"| {row} | " + " | ".join(cells) + f" | {entry['fit_s']:.1f} |")
    return "\n".join(lines)


def write_json(results, path):
    with open(path, "w", encoding="utf-8") as f:
        json.dump({name: {row: {"fit_s": entry["fit_s"],
                                **{key: {str(k): v for k, v in entry[key].items()}
                                   for key in ("r2", "mae")}}
                          for row, entry in rows.items()}
                   for name, rows in results.items()}, f, indent=1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(regression_data.LOADERS),
                        choices=list(regression_data.LOADERS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--fit-seeds", type=int, default=1)
    parser.add_argument("--first-fit", type=int, default=0)
    parser.add_argument("--fractions", nargs="+", type=float, default=list(FRACTIONS))
    parser.add_argument("--target-aware", action="store_true",
                        help=f"only {AWARE!r}: a target-aware fusion per split and share")
    parser.add_argument("--cross-fit", action="store_true",
                        help=f"with --target-aware, {AWARE_CROSS_FIT!r} instead")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", help="write every score to this file")
    args = parser.parse_args(argv)
    results = {}
    for name in args.datasets:
        rows, n_rows = run_table(name, args.seeds, args.fit_seeds, args.fractions,
                                 args.first_fit, args.quick, args.target_aware,
                                 args.cross_fit)
        results[name] = rows
        print(markdown(name, rows, n_rows, args.fractions), flush=True)
        if args.json:
            write_json(results, args.json)


if __name__ == "__main__":
    main()
