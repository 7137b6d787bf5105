"""benchmarks/render.py: README.md's results table and benchmarks/RESULTS.md are what the
committed result files render to."""

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"


def _benchmark_module(monkeypatch, name):
    """``benchmarks/<name>.py`` loaded, with its siblings importable by name."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def render(monkeypatch):
    return _benchmark_module(monkeypatch, "render")


def test_readme_table_and_results_md_are_the_rendering_of_the_committed_results(render):
    rendered = render.rendered()
    assert rendered[render.README] == render.README.read_text(encoding="utf-8"), (
        "README.md's results table differs from the result files: run "
        "python benchmarks/render.py")
    assert rendered[render.RESULTS_MD] == render.RESULTS_MD.read_text(encoding="utf-8"), (
        "benchmarks/RESULTS.md differs from the result files: run python benchmarks/render.py")
    assert render.main(["--check"]) == 0


def _copy(render, monkeypatch, tmp_path):
    """README.md, RESULTS.md and the result files, copied under tmp_path for the renderer."""
    results = tmp_path / "results"
    shutil.copytree(render.RESULTS_DIR, results)
    for name, path in (("README", render.README), ("RESULTS_MD", render.RESULTS_MD)):
        copy = tmp_path / path.name
        shutil.copy(path, copy)
        monkeypatch.setattr(render, name, copy)
    monkeypatch.setattr(render, "RESULTS_DIR", results)
    return results


def test_check_fails_where_the_readme_table_was_edited_by_hand(render, monkeypatch, tmp_path,
                                                                capsys):
    _copy(render, monkeypatch, tmp_path)
    text = render.README.read_text(encoding="utf-8")
    start, end = text.index(render.TABLE_MARKERS[0]), text.index(render.TABLE_MARKERS[1])
    row = next(line for line in text[start:end].splitlines()
               if line.startswith("| UCI Adult"))
    cells = row.split(" | ")
    cells[2] = "0.999"
    render.README.write_text(text.replace(row, " | ".join(cells)), encoding="utf-8")
    assert render.main(["--check"]) == 1
    assert "README.md" in capsys.readouterr().out
    assert render.main([]) == 0  # rewritten from the results
    assert render.main(["--check"]) == 0
    assert row in render.README.read_text(encoding="utf-8")


def test_check_fails_where_a_result_file_changed(render, monkeypatch, tmp_path):
    results = _copy(render, monkeypatch, tmp_path)
    path = results / "label_efficiency_dropout_0.2.json"
    scores = json.loads(path.read_text(encoding="utf-8"))
    scores["adult"]["TupleInfoNCE"]["scores"]["0.1"] = [
        s + 0.01 for s in scores["adult"]["TupleInfoNCE"]["scores"]["0.1"]]
    path.write_text(json.dumps(scores), encoding="utf-8")
    assert render.main(["--check"]) == 1
    # a transcribed table too
    path = results / "cost.json"
    cost = json.loads(path.read_text(encoding="utf-8"))
    cost["tables"][0]["rows"][0][1] = "9.999"
    path.write_text(json.dumps(cost), encoding="utf-8")
    render.main([])
    assert "| 9.999 |" in render.RESULTS_MD.read_text(encoding="utf-8")


def test_the_tables_state_the_library_defaults(render):
    # A changed default means measuring the README's rows again under it.
    import results_io

    assert render.TODAY == results_io.library_defaults()
    # and the ensemble's tables, under its default members' trees
    from sktnce._ensemble import DEFAULT_TREE_PARAMS, WIDE_TABLE_BINS, WIDE_TABLE_COLUMNS

    assert render.TODAY_TREES == DEFAULT_TREE_PARAMS
    assert (render.TODAY_WIDE_COLUMNS, render.TODAY_WIDE_BINS) == (WIDE_TABLE_COLUMNS,
                                                                   WIDE_TABLE_BINS)


def test_tree_studies_name_their_rows_as_the_benchmark_does(render, monkeypatch):
    methods = _benchmark_module(monkeypatch, "methods")
    for study in (render.CHEAPER_STUDY, render.FEWER_ROUNDS_STUDY, render.FEWER_BINS_STUDY):
        assert study.suffix == ", trees with " + methods.trees_label(study.params)
    assert render.TODAY_TREES_LABEL == methods.trees_label(render.TODAY_TREES)


def test_every_result_file_the_renderer_reads_is_committed_not_ignored(render):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    render.rendered()
    read = sorted(str((render.RESULTS_DIR / name).relative_to(ROOT)) for name in render.READ)
    assert "benchmarks/results/label_efficiency_dropout_0.2.json" in read
    ignored = subprocess.run(["git", "check-ignore", *read], cwd=ROOT, capture_output=True,
                             text=True).stdout.split()
    assert ignored == []


def test_paired_differences_pair_fits_and_splits_or_split_means(render):
    # Same fits: element by element; else each split's mean over the fits.
    assert render.paired([1.0, 2.0, 3.0], [0.0, 0.0, 1.0], seeds=3)[0] == pytest.approx(5 / 3)
    three_fits = [0.5, 0.6, 0.7, 0.7, 0.6, 0.5]  # 2 fits x 3 splits: split means 0.6, 0.6, 0.6
    mean, sd = render.paired([0.7, 0.6, 0.8], three_fits, seeds=3)
    assert mean == pytest.approx(0.1) and sd == pytest.approx(0.1)
    assert render.paired_cell([0.9, 0.9, 0.9, 0.9, 0.9], [0.5] * 5).endswith("(above)")


def test_readme_bold_marks_the_best_cell_of_each_share(render):
    table = render.label_efficiency()
    block = render.readme_block(table)
    for line in block.splitlines():
        if not line.startswith("| ") or line.startswith("| data set"):
            continue
        cells = line.strip("|").split(" | ")[1:]
        groups = {0.01: cells[0:3], 0.1: cells[3:8], 1.0: cells[8:10]}
        for group in groups.values():
            values = [float(c.strip(" *†")) for c in group]
            bold = [float(c.strip(" *†")) for c in group if c.strip().startswith("**")]
            assert bold and all(b == max(values) for b in bold)


@pytest.fixture
def comparison(monkeypatch):
    return _benchmark_module(monkeypatch, "comparison")


def _row(accuracy, balanced=None, share=0.1):
    """A row of 5 splits whose scores are ``accuracy`` (``balanced``) plus a small offset
    per split."""
    offsets = [0.0, 0.01, -0.01, 0.02, -0.02]
    row = {"scores": {share: [accuracy + o for o in offsets]}}
    if balanced is not None:
        row["balanced"] = {share: [balanced + o for o in offsets]}
    return row


def test_imbalanced_sets_are_scored_by_balanced_accuracy(comparison):
    assert comparison.metric("adult") == "balanced"  # majority 0.766
    assert comparison.metric("movielens") == "scores"  # majority 0.558
    # On an imbalanced set the booster's accuracy is the majority's; its balanced accuracy
    # loses to the linear model's.
    rows = {"adult": {comparison.HGB: _row(0.77, 0.50), comparison.RAW: _row(0.74, 0.70)}}
    assert comparison.best_without(rows, "adult", 0.1) == comparison.RAW


def test_a_metric_matched_ensemble_is_class_balanced_where_the_set_is_scored_so(comparison):
    plain = comparison.ENSEMBLE + comparison.DEFAULT_VARIANT
    balanced = plain + comparison.BALANCED
    rows = {d: {plain: _row(0.8, 0.6), balanced: _row(0.7, 0.75)} for d in ("adult",
                                                                           "movielens")}
    matched = comparison.metric_matched(rows)
    assert matched["adult"][plain + comparison.MATCHED] == rows["adult"][balanced]
    assert matched["movielens"][plain + comparison.MATCHED] == rows["movielens"][plain]
    assert plain + comparison.MATCHED in comparison.CANDIDATES


def test_the_by_metric_ensemble_follows_the_metric_in_score_and_class_weights(comparison):
    blend = comparison.ENSEMBLE
    on_balanced = blend + ", scoring=balanced_accuracy" + comparison.BALANCED
    on_accuracy = blend + ", scoring=accuracy"
    rows = {d: {on_balanced: _row(0.7, 0.75), on_accuracy: _row(0.8, 0.6)}
            for d in ("adult", "movielens")}
    matched = comparison.metric_matched(rows)
    assert matched["adult"][blend + comparison.BY_METRIC] == rows["adult"][on_balanced]
    assert matched["movielens"][blend + comparison.BY_METRIC] == rows["movielens"][on_accuracy]
    assert blend + comparison.BY_METRIC in comparison.CANDIDATES


def test_the_advice_weighs_fine_tuning_against_the_ensemble_it_advises(render):
    c = render.comparison
    tuned, boosted = render.FINE_TUNED[0], render.BOOSTED[0]
    # fine-tuning beats the advised ensemble, boosting only the target-aware probe
    rows = {d: {c.RAW: _row(0.7, 0.7, 0.01), render.ADVISED: _row(0.75, 0.75, 0.01),
                tuned: _row(0.76, 0.76, 0.01), boosted: _row(0.74, 0.74, 0.01),
                c.AWARE: _row(0.72, 0.72, 0.01)} for d in render.REAL}
    sentence = " ".join(render._fine_tuning_sentence(rows, [0.01]).split())
    assert sentence.startswith("Fine-tuning the encoder")
    assert f"than the {c.SHORT[render.ADVISED]}, with 1% of the labels" in sentence
    assert "the raw columns beside the fused vector" not in sentence  # boosting: not better
    for d in render.REAL:
        rows[d][tuned] = _row(0.74, 0.74, 0.01)
    assert render._fine_tuning_sentence(rows, [0.01]).startswith("Neither")


def test_the_configuration_is_chosen_on_the_other_sets(comparison):
    a, b = comparison.CANDIDATES[:2]
    sets = ["multiple_features", "movielens", "trump_tweets"]
    # a leads b by a point everywhere but on trump_tweets, where b leads by ten.
    rows = {d: {comparison.RAW: _row(0.5), a: _row(0.52), b: _row(0.51)} for d in sets}
    rows["trump_tweets"][b] = _row(0.62)
    found = {r["dataset"]: r for r in comparison.held_out(rows, 0.1, sets)}
    assert found["trump_tweets"]["chosen"] == a  # chosen on the other two
    assert found["trump_tweets"]["mean"] == pytest.approx(0.02)
    # held out from either other set, b's lead on trump_tweets decides
    assert found["movielens"]["chosen"] == b
    assert found["movielens"]["without"] == comparison.RAW
    assert comparison.tally(found.values()) == (3, 3, 0)


def test_a_model_that_predicts_one_class_scores_chance_in_balanced_accuracy(comparison):
    assert comparison.predicts_one_class([0.5] * 5)  # two classes
    assert comparison.predicts_one_class([0.2, 0.2, 0.2])  # five
    assert not comparison.predicts_one_class([0.5, 0.5, 0.51])  # not on every split
    assert not comparison.predicts_one_class([1.0] * 3)
    assert not comparison.predicts_one_class([0.0] * 3)


def _one_class_row(accuracy, share=0.1):
    """A row that predicts the majority class (``accuracy`` of the rows) on every split."""
    return {"scores": {share: [accuracy] * 5}, "balanced": {share: [0.5] * 5}}


def test_a_one_class_row_leaves_the_best_without_sktnce_and_the_rows_stay(comparison):
    rows = {"movielens": {comparison.HGB: _one_class_row(0.56),
                          comparison.RAW: _row(0.54, 0.53)}}
    assert comparison.best_without(rows, "movielens", 0.1) == comparison.HGB
    assert comparison.best_without(rows, "movielens", 0.1,
                                   comparison.BALANCED_EVERYWHERE) == comparison.RAW
    left = comparison.without_one_class(rows)
    assert comparison.best_without(left, "movielens", 0.1) == comparison.RAW
    assert rows["movielens"][comparison.HGB] == _one_class_row(0.56)  # not modified


def test_the_scoring_rules_name_the_one_class_rival_and_tally_each_rule(render):
    c = render.comparison
    rows = {d: {c.RAW: _row(0.6, 0.6), c.TNCE: _row(0.58, 0.62)}
            for d in (*render.REAL, "generated")}
    rows["movielens"][c.HGB] = _one_class_row(0.65)
    rivals = render._one_class_rivals(rows, render._comparison(rows))
    assert rivals == ["MovieLens at 10% (HGB: accuracy 0.650, balanced accuracy 0.500)"]
    text = " ".join(" ".join(render.section_scoring_rules(rows)).split())
    assert "can be the best without sktnce: MovieLens at 10% (HGB" in text
    # by accuracy the fused probe is 0.02 below the raw columns' on every set, by balanced
    # accuracy 0.02 above: as above, 3 sets are scored so (clothing, Adult, Telco churn)
    assert "as above: 10% of the labels: at least level on 3 of 8, above by more than one " \
           "sd on 3, below on 5" in text
    assert "balanced accuracy on every set: 10% of the labels: at least level on 8 of 8, " \
           "above by more than one sd on 8" in text
    assert "| MovieLens | 10% | -0.070 ± 0.016 | +0.020 ± 0.000 | -0.020 ± 0.000 |" in text


def test_the_users_ensemble_at_255_bins_is_a_row_without_sktnce(comparison):
    plain = comparison.USER_ENSEMBLE + comparison.DEFAULT_VARIANT
    all_bins = comparison.USER_ENSEMBLE_ALL_BINS + comparison.DEFAULT_VARIANT
    rows = {"multiple_features": {plain: _row(0.986), all_bins: _row(0.988)}}
    assert comparison.best_without(rows, "multiple_features", 0.1) == all_bins
    assert comparison.SHORT[all_bins] == "LR + HGB ensemble with 255 bins on balanced accuracy"


def test_the_63_bin_comparison_keeps_the_users_255_bin_ensemble_among_the_rows_without(render):
    c = render.comparison
    plain = c.USER_ENSEMBLE + c.DEFAULT_VARIANT
    all_bins = c.USER_ENSEMBLE_ALL_BINS + c.DEFAULT_VARIANT
    today = {"adult": {plain: _row(0.7)},  # 255 bins there today
             "multiple_features": {plain: _row(0.5), all_bins: _row(0.9)}}
    rerun = {"adult": {plain: _row(0.6)}, "multiple_features": {plain: _row(0.5)}}
    found = render._with_users_at_all_bins(rerun, today)
    assert found["adult"][all_bins] == today["adult"][plain]
    assert found["adult"][plain] == _row(0.6)  # the rerun's own row stays
    assert found["multiple_features"][all_bins] == today["multiple_features"][all_bins]


def test_a_share_given_by_two_files_is_an_error(comparison):
    row = {"scores": {"0.1": [0.5] * 5}}
    with pytest.raises(ValueError, match="given twice"):
        comparison.merged({"a.json": {"adult": {"TupleInfoNCE": row}},
                           "b.json": {"adult": {"TupleInfoNCE": row}}})
    both = comparison.merged({"a.json": {"adult": {"TupleInfoNCE": row}},
                              "b.json": {"adult": {"TupleInfoNCE": {"scores": {"1.0": [0.6]}}}}})
    assert both["adult"]["TupleInfoNCE"]["scores"] == {0.1: [0.5] * 5, 1.0: [0.6]}


def _advice_rows(render):
    """Every study set at 10%: the raw columns' LR against the target-aware probe, level
    (equal) but where the caller changes them."""
    c = render.comparison
    return {d: {c.RAW: _row(0.6, 0.6), c.AWARE: _row(0.6, 0.6)}
            for d in [*render.REAL, "generated"]}


def test_the_advice_names_the_sets_below_by_more_than_one_sd_and_what_beat_sktnce(render):
    c = render.comparison
    rows = _advice_rows(render)
    rows["adult"][c.AWARE] = _row(0.70, 0.55)  # above by accuracy, below by balanced accuracy
    rows["trump_tweets"][c.HGB] = _row(0.65)  # the booster beats the probe
    rows["movielens"][c.AWARE] = {"scores": {0.1: [0.58, 0.61, 0.60, 0.61, 0.59]}}  # -0.002
    [found] = render._comparison(rows).values()
    above, level, below = render.verdicts(found)
    assert [r["dataset"] for r in below] == ["adult", "trump_tweets"]
    assert above == [] and len(level) == 6  # movielens within one sd
    text = render.advice_sentences(rows)
    assert ("below by more than one with 10% of the labels on Adult (against LR on raw, by "
            "balanced accuracy) and Trump tweets (against HGB);") in text
    assert "with 10% of the labels on no set." in text  # above nowhere
    assert ("fit a `LogisticRegression` and `HistGradientBoostingClassifier` on the raw "
            "columns too") in text
    # Above on one set and below nowhere: no set named below, no booster advised.
    rows = _advice_rows(render)
    rows["multiple_features"][c.AWARE] = _row(0.7)
    text = render.advice_sentences(rows)
    assert "with 10% of the labels on Multiple Features." in text
    assert "below by more than one on no set at any share" in text
    assert "HistGradientBoostingClassifier" not in text
    assert "try the fused vector first." in text


def test_the_advice_prices_the_ensemble_it_advises_once_measured(render, monkeypatch,
                                                                 tmp_path):
    def cost(**rows):
        return {"results": {"ensemble": [{"dataset": d, "share": share, "ratio": ratio,
                                          "member_ratios": {"fused_lr": 0.01, "trees": ratio}}
                                         for d, found in rows.items()
                                         for share, ratio in found]}}

    results = tmp_path / "results"
    results.mkdir()
    monkeypatch.setattr(render, "RESULTS_DIR", results)
    assert render._price_sentence() == ""
    (results / render.ENSEMBLE_COST).write_text(json.dumps(cost(
        adult=[(1.0, 0.3), (0.1, 0.2)], movielens=[(0.1, 2.0), (1.0, 9.0)])))
    assert render._price_sentence() == (
        "Its members' fits cost 0.20 to 2.00 times the fusion's own fit with 10% of the labels, "
        f"0.30 to 9.00 with 100%, on 2 study sets (RESULTS \"{render.PRICE_TITLE}\").")
    (results / render.MEMBER_COST).write_text(json.dumps(cost(
        adult=[(0.1, 0.5), (1.0, 3.0)], movielens=[(0.1, 1.5)])))
    assert render._price_sentence().endswith(
        ", most of it `trees`'s: alone it costs 0.50 to 1.50 times the fusion's fit with 10%, "
        "`fused_lr` at most 0.01.")
    cheaper = cost(adult=[(0.1, 0.1), (1.0, 0.2)], movielens=[(0.1, 1.2), (1.0, 4.0)])
    for row in cheaper["results"]["ensemble"]:
        row["cheaper_ratio"] = row["ratio"] / 2
    (results / render.TODAY_TREES_STUDY.cost).write_text(json.dumps(cheaper))
    assert render._price_sentence().endswith(
        "`fused_lr` at most 0.01. Its boosted trees take a quarter of scikit-learn's rounds at "
        "four times its learning rate: in the run that chose them, the members' fits cost 0.05 "
        "to 0.60 times the fusion's with 10%, 0.10 to 1.20 with the 50-round trees (RESULTS "
        "\"Fewer rounds still\").")
    # the other study's price is not the one that chose today's trees
    (results / render.TODAY_TREES_STUDY.cost).unlink()
    (results / render.CHEAPER_STUDY.cost).write_text(json.dumps(cheaper))
    assert render._price_sentence().endswith("`fused_lr` at most 0.01.")
    # said where the advice names the ensemble, not where it advises the fused vector alone
    rows = _advice_rows(render)
    rows["multiple_features"][render.comparison.AWARE] = _row(0.7)
    assert "Its members' fits cost" not in render.advice_sentences(rows)


def test_the_ensemble_section_sets_the_blend_beside_each_member_and_prices_them(
        render, monkeypatch, tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    blend, members = render.comparison.ENSEMBLE, ["fused_lr", "columns_hgb"]

    def row(log_loss, balanced, **extra):
        return {"fit_s": 10.0, "scores": {"0.1": [0.5, 0.5]}, "balanced": {"0.1": balanced},
                "log_loss": {"0.1": log_loss}, **extra}

    cells = {name: {**{variant: row([1.5, 1.5], [0.7, 0.7])
                       for variant in render.comparison.ENSEMBLES[1:]},
                    render.comparison.ENSEMBLES[0]: row([1.0, 2.0], [0.6, 0.8],
                                                        members_s={"0.1": [4.0, 6.0]}),
                    f"{blend} member fused_lr": row([2.0, 2.0], [0.5, 0.5]),
                    f"{blend} member columns_hgb": row([3.0, 3.0], [0.4, 0.4])}
             for name in ("adult", "movielens")}
    (results / render.ENSEMBLE_FILE).write_text(json.dumps({**{d: {} for d in render.REAL},
                                                            **cells}))
    monkeypatch.setattr(render, "RESULTS_DIR", results)
    text = "\n".join(render.section_ensemble())
    # Adult is scored by balanced accuracy: the blend's 1.500 / 0.700 and each member's
    assert "| Adult | 10% | " + "1.500 / 0.700 | " * len(render.comparison.ENSEMBLES) \
           + "2.000 / 0.500 | 3.000 / 0.400 |" in text
    assert [c for c in text.splitlines() if c.startswith("| data set")][0].endswith(
        " | " + " | ".join(members) + " |")
    # 5 seconds of members against a 10-second fusion, on both sets
    assert "10% of the labels 0.50 (0.50 to 0.50)" in " ".join(text.split())


def test_the_fused_vectors_share_pairs_the_ensemble_with_the_users_own(render):
    ours = render.comparison.ENSEMBLE + render.comparison.DEFAULT_VARIANT
    theirs = render.comparison.USER_ENSEMBLE + render.comparison.DEFAULT_VARIANT
    cells = {d: {ours: {"scores": {"0.1": [0.6, 0.7, 0.8]}, "balanced": {"0.1": [0.6, 0.7, 0.8]}},
                 theirs: {"scores": {"0.1": [0.5, 0.7, 0.7]},
                          "balanced": {"0.1": [0.6, 0.7, 0.8]}}}
             for d in render.REAL}
    text = " ".join(" ".join(render.ensemble_against_the_users(cells)).split())
    # +0.067 ± 0.058 by accuracy (above), 0 by balanced accuracy (level)
    assert "| Multiple Features | +0.067 ± 0.058 |" in text
    assert "| Adult | +0.000 ± 0.000 |" in text
    balanced = sum(render.comparison.metric(d) == "balanced" for d in render.REAL)
    assert f"10% of the labels {len(render.REAL) - balanced} / 0." in text


def test_the_regression_configuration_is_chosen_on_the_other_tables(render):
    c = render.comparison
    tables = ["ames", "hotel_rates", "loan_interest"]
    noise = [0.0, 0.01, -0.01, 0.02, -0.02]

    def r2(level):
        return {"r2": {0.1: [level + e for e in noise]}, "mae": {0.1: [1.0] * 5}}

    # The regressor leads the user's ensemble by 0.02 on two tables and trails by 0.05 on
    # loan_interest, where the ridge probe on the fused vector leads by 0.10.
    rows = {t: {c.REGRESSION_USER_ENSEMBLE: r2(0.6), c.RIDGE: r2(0.5), c.REGRESSOR: r2(0.62),
                c.FUSED_RIDGE: r2(0.55)} for t in tables}
    rows["loan_interest"][c.REGRESSOR] = r2(0.55)
    rows["loan_interest"][c.FUSED_RIDGE] = r2(0.70)
    found = {r["dataset"]: r for r in c.held_out(rows, 0.1, tables, study=c.REGRESSION)}
    assert found["loan_interest"]["chosen"] == c.REGRESSOR  # chosen on the other two
    assert found["loan_interest"]["without"] == c.REGRESSION_USER_ENSEMBLE
    assert found["loan_interest"]["mean"] == pytest.approx(-0.05)
    assert found["ames"]["chosen"] == c.FUSED_RIDGE  # loan_interest's lead decides
    block = render.regression_block(rows)
    assert block.startswith(render.REGRESSION_MARKERS[0])
    assert "| loan interest rates | 0.600 (Ridge + HGB ensemble) | 0.550 " in block
    # each table's choice trails there: the leave-one-out choice costs what it costs
    assert "at least level on 0 of the 3 tables" in block.replace("\n", " ")
    assert render.regression_block({}).count("Not measured yet") == 1


def _scores(level, key):
    """A result file's cell of 5 splits at 10% of the labels, ``level`` plus an offset each."""
    return {key: {"0.1": [level + e for e in (0.0, 0.01, -0.01, 0.02, -0.02)]}}


def _section(render, monkeypatch, tmp_path, name, cells, section):
    """``section``'s lines with ``cells`` as the result file ``name``; afterwards, with no
    result files, ``section`` must give none."""
    results = tmp_path / "results"
    results.mkdir()
    (results / name).write_text(json.dumps(cells), encoding="utf-8")
    monkeypatch.setattr(render, "RESULTS_DIR", results)
    text = "\n".join(section())
    monkeypatch.setattr(render, "RESULTS_DIR", tmp_path / "none")
    assert section() == []
    return text


def test_the_aware_weighing_section_pairs_cross_fitted_and_twin(render, monkeypatch, tmp_path):
    c = render.comparison
    variant = c.DEFAULT_VARIANT
    # adult is scored by balanced accuracy: the section reads each set in its metric
    cells = {"movielens": {c.ENSEMBLE + variant: _scores(0.5, "scores"),
                           c.AWARE_ENSEMBLE + variant: _scores(0.52, "scores"),
                           c.AWARE_ENSEMBLE_CROSS_FIT + variant: _scores(0.55, "scores")},
             "adult": {c.ENSEMBLE + variant: _scores(0.7, "balanced"),
                       c.AWARE_ENSEMBLE + variant: _scores(0.72, "balanced"),
                       c.AWARE_ENSEMBLE_CROSS_FIT + variant: _scores(0.71, "balanced")}}
    text = _section(render, monkeypatch, tmp_path, render.AWARE_WEIGHING_FILE, cells,
                    render.section_aware_weighing)
    assert "| MovieLens | 10% | 0.500 ± 0.014 | 0.520 ± 0.014 | 0.550 ± 0.014 | +0.030 ± " \
           "0.000 (above) |" in text
    assert "| Adult (balanced) | 10% | 0.700 ± 0.014 | 0.720 ± 0.014 | 0.710 ± 0.014 | " \
           "-0.010 ± 0.000 (below) |" in text
    assert "higher on 1 of the 2 sets, lower on 1, by +0.010 on average" in " ".join(
        text.split())


def _by_metric(comparison, key, blends, levels):
    """Each of ``blends``' rows by ``key``'s metric (``by_metric_row``) at its level of
    ``levels``, and every other variant far off, so that a wrong row shows."""
    metric = comparison.metric(key)
    rows = {}
    for blend, level in zip(blends, levels):
        for suffix in comparison.VARIANTS:
            rows[blend + suffix] = _scores(0.0, metric)
        rows[comparison.by_metric_row(blend, key)] = _scores(level, metric)
    return rows


def test_the_fused_trees_section_pairs_each_ensemble_by_the_sets_metric(render, monkeypatch,
                                                                        tmp_path):
    c = render.comparison

    def ensembles(key, levels):
        """Aware, aware + trees, plain, plain + trees at ``levels``."""
        return _by_metric(c, key, (c.AWARE_ENSEMBLE, c.AWARE_ENSEMBLE + c.FUSED_TREES,
                                   c.ENSEMBLE, c.ENSEMBLE + c.FUSED_TREES), levels)

    # adult is scored by balanced accuracy: its rows are the class-balanced ones
    cells = {"movielens": ensembles("movielens", (0.52, 0.55, 0.5, 0.49)),
             "adult": ensembles("adult", (0.72, 0.71, 0.7, 0.7))}
    text = _section(render, monkeypatch, tmp_path, render.FUSED_TREES_FILE, cells,
                    render.section_fused_trees)
    assert "| MovieLens | 10% | 0.520 ± 0.014 | 0.550 ± 0.014 | +0.030 ± 0.000 (above) | " \
           "-0.010 ± 0.000 (below) |" in text
    assert "| Adult (balanced) | 10% | 0.720 ± 0.014 | 0.710 ± 0.014 | -0.010 ± 0.000 " \
           "(below) | +0.000 ± 0.000 |" in text
    flat = " ".join(text.split())
    assert "10% of the labels 1 of the 2 sets higher, 1 lower (1 and 1 by more than one sd), " \
           "+0.010 on average" in flat
    assert "10% 0 of the 2 sets higher, 1 lower" in flat


def test_the_selection_rule_section_pairs_each_configuration_with_its_rule(render, monkeypatch,
                                                                           tmp_path):
    c = render.comparison

    def rows(key, levels):
        """Each configuration's greedy row and its one-SE twin at ``levels`` (greedy, rule),
        in ``key``'s metric, and each row of the other metric far off, so a wrong one shows."""
        metric = c.metric(key)
        cells = {}
        for (greedy, rule), name in zip(levels, render._rule_configurations(key).values()):
            cells[name] = _scores(greedy, metric)
            cells[render._ended_by_the_rule(name)] = _scores(rule, metric)
        return cells

    # adult (balanced accuracy): the configuration by the metric is its class-balanced row
    assert render._ended_by_the_rule(c.by_metric_row(c.AWARE_ENSEMBLE, "adult")) \
        == c.AWARE_ENSEMBLE + ", scoring=balanced_accuracy" + render.ONE_SE + c.BALANCED
    cells = {"movielens": rows("movielens", ((0.5, 0.48), (0.52, 0.5), (0.4, 0.45))),
             "adult": rows("adult", ((0.7, 0.69), (0.7, 0.7), (0.6, 0.55)))}
    text = _section(render, monkeypatch, tmp_path, render.SELECTION_RULE_FILE, cells,
                    render.section_selection_rule)
    assert "| MovieLens | 10% | target-aware ensemble, by the metric | 1 × 5 | 0.520 ± 0.014 " \
           "| 0.500 ± 0.014 | -0.020 ± 0.000 (below) |" in text
    assert "| Adult (balanced) | 10% | LR + HGB ensemble on balanced accuracy | 1 × 5 | " \
           "0.600 ± 0.014 | 0.550 ± 0.014 | -0.050 ± 0.000 (below) |" in text
    flat = " ".join(text.split())
    assert "target-aware ensemble, by the metric: higher on 0 of the 2 real sets, lower on 1, " \
           "by -0.010 on average" in flat
    # the user's own ensemble gains on one set: no verdict that the rule lowers every one
    assert "not an option of the estimators" not in flat
    cells["adult"] = rows("adult", ((0.7, 0.69), (0.7, 0.7), (0.6, 0.5)))
    cells["movielens"] = rows("movielens", ((0.5, 0.48), (0.52, 0.5), (0.4, 0.42)))
    (tmp_path / "again").mkdir()
    text = _section(render, monkeypatch, tmp_path / "again", render.SELECTION_RULE_FILE, cells,
                    render.section_selection_rule)
    assert "not an option of the estimators" in " ".join(text.split())


@pytest.mark.parametrize("study", ["CHEAPER_STUDY", "FEWER_ROUNDS_STUDY",
                                   "FEWER_BINS_STUDY"])
def test_each_tree_study_section_pairs_each_blend_by_the_sets_metric(render, monkeypatch,
                                                                      tmp_path, study):
    c = render.comparison
    study = getattr(render, study)

    def rows(key, levels, seconds):
        """Each blend's row by ``key``'s metric at ``levels`` (ensemble, with the study's
        trees, user's, with the study's trees) and every other variant far off; the members'
        seconds (default, the study's)."""
        cells = _by_metric(c, key, (c.ENSEMBLE, c.ENSEMBLE + study.suffix,
                                    c.USER_ENSEMBLE, c.USER_ENSEMBLE + study.suffix), levels)
        cells[c.ENSEMBLE]["members_s"] = {"0.1": [seconds[0]] * 5}
        cells[c.ENSEMBLE + study.suffix]["extra_members_s"] = {"0.1": [seconds[1]] * 5}
        return cells

    # adult is scored by balanced accuracy: its rows are the class-balanced ones
    cells = {"movielens": rows("movielens", (0.5, 0.52, 0.49, 0.48), (10.0, 4.0)),
             "adult": rows("adult", (0.7, 0.69, 0.7, 0.7), (10.0, 6.0))}
    text = _section(render, monkeypatch, tmp_path, study.file, cells,
                    lambda: render.section_tree_study(study))
    assert f"### {study.title}" in text and study.command in " ".join(text.split())
    assert "| MovieLens | 10% | 1 × 5 | 0.500 ± 0.014 | 0.520 ± 0.014 | +0.020 ± 0.000 (above) " \
           "| 0.490 ± 0.014 | 0.480 ± 0.014 | -0.010 ± 0.000 (below) | 0.40 |" in text
    assert "| Adult (balanced) | 10% | 1 × 5 | 0.700 ± 0.014 | 0.690 ± 0.014 | -0.010 ± 0.000 " \
           "(below) | 0.700 ± 0.014 | 0.700 ± 0.014 | +0.000 ± 0.000 | 0.60 |" in text
    flat = " ".join(text.split())
    assert "the ensemble: 10% of the labels 1 of the 2 real sets higher, 1 lower (1 and 1 by " \
           "more than one sd), +0.005 on average" in flat
    assert "The user's own ensemble: 10% 0 of the 2 real sets higher, 1 lower" in flat
    assert "median over the real sets: 10% 0.50 (0.40 to 0.60)" in flat


def test_the_comparison_reads_a_file_instead_of_a_source_where_told(render):
    c = render.comparison
    swap = {render.ENSEMBLE_FILE: render.BINS_DEFAULT_FILE,
            render.AWARE_ENSEMBLE_FILE: render.BINS_DEFAULT_FILE}
    today, rerun = render.comparison_rows(), render.comparison_rows(swap)
    bins = render.load(render.BINS_DEFAULT_FILE)
    aware, narrow, wide = c.AWARE_ENSEMBLE, "lending_club", "multiple_features"
    assert rerun[narrow][c.HGB] == today[narrow][c.HGB]  # the other sources' rows stay
    assert rerun[narrow][aware]["scores"][0.1] == bins[narrow][aware]["scores"]["0.1"]
    assert rerun[narrow][aware]["scores"][0.1] != today[narrow][aware]["scores"][0.1]
    # today's trees take 63 bins on the wide table: the same scores as that run's
    assert rerun[wide][aware]["scores"] == today[wide][aware]["scores"]
    text = " ".join(render.section_bins_as_default())
    level = render._real_tally(render._comparison(
        render._with_users_at_all_bins(rerun, today))[0.1])[0]
    assert f"at least level on {level} sets, not " in " ".join(text.split())


def test_the_self_training_section_pairs_the_ensemble_with_and_without_it_by_the_metric(
        render, monkeypatch, tmp_path):
    c = render.comparison

    def rows(key, levels, weight, seconds):
        """The ensemble without and with the member by ``key``'s metric at ``levels[:2]``
        (every other variant far off), ``fused_lr`` and the member alone at ``levels[2:]``,
        the member's weight, and the seconds (default members, the member)."""
        cells = _by_metric(c, key, (c.ENSEMBLE, c.ENSEMBLE + render.WITH_SELF_TRAINING),
                           levels[:2])
        metric = c.metric(key)
        cells[f"{c.ENSEMBLE} member fused_lr"] = _scores(levels[2], metric)
        cells[render.SELF_TRAINING_MEMBER] = _scores(levels[3], metric)
        chosen = c.by_metric_row(c.ENSEMBLE + render.WITH_SELF_TRAINING, key)
        cells[chosen]["weight"] = {"0.1": [weight] * 5}
        cells.setdefault(c.ENSEMBLE + ", scoring=accuracy", _scores(0.0, metric)).update(
            members_s={"0.1": [seconds[0]] * 5}, extra_members_s={"0.1": [seconds[1]] * 5})
        return cells

    # adult is scored by balanced accuracy: its rows are the class-balanced ones
    cells = {"movielens": rows("movielens", (0.5, 0.52, 0.45, 0.46), 0.25, (10.0, 2.0)),
             "adult": rows("adult", (0.7, 0.69, 0.6, 0.61), 0.5, (10.0, 4.0))}
    text = _section(render, monkeypatch, tmp_path, render.SELF_TRAINING_FILE, cells,
                    render.section_self_training_member)
    assert "### Self-training on the fused vector" in text
    assert "| MovieLens | 10% | 1 × 5 | 0.450 ± 0.014 | 0.460 ± 0.014 | 0.500 ± 0.014 | " \
           "0.520 ± 0.014 | +0.020 ± 0.000 (above) | 0.25 | 0.20 |" in text
    assert "| Adult (balanced) | 10% | 1 × 5 | 0.600 ± 0.014 | 0.610 ± 0.014 | 0.700 ± 0.014 " \
           "| 0.690 ± 0.014 | -0.010 ± 0.000 (below) | 0.50 | 0.40 |" in text
    flat = " ".join(text.split())
    assert "the ensemble: 10% of the labels 1 of the 2 real sets higher, 1 lower (1 and 1 by " \
           "more than one sd), +0.005 on average" in flat
    assert "median over the real sets: 10% 0.30 (0.20 to 0.40)." in flat


@pytest.mark.parametrize("study", ["CHEAPER_STUDY", "FEWER_ROUNDS_STUDY",
                                   "FEWER_BINS_STUDY"])
def test_each_tree_studys_price_gives_each_shares_spread(render, monkeypatch, tmp_path, study):
    study = getattr(render, study)
    results_io = _benchmark_module(monkeypatch, "results_io")
    rows = [{"dataset": d, "share": share, "ratio": ratio, "cheaper_ratio": ratio / 2}
            for d, ratio in (("adult", 0.2), ("multiple_features", 2.0)) for share in (0.1, 1.0)]
    printed = "| data set | labelled |\n|---|---|\n| adult | 10% |"
    results_io.write(tmp_path / study.cost, script="bench_cost.py",
                     argv=["--ensemble-only", "--trees", "{}"], printed=printed,
                     results={"ensemble": rows})
    monkeypatch.setattr(render, "RESULTS_DIR", tmp_path)
    flat = " ".join("\n".join(render._tree_study_price(study)).split())
    assert "| adult | 10% |" in flat and "--trees" in flat
    # a study run under the default trees of an earlier day says so
    assert flat.count("Run at commit") == (study is not render.FEWER_BINS_STUDY)
    assert f"on the 2 sets: at 10% of the labels 0.10 to 1.00 with the {study.other}, 0.20 to " \
           f"2.00 with {study.base}; at 100%" in flat
    monkeypatch.setattr(render, "RESULTS_DIR", tmp_path / "none")
    assert render._tree_study_price(study) == []


def test_the_member_price_section_ranks_the_members_by_their_median_price(render, monkeypatch,
                                                                          tmp_path):
    def row(dataset, share, ratios):
        return {"dataset": dataset, "share": share, "member_ratios": dict(zip(
            ("fused_lr", "columns_lr", "columns_hgb", "columns_hgb_leaf5"), ratios))}

    rows = [row("adult", 0.1, (0.01, 0.02, 0.5, 1.0)), row("adult", 1.0, (0.03, 0.01, 0.3, 2.0)),
            row("movielens", 0.1, (0.005, 0.04, 0.9, 0.1))]
    cells = {"command": "python benchmarks/bench_cost.py --ensemble-only --per-member",
             "defaults": {}, "tables": [{"columns": ["data set", "fused_lr / fusion"],
                                         "rows": [["adult", "0.01"]]}],
             "results": {"ensemble": rows}}
    text = _section(render, monkeypatch, tmp_path, render.MEMBER_COST, cells,
                    render.section_member_price)
    assert "| adult | 0.01 |" in text and "--per-member`; today's defaults." in text
    assert "median over the 2 sets and 2 label shares (range): columns_hgb_leaf5 1.00 (0.10 " \
           "to 2.00); columns_hgb 0.50 (0.30 to 0.90); columns_lr 0.02 (0.01 to 0.04); " \
           "fused_lr 0.01 (0.01 to 0.03)." in " ".join(text.split())


def test_a_regression_row_measured_at_one_share_is_marked_at_the_others(render, monkeypatch):
    c = render.comparison
    both = {"r2": {0.1: [0.5] * 5, 1.0: [0.7] * 5}, "mae": {0.1: [2.0] * 5, 1.0: [1.5] * 5}}
    one = {"r2": {0.1: [0.6] * 5}, "mae": {0.1: [1.8] * 5}}
    monkeypatch.setattr(render, "REGRESSION_FILES", {})
    section = render.section_regression({"ames": {c.RIDGE: both, c.AWARE_CROSS_FIT: one}})
    assert "| model | 10% R² | 100% R² | 10% MAE | 100% MAE |" in section
    assert (f"| {c.AWARE_CROSS_FIT} | 0.600 ± 0.000 | {render.NOT_MEASURED} | 1.800 | "
            f"{render.NOT_MEASURED} |") in section
    # a share's choice reads only the candidates measured there on every table
    rows = {t: {c.REGRESSION_USER_ENSEMBLE: both, c.REGRESSOR: both, c.AWARE_CROSS_FIT: one}
            for t in ("ames", "hotel_rates")}
    assert {r["chosen"] for r in c.held_out(rows, 1.0, ["ames", "hotel_rates"],
                                            study=c.REGRESSION)} == {c.REGRESSOR}
    assert {r["chosen"] for r in c.held_out(rows, 0.1, ["ames", "hotel_rates"],
                                            study=c.REGRESSION)} == {c.AWARE_CROSS_FIT}


def test_wrapped_lines_never_begin_with_a_list_marker(render):
    for marker in "+-*":
        text = " ".join(["word"] * 30 + [marker, "next"] + ["word"] * 30)
        for width in range(20, 60):
            lines = render.wrap(text, width).splitlines()
            assert not any(line.startswith(marker + " ") for line in lines)
            assert " ".join(lines) == text
    assert render.wrap("a + b", 3) == "a +\nb"
