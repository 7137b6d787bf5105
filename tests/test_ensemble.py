import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold, cross_val_predict
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktnce import (TupleInfoNCEClassifier, TupleInfoNCEEnsembleClassifier, TupleInfoNCEFusion,
                    labelled_scorer)
from sktnce._ensemble import _FOLDS, _MEMBERS, _folds, default_members, draw_seeds, seeded
from sktnce._selection import log_loss_of

from .conftest import FAST


def _partial(y, share=0.3, seed=0):
    partial = y.copy()
    partial[np.random.default_rng(seed).random(len(y)) >= share] = -1
    return partial


def _fusion(modalities, **params):
    return TupleInfoNCEFusion(modalities=modalities, **{**FAST, **params})


def _ensemble(modalities, fusion_params=None, **params):
    return TupleInfoNCEEnsembleClassifier(_fusion(modalities, **(fusion_params or {})),
                                          **{"random_state": 0, **params})


@pytest.fixture(scope="module")
def table():
    from sktnce.datasets import make_multimodal_classification

    X, y, columns = make_multimodal_classification(n_samples=160, random_state=0)
    return X, y, [(name, StandardScaler(), cols) for name, cols in columns.items()]


@pytest.fixture(scope="module")
def fitted(table):
    X, y, modalities = table
    return _ensemble(modalities).fit(X, _partial(y))


def test_fit_predict_and_the_leaderboard(table, fitted):
    pd = pytest.importorskip("pandas")
    X, y, _ = table
    board = pd.DataFrame(fitted.leaderboard_)
    assert board["member"].tolist() == [name for name, _, _ in default_members()]
    assert board["weight"].sum() == pytest.approx(1.0)
    kept = board[board["weight"] > 0]
    assert [name for name, _, _ in fitted.members_] == kept["member"].tolist()
    np.testing.assert_allclose(fitted.weights_, kept["weight"])
    assert set(fitted.named_estimators_) == set(kept["member"])
    proba = fitted.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.array_equal(fitted.predict(X), fitted.classes_[proba.argmax(axis=1)])
    assert -1 not in fitted.classes_


def test_the_blend_is_the_weighted_mean_of_the_kept_members(table, fitted):
    X, _, _ = table
    r = fitted.fusion_.transform(X)
    state = fitted.fusion_._get_state()
    from sktnce._modalities import encode_input

    columns = encode_input(fitted.fusion_, state.preprocessing, X, "cpu").features.numpy()
    view = {"fused": r, "columns": columns, "columns_and_fused": np.hstack([columns, r])}
    expected = sum(w * member.predict_proba(view[v])
                   for w, (_, member, v) in zip(fitted.weights_, fitted.members_))
    np.testing.assert_allclose(fitted.predict_proba(X), expected, rtol=1e-6)


def test_the_leaderboard_scores_out_of_fold_predictions(table, fitted):
    X, y, _ = table
    y_partial = _partial(y)
    labelled = y_partial != -1
    codes = np.searchsorted(fitted.classes_, y_partial[labelled])
    r = fitted.fusion_.transform(X)[labelled]
    seeds = np.random.RandomState(0).randint(np.iinfo(np.int32).max, size=3)
    folds = _folds(codes, 3, int(seeds[1]))
    assert isinstance(folds, StratifiedKFold)
    member = default_members()[0][1].set_params(logisticregression__random_state=None)
    oof = cross_val_predict(member, r, codes, cv=folds, method="predict_proba")
    board = fitted.leaderboard_
    assert board["log_loss"][0] == pytest.approx(log_loss_of(oof, codes), rel=1e-6)
    assert board["balanced_accuracy"][0] == pytest.approx(
        balanced_accuracy_score(codes, oof.argmax(axis=1)))


def test_a_member_that_memorises_its_rows_is_weighted_on_rows_it_did_not_see(table):
    X, y, modalities = table
    members = [("memoriser", KNeighborsClassifier(1), "columns_and_fused"),
               ("fused_lr", make_pipeline(StandardScaler(), LogisticRegression()), "fused")]
    model = _ensemble(modalities, members=members).fit(X, _partial(y, share=0.6))
    # On the rows it was fitted on, 1-NN is always right; out of fold it is not.
    assert model.leaderboard_["accuracy"][0] < 0.9
    assert model.leaderboard_["log_loss"][0] > model.leaderboard_["log_loss"][1]


def test_same_random_state_is_bit_identical(table, fitted):
    X, y, modalities = table
    again = _ensemble(modalities).fit(X, _partial(y))
    assert np.array_equal(again.predict_proba(X), fitted.predict_proba(X))
    assert again.leaderboard_ == fitted.leaderboard_


def test_the_blend_does_not_depend_on_n_jobs(table, fitted):
    X, y, modalities = table
    parallel = TupleInfoNCEEnsembleClassifier(fitted.fusion_, fit_fusion=False, n_jobs=2,
                                              random_state=0).fit(X, _partial(y))
    serial = TupleInfoNCEEnsembleClassifier(fitted.fusion_, fit_fusion=False,
                                            random_state=0).fit(X, _partial(y))
    # The out-of-fold fits ran in worker processes, whose BLAS may use other thread counts:
    # their scores agree to rounding; the weights, and the refits in this process, exactly.
    for key, values in serial.leaderboard_.items():
        if key in ("member", "view", "weight"):
            assert parallel.leaderboard_[key] == values
        else:
            np.testing.assert_allclose(parallel.leaderboard_[key], values, rtol=1e-9)
    assert np.array_equal(parallel.predict_proba(X), serial.predict_proba(X))


def test_a_prefitted_fusion_is_used_as_it_is(table, monkeypatch):
    X, y, modalities = table
    fusion = _fusion(modalities).fit(X)
    r = fusion.transform(X)

    def no_training(*args, **kwargs):
        raise AssertionError("the fusion was fitted again")

    monkeypatch.setattr(TupleInfoNCEFusion, "fit", no_training)
    model = TupleInfoNCEEnsembleClassifier(fusion, fit_fusion=False, random_state=0)
    model.fit(X, _partial(y))
    assert model.fusion_ is fusion
    np.testing.assert_array_equal(model.fusion_.transform(X), r)


def test_a_prefitted_fusion_must_be_fitted_and_unsupervised(table):
    X, y, modalities = table
    with pytest.raises(ValueError, match="fit_fusion=False.*not fitted"):
        TupleInfoNCEEnsembleClassifier(_fusion(modalities), fit_fusion=False).fit(X, y)
    aware = _fusion(modalities, label_weight=1.0).fit(X, y)
    with pytest.raises(ValueError, match="trained on labels"):
        TupleInfoNCEEnsembleClassifier(aware, fit_fusion=False).fit(X, y)


def test_a_target_aware_fusion_is_graded_by_its_unsupervised_twin(table, fusion_fits):
    X, y, modalities = table
    y_partial = _partial(y)
    model = _ensemble(modalities, fusion_params={"label_weight": 1.0}).fit(X, y_partial)
    (aware, y_aware), (twin, y_twin) = [(f.label_weight, y) for f, y in fusion_fits]
    assert aware == 1.0 and np.array_equal(y_aware, y_partial)
    assert twin == 0.0 and y_twin is None
    assert model.fusion_.label_weight == 1.0 and hasattr(model.fusion_, "classes_")
    # members that never read the fused vector need no twin
    fusion_fits.clear()
    _ensemble(modalities, fusion_params={"label_weight": 1.0},
              members=default_members()[1:]).fit(X, y_partial)
    assert [fusion.label_weight for fusion, _ in fusion_fits] == [1.0]


def test_cross_fit_weighs_a_target_aware_fusion_on_one_fusion_per_fold(table, fusion_fits):
    X, y, modalities = table
    partial = _partial(y)
    y_partial = np.array([-1 if v < 0 else "abcdefgh"[v] for v in partial], dtype=object)
    model = _ensemble(modalities, fusion_params={"label_weight": 1.0},
                      aware_weighing="cross_fit").fit(X, y_partial)
    (full, y_full), *per_fold = fusion_fits
    assert full is model.fusion_
    labelled = np.flatnonzero(partial >= 0)
    codes = np.searchsorted(model.classes_, y_partial[labelled].astype(str))
    seeds = draw_seeds(0)
    folds = list(_folds(codes, 3, int(seeds[_FOLDS])).split(labelled, codes))
    assert len(per_fold) == len(folds)  # no twin: one fusion per fold, the same seed
    proba = np.empty((len(labelled), len(model.classes_)))
    for (fusion, y_fold), (train, test) in zip(per_fold, folds):
        assert fusion.label_weight == 1.0 and fusion.random_state == full.random_state
        # each fold's fusion saw the labels of the other folds' rows, as given, and none of
        # its own
        seen = np.flatnonzero([not (type(v) is int and v == -1) for v in y_fold.tolist()])
        np.testing.assert_array_equal(seen, labelled[train])
        assert (y_fold[seen] == y_partial[seen]).all()
        r = fusion.transform(X).astype(np.float32)
        probe = seeded(default_members()[0][1], int(seeds[_MEMBERS]))
        probe.fit(r[labelled[train]], codes[train])
        proba[test] = probe.predict_proba(r[labelled[test]])
    assert model.leaderboard_["member"][0] == "fused_lr"
    assert model.leaderboard_["log_loss"][0] == pytest.approx(log_loss_of(proba, codes))


@pytest.mark.parametrize("method", ["predict", "predict_proba"])
def test_fold_predictions_over_one_view_per_fold(method):
    from sktnce._ensemble import fold_predictions

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 10)
    rows = np.arange(30)
    # each fold's views differ, as those of a fusion that saw other targets would
    views = [{"fused": rng.normal(size=(30, 4)) + y[:, None] * k} for k in range(3)]
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    member = LogisticRegression()
    found = fold_predictions(member, views, "fused", rows, y, folds, method=method)
    expected = np.empty(found.shape)
    for (train, test), fold_views in zip(folds.split(rows, y), views):
        fitted = clone(member).fit(fold_views["fused"][train], y[train])
        expected[test] = getattr(fitted, method)(fold_views["fused"][test])
    np.testing.assert_array_equal(found, expected)
    # in worker processes, whose BLAS may use other thread counts: equal to rounding
    parallel = fold_predictions(member, views, "fused", rows, y, folds, method=method,
                                n_jobs=2)
    np.testing.assert_allclose(parallel, found, rtol=1e-9)
    # a class a training fold lacks gets probability 0, as cross_val_predict gives it
    if method == "predict_proba":
        few = np.array([0, 0, 0, 1, 1, 1, 2])
        padded = fold_predictions(member, [{"fused": v["fused"][:7]} for v in views], "fused",
                                  np.arange(7), few, KFold(3), method=method)
        assert padded.shape == (7, 3) and (padded[few == 2, 2] == 0).all()


def test_cross_fit_with_leave_one_out_on_too_few_labels_is_refused(table, monkeypatch):
    X, y, modalities = table
    monkeypatch.setattr(TupleInfoNCEFusion, "fit", lambda *a, **k: pytest.fail("trained"))
    y_few = np.full(len(y), -1)
    y_few[:13] = [0, 1] * 6 + [2]
    model = _ensemble(modalities, fusion_params={"label_weight": 1.0},
                      aware_weighing="cross_fit", fallback="leave_one_out")
    with pytest.raises(ValueError, match="13 more fits"):
        model.fit(X, y_few)


def test_cross_fit_is_ignored_without_labels_in_the_fusion(table, fitted):
    X, y, modalities = table
    crossed = _ensemble(modalities, aware_weighing="cross_fit").fit(X, _partial(y))
    assert crossed.leaderboard_ == fitted.leaderboard_
    np.testing.assert_array_equal(crossed.predict_proba(X), fitted.predict_proba(X))


def test_too_few_labels_for_stratified_folds_fall_back(table):
    X, y, modalities = table
    codes = np.array([0, 0, 0, 1, 1, 1, 2])
    assert isinstance(_folds(codes, 5, 0), KFold)
    # one row of class 2 labelled: plain folds, and a fit that still blends
    y_partial = np.full(len(y), -1)
    y_partial[:12] = [0, 1] * 6
    y_partial[12] = 2
    model = _ensemble(modalities).fit(X, y_partial)
    assert model.classes_.tolist() == [0, 1, 2]
    assert sum(model.leaderboard_["weight"]) == pytest.approx(1.0)
    # two labelled rows: a training fold of one class, so every member weighs the same
    y_two = np.full(len(y), -1)
    y_two[:2] = [0, 1]
    model = _ensemble(modalities).fit(X, y_two)
    assert model.leaderboard_["weight"] == [0.25] * 4
    assert np.isnan(model.leaderboard_["log_loss"]).all()


@pytest.mark.parametrize("params", [{"scoring": "roc_auc"}, {"fallback": "drop"}, {"cv": 1},
                                    {"n_selection_rounds": 0}])
def test_bad_parameters_are_refused_before_training(table, params, monkeypatch):
    from sklearn.utils._param_validation import InvalidParameterError

    X, y, modalities = table
    monkeypatch.setattr(TupleInfoNCEFusion, "fit", lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(InvalidParameterError, match=list(params)[0]):
        _ensemble(modalities, **params).fit(X, y)


@pytest.mark.parametrize("fallback", ["leave_one_out", "equal", "first"])
def test_the_fallback_applies_only_where_a_class_has_one_labelled_row(table, fitted, fallback):
    X, y, modalities = table
    y_few = np.full(len(y), -1)
    y_few[:12] = [0, 1] * 6
    y_few[12] = 2
    model = TupleInfoNCEEnsembleClassifier(fitted.fusion_, fit_fusion=False, fallback=fallback,
                                           random_state=0).fit(X, y_few)
    board = model.leaderboard_
    expected = {"equal": [0.25] * 4, "first": [1.0, 0.0, 0.0, 0.0]}.get(fallback)
    if expected is None:  # leave one out: out-of-fold scores on every labelled row
        assert np.isfinite(board["log_loss"]).all() and sum(board["weight"]) == pytest.approx(1)
    else:
        assert board["weight"] == expected and np.isnan(board["log_loss"]).all()
    # with 2 labelled rows of every class, stratified folds: no fallback at all
    plain = TupleInfoNCEEnsembleClassifier(fitted.fusion_, fit_fusion=False, fallback=fallback,
                                           random_state=0).fit(X, _partial(y))
    assert plain.leaderboard_ == TupleInfoNCEEnsembleClassifier(
        fitted.fusion_, fit_fusion=False, random_state=0).fit(X, _partial(y)).leaderboard_


@pytest.mark.parametrize("kind, message", [
    ("one class", r"one class only"),
    ("all unlabelled", "no labelled row"),
    ("continuous", "Unknown label type"),
    ("string -1", "string '-1'"),
    ("NaN", "NaN"),
])
def test_bad_targets_are_refused_before_training(table, kind, message, monkeypatch):
    X, y, modalities = table
    y_bad = {"one class": np.where(y > 3, 1, -1),
             "all unlabelled": np.full(len(y), -1),
             "continuous": y + 0.5,
             "string -1": np.where(y > 3, "a", "-1"),
             "NaN": np.where(y > 3, y, np.nan)}[kind]

    def no_training(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(TupleInfoNCEFusion, "fit", no_training)
    model = _ensemble(modalities)
    with pytest.raises(ValueError, match=message):
        model.fit(X, y_bad)
    assert not hasattr(model, "members_")


@pytest.mark.parametrize("members, error, message", [
    ([], ValueError, "members is empty"),
    ([("a", LogisticRegression())], TypeError, r"members\[0\] must be a \(name"),
    ([("a", LogisticRegression(), "raw")], ValueError, "view must be one of"),
    ([("a", StandardScaler(), "fused")], TypeError, "predict_proba"),
    ([("a", LogisticRegression(), "fused")] * 2, ValueError, "Duplicate member name"),
    ([("a__b", LogisticRegression(), "fused")], ValueError, "without '__'"),
])
def test_bad_members_are_refused_before_training(table, members, error, message,
                                                 monkeypatch):
    X, y, modalities = table
    monkeypatch.setattr(TupleInfoNCEFusion, "fit", lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(error, match=message):
        _ensemble(modalities, members=members).fit(X, y)


@pytest.mark.parametrize("kind", ["bool", "uint8", "str list with -1"])
def test_label_types(table, kind):
    X, y, modalities = table
    y_kind = {"bool": y < 4, "uint8": y.astype(np.uint8),
              "str list with -1": [-1 if i % 3 == 0 else "abcdefgh"[v]
                                   for i, v in enumerate(y)]}[kind]
    model = _ensemble(modalities, fusion_params={"label_weight": 1.0}).fit(X, y_kind)
    values = [v for v in np.asarray(y_kind, dtype=object).tolist()
              if not (type(v) is int and v == -1)]
    assert model.classes_.tolist() == sorted(set(values))
    assert set(model.predict(X).tolist()) <= set(model.classes_.tolist())
    assert labelled_scorer()(model, X, y_kind) == model.score(X, y_kind)


def test_an_absent_modality_is_missing_to_the_members(table):
    X, y, modalities = table
    X = X.copy()
    absent = np.arange(len(X)) % 4 == 0
    X[np.ix_(absent, modalities[2][2])] = np.nan
    model = _ensemble(modalities, members=[
        ("columns_lr", default_members()[1][1], "columns")]).fit(X, _partial(y))
    lr = model.named_estimators_["columns_lr"]
    imputer = lr[0]
    weak = model.fusion_.output_indices_["weak"]
    # the imputer saw NaN in the weak block (its mean is over the present rows), not zeros
    from sktnce._modalities import encode_input

    encoded = encode_input(model.fusion_, model.fusion_._get_state().preprocessing, X, "cpu")
    present = (_partial(y) != -1) & ~absent
    block = encoded.features.numpy()[present][:, weak]
    np.testing.assert_allclose(imputer.statistics_[weak], block.mean(axis=0), rtol=1e-5)


def test_clone_pickle_grid_search_and_pandas_output(table, fitted):
    pd = pytest.importorskip("pandas")
    from sklearn import config_context

    X, y, modalities = table
    assert np.array_equal(pickle.loads(pickle.dumps(fitted)).predict_proba(X),
                          fitted.predict_proba(X))
    assert not hasattr(clone(fitted), "members_")
    y_partial = _partial(y, share=0.5)
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    search = GridSearchCV(_ensemble(modalities), {"n_selection_rounds": [1, 10]}, cv=folds,
                          scoring=labelled_scorer()).fit(X, y_partial)
    assert -1 not in search.best_estimator_.classes_
    frame = pd.DataFrame(X, columns=[f"c{i}" for i in range(X.shape[1])])
    named = [(name, scaler, [f"c{i}" for i in cols]) for name, scaler, cols in modalities]
    with config_context(transform_output="pandas"):
        model = _ensemble(named).fit(frame, y_partial)
        proba = model.predict_proba(frame)
    assert proba.shape == (len(frame), len(model.classes_))
    with pytest.raises(ValueError, match="TupleInfoNCEEnsembleClassifier is expecting"):
        fitted.predict(X[:, :10])


def test_save_load_round_trip(tmp_path, table, fitted):
    pytest.importorskip("skops")
    pytest.importorskip("safetensors")
    from sktnce import load, save

    X, _, _ = table
    save(fitted, tmp_path / "ensemble.sktnce")
    loaded = load(tmp_path / "ensemble.sktnce")
    assert type(loaded) is TupleInfoNCEEnsembleClassifier
    assert np.array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    assert loaded.classes_.dtype == fitted.classes_.dtype
    assert loaded.leaderboard_ == fitted.leaderboard_
    assert [(n, v) for n, _, v in loaded.members_] == [(n, v) for n, _, v in fitted.members_]


def test_balanced_class_weight_reweights_every_members_probabilities(table):
    X, y, modalities = table
    # A class holding most of the labels: 0 and 1 kept whole, the others 1 row in 4.
    y_partial = _partial(y, share=0.6)
    y_partial[(y_partial > 1) & (np.arange(len(y)) % 4 != 0)] = -1
    members = [("fused_lr", make_pipeline(StandardScaler(), LogisticRegression()), "fused")]
    plain = _ensemble(modalities, members=members).fit(X, y_partial)
    balanced = TupleInfoNCEEnsembleClassifier(plain.fusion_, members=members, fit_fusion=False,
                                              class_weight="balanced", random_state=0)
    balanced.fit(X, y_partial)
    counts = np.bincount(np.searchsorted(plain.classes_, y_partial[y_partial >= 0]))
    expected = counts.sum() / (len(counts) * counts)
    np.testing.assert_allclose(balanced.class_weight_, expected)
    assert plain.class_weight_ is None
    p = plain.predict_proba(X) * expected
    np.testing.assert_allclose(balanced.predict_proba(X), p / p.sum(axis=1, keepdims=True))
    rare = np.isin(balanced.predict(X), plain.classes_[expected > 1])
    assert rare.sum() > np.isin(plain.predict(X), plain.classes_[expected > 1]).sum()
    # The leaderboard scores the reweighted out-of-fold probabilities.
    assert balanced.leaderboard_["log_loss"] != plain.leaderboard_["log_loss"]


def test_a_class_weight_dict_weighs_its_classes_and_refuses_unknown_ones(table, fitted):
    X, y, _ = table
    model = TupleInfoNCEEnsembleClassifier(fitted.fusion_, fit_fusion=False, random_state=0,
                                           class_weight={int(fitted.classes_[0]): 3.0})
    model.fit(X, _partial(y))
    assert model.class_weight_.tolist() == [3.0] + [1.0] * (len(fitted.classes_) - 1)
    with pytest.raises(ValueError, match="not in class_weight|not in classes|class_weight"):
        TupleInfoNCEEnsembleClassifier(fitted.fusion_, fit_fusion=False,
                                       class_weight={99: 2.0}).fit(X, _partial(y))


def _labels_of_kind(y, kind):
    """``y`` (ints) as a label type of scikit-learn's classifiers; with "-1", every third
    row unlabelled by the integer -1."""
    text = np.array(list("abcdefgh"), dtype=object)[y]
    values = {"bool": y < 4, "uint8": y.astype(np.uint8), "str": text}[kind.split()[0]]
    if "-1" in kind:
        values = values.astype(object)
        values[::3] = -1
    if "list" in kind:
        return values.tolist()
    if "categorical" in kind:
        pd = pytest.importorskip("pandas")
        return pd.Series(pd.Categorical(values.tolist()))
    return values


@pytest.mark.parametrize("kind", ["bool", "bool with -1", "uint8", "uint8 with -1", "str",
                                  "str with -1", "str list", "str list with -1",
                                  "str categorical", "str categorical with -1"])
def test_class_weight_with_every_label_type(table, fitted, kind):
    X, y, _ = table
    y_kind = _labels_of_kind(y, kind)
    before = pickle.dumps(y_kind)
    members = [("fused_lr", make_pipeline(StandardScaler(), LogisticRegression()), "fused")]
    values = [v for v in np.asarray(y_kind, dtype=object).tolist()
              if not (type(v) is int and v == -1)]
    first = sorted(set(values))[0]
    for class_weight in ("balanced", {first: 3.0}):
        model = TupleInfoNCEEnsembleClassifier(fitted.fusion_, members=members,
                                               fit_fusion=False, class_weight=class_weight,
                                               random_state=0).fit(X, y_kind)
        assert model.classes_.tolist() == sorted(set(values))
        counts = np.array([values.count(c) for c in model.classes_.tolist()])
        expected = (counts.sum() / (len(counts) * counts) if class_weight == "balanced"
                    else np.r_[3.0, np.ones(len(counts) - 1)])
        np.testing.assert_allclose(model.class_weight_, expected)
        assert set(model.predict(X).tolist()) <= set(model.classes_.tolist())
    assert pickle.dumps(y_kind) == before  # the caller's labels are left as they were


@pytest.mark.parametrize("make", [TupleInfoNCEEnsembleClassifier, TupleInfoNCEClassifier])
def test_a_fusion_trained_on_a_number_is_refused_by_the_classifiers(table, make, monkeypatch):
    X, y, modalities = table
    monkeypatch.setattr(TupleInfoNCEFusion, "fit", lambda *a, **k: pytest.fail("trained"))
    fusion = _fusion(modalities, label_weight=1.0, label_loss="squared_error")
    with pytest.raises(ValueError, match="TupleInfoNCERegressor"):
        make(fusion).fit(X, _partial(y))


def test_the_guides_members_are_the_default_members_with_scikit_learns_trees():
    """The user guide's code block of scikit-learn's own trees: the default members, names,
    views and all, but for the boosted trees' rounds and learning rate, which are
    scikit-learn's."""
    from pathlib import Path

    guide = (Path(__file__).resolve().parent.parent / "docs" / "user_guide.rst").read_text(
        encoding="utf-8")
    block = next(b for b in guide.split(".. code-block:: python")[1:]
                 if '"columns_hgb_leaf5"' in b)
    lines = []
    for line in block.split("\n")[2:]:  # the directive's line end, then a blank line
        if line.strip() and not line.startswith("    "):
            break  # the block ends at the first unindented text
        lines.append(line[4:])
    code = "\n".join(lines)
    namespace = {"TupleInfoNCEEnsembleClassifier": TupleInfoNCEEnsembleClassifier,
                 "fusion": None}
    exec(code, namespace)
    members = namespace["clf"].members
    defaults = default_members()
    assert [(name, view) for name, _, view in members] == [
        (name, view) for name, _, view in defaults]
    for (_, given, _), (_, default, _) in zip(members, defaults):
        changed = {key for key, value in given.get_params(deep=False).items()
                   if key != "steps" and value != default.get_params(deep=False)[key]}
        assert changed == ({"max_iter", "learning_rate"}
                           if isinstance(given, HistGradientBoostingClassifier) else set())
        if isinstance(given, HistGradientBoostingClassifier):
            assert (given.max_iter, given.learning_rate) == (100, 0.1)  # scikit-learn's
            assert (default.max_iter, default.learning_rate) == (25, 0.4)


def _bins(members):
    return [member.max_bins for _, member, _ in members
            if isinstance(member, HistGradientBoostingClassifier)]


def test_the_default_trees_take_fewer_bins_on_a_wide_table_only(table, fitted):
    assert _bins(default_members()) == _bins(default_members(256)) == [255, 255]
    assert _bins(default_members(257)) == [63, 63]
    assert _bins(fitted.members_) == [255] * len(_bins(fitted.members_))  # 24 columns
    X, y, _ = table
    wide = np.hstack([X, np.random.default_rng(0).normal(size=(len(X), 260))])
    modalities = [("narrow", StandardScaler(), list(range(X.shape[1]))),
                  ("wide", StandardScaler(), list(range(X.shape[1], wide.shape[1])))]
    model = _ensemble(modalities, cv=2).fit(wide, _partial(y, 0.6))
    assert model.leaderboard_["member"] == [name for name, _, _ in default_members()]
    assert _bins(model.members_) == [63, 63]  # both kept
    # the members given are used as they are, whatever the width
    given = _ensemble(modalities, cv=2, members=default_members()).fit(wide, _partial(y, 0.6))
    assert _bins(given.members_) == [255, 255]
    assert model.get_params()["members"] is None  # the parameter is left as given
