import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, KFold, cross_val_predict
from sklearn.neighbors import KNeighborsRegressor
from sklearn.preprocessing import StandardScaler

from sktnce import TupleInfoNCEFusion, TupleInfoNCERegressor
from sktnce._ensemble import _FOLDS, _MEMBERS, draw_seeds, fusion_views, seeded
from sktnce._regressor import default_regression_members

from .conftest import FAST


def _partial(y, share=0.4, seed=0):
    partial = y.astype(np.float64)
    partial[np.random.default_rng(seed).random(len(y)) >= share] = np.nan
    return partial


def _regressor(modalities, fusion_params=None, **params):
    fusion = TupleInfoNCEFusion(modalities=modalities, **{**FAST, **(fusion_params or {})})
    return TupleInfoNCERegressor(fusion, **{"random_state": 0, **params})


@pytest.fixture(scope="module")
def table():
    from sktnce.datasets import make_multimodal_classification

    X, _, columns = make_multimodal_classification(n_samples=150, random_state=0)
    noise = np.random.default_rng(1).normal(scale=0.2, size=len(X))
    y = 2 * X[:, 0] - X[:, -1] + noise
    return X, y, [(name, StandardScaler(), cols) for name, cols in columns.items()]


@pytest.fixture(scope="module")
def fitted(table):
    X, y, modalities = table
    return _regressor(modalities).fit(X, _partial(y))


def test_fit_predict_and_the_leaderboard(table, fitted):
    pd = pytest.importorskip("pandas")
    X, y, _ = table
    board = pd.DataFrame(fitted.leaderboard_)
    assert board["member"].tolist() == [name for name, _, _ in default_regression_members()]
    assert board["weight"].sum() == pytest.approx(1.0)
    kept = board[board["weight"] > 0]
    assert [name for name, _, _ in fitted.members_] == kept["member"].tolist()
    np.testing.assert_allclose(fitted.weights_, kept["weight"])
    assert set(fitted.named_estimators_) == set(kept["member"])
    # a linear target of two raw columns: the blend explains most of it on unseen rows
    unseen = np.isnan(_partial(y))
    assert r2_score(y[unseen], fitted.predict(X[unseen])) > 0.8


def test_the_blend_is_the_weighted_mean_of_the_kept_members(table, fitted):
    X, y, _ = table
    views = fusion_views(fitted.fusion_, X, np.float64)
    low, high = fitted.prediction_range_
    expected = sum(weight * np.clip(member.predict(views[view]), low, high)
                   for weight, (_, member, view) in zip(fitted.weights_, fitted.members_))
    np.testing.assert_allclose(fitted.predict(X), expected, rtol=1e-12)
    known = y[~np.isnan(_partial(y))]
    np.testing.assert_array_equal(fitted.prediction_range_, [known.min(), known.max()])


def test_predictions_are_clipped_to_the_targets_range_unless_asked_not_to(table):
    X, y, modalities = table
    members = [("columns_ridge", default_regression_members()[1][1], "columns")]
    far = X.copy()
    far[:, 0] *= 20  # rows far outside the training rows: a ridge extrapolates
    y_partial = _partial(y)
    clipped = _regressor(modalities, members=members).fit(X, y_partial)
    free = _regressor(modalities, members=members, clip_predictions=False).fit(X, y_partial)
    assert free.prediction_range_ is None
    unclipped = free.predict(far)
    low, high = clipped.prediction_range_
    assert unclipped.max() > high and unclipped.min() < low
    np.testing.assert_array_equal(free.named_estimators_["columns_ridge"].predict(
        fusion_views(free.fusion_, far, np.float64)["columns"]), unclipped)
    np.testing.assert_array_equal(clipped.predict(far), np.clip(unclipped, low, high))


def test_the_leaderboard_scores_out_of_fold_predictions_of_the_rows_with_a_target(table,
                                                                                   fitted):
    X, y, _ = table
    y_partial = _partial(y)
    rows = np.flatnonzero(~np.isnan(y_partial))
    columns = fusion_views(fitted.fusion_, X, np.float64)["columns"][rows]
    member = default_regression_members()[1][1]  # columns_ridge: no random_state
    folds = KFold(3, shuffle=True, random_state=int(draw_seeds(0)[_FOLDS]))
    target = y_partial[rows]
    oof = cross_val_predict(member, columns, target, cv=folds)
    for train, test in folds.split(rows):  # clipped to the range of the training folds
        oof[test] = np.clip(oof[test], target[train].min(), target[train].max())
    assert fitted.leaderboard_["squared_error"][1] == pytest.approx(
        np.mean((oof - y_partial[rows]) ** 2), rel=1e-12)
    assert fitted.leaderboard_["r2"][1] == pytest.approx(r2_score(y_partial[rows], oof))
    # every kept member was refitted on the rows with a target, and on those alone
    for _, member, _ in fitted.members_:
        if hasattr(member, "steps"):
            assert member[1].n_samples_seen_ == len(rows)


def test_a_member_that_memorises_its_rows_is_weighted_on_rows_it_did_not_see(table):
    X, y, modalities = table
    members = [("memoriser", KNeighborsRegressor(1), "columns_and_fused"),
               ("fused_ridge", Ridge(), "fused")]
    model = _regressor(modalities, members=members).fit(X, _partial(y, share=0.6))
    # On the rows it was fitted on, 1-NN has no error; out of fold it has.
    assert model.leaderboard_["squared_error"][0] > 0.01


def test_same_random_state_is_bit_identical(table, fitted):
    X, y, modalities = table
    again = _regressor(modalities).fit(X, _partial(y))
    assert np.array_equal(again.predict(X), fitted.predict(X))
    assert again.leaderboard_ == fitted.leaderboard_


def test_absolute_error_selection_and_a_prefitted_fusion(table, fitted, monkeypatch):
    X, y, _ = table
    monkeypatch.setattr(TupleInfoNCEFusion, "fit", lambda *a, **k: pytest.fail("refitted"))
    model = TupleInfoNCERegressor(fitted.fusion_, fit_fusion=False, scoring="absolute_error",
                                  random_state=0).fit(X, _partial(y))
    assert model.fusion_ is fitted.fusion_
    assert model.leaderboard_["absolute_error"] == fitted.leaderboard_["absolute_error"]


def _no_training(*args, **kwargs):
    raise AssertionError("training started")


@pytest.mark.parametrize("kind, error, message", [
    ("None", ValueError, "requires y to be passed"),
    ("str", TypeError, "y holds strings"),
    ("str list", TypeError, "y holds strings"),
    ("object with str", TypeError, "y holds strings"),
    ("categorical", TypeError, "y is categorical"),
    ("complex", ValueError, "complex"),
    ("one value", ValueError, "one value only"),
    ("inf", ValueError, "inf"),
    ("all NaN", ValueError, "0 row"),
    ("two rows", ValueError, "at least 3"),
    ("int with -1", ValueError, "NaN marks a row without a target"),
    ("wrong length", ValueError, "must have shape"),
])
def test_bad_targets_are_refused_before_training(table, kind, error, message, monkeypatch):
    pd = pytest.importorskip("pandas")
    X, y, modalities = table
    n = len(y)
    y_bad = {"None": None,
             "str": np.where(y > 0, "high", "low"),
             "str list": ["high" if v > 0 else "low" for v in y],
             "object with str": np.array([1.0 if v > 0 else "low" for v in y], dtype=object),
             "categorical": pd.Series(pd.Categorical(np.round(y))),
             "complex": y + 1j,
             "one value": np.where(np.arange(n) % 2, 3.0, np.nan),
             "inf": np.where(np.arange(n) == 5, np.inf, y),
             "all NaN": np.full(n, np.nan),
             "two rows": np.where(np.arange(n) < 2, y, np.nan),
             "int with -1": np.where(y > 0, np.round(y), -1).astype(int),
             "wrong length": y[:-1]}[kind]
    monkeypatch.setattr(TupleInfoNCEFusion, "fit", _no_training)
    model = _regressor(modalities)
    with pytest.raises(error, match=message):
        model.fit(X, y_bad)
    assert not hasattr(model, "members_")


def test_bad_members_and_scoring_are_refused_before_training(table, monkeypatch):
    X, y, modalities = table
    monkeypatch.setattr(TupleInfoNCEFusion, "fit", _no_training)
    with pytest.raises(TypeError, match="fit and predict"):
        _regressor(modalities, members=[("a", StandardScaler(), "fused")]).fit(X, y)
    with pytest.raises(ValueError, match="squared_error"):
        _regressor(modalities, scoring="r2").fit(X, y)


@pytest.mark.parametrize("kind", ["float32", "int", "uint8", "bool", "list with None",
                                  "pandas Float64 with NA", "float with -1 values"])
def test_target_types(table, kind, monkeypatch):
    pd = pytest.importorskip("pandas")
    X, y, modalities = table
    known = ~np.isnan(_partial(y))
    y_kind = {"float32": _partial(y).astype(np.float32),
              "int": np.round(3 * (y - y.min())).astype(np.int64),
              "uint8": np.round(3 * (y - y.min())).astype(np.uint8),
              "bool": y > 0,
              "list with None": [v if k else None for v, k in zip(y.tolist(), known)],
              "pandas Float64 with NA": pd.Series(np.where(known, y, np.nan)).astype(
                  "Float64"),
              "float with -1 values": np.where(known, np.round(y), np.nan)}[kind]
    if kind == "float with -1 values":
        assert (y_kind == -1).any()  # -1 is a value of a float target, not a marker
    before = pickle.dumps(y_kind)
    model = _regressor(fusion_params={"max_epochs": 1}, members=[
        ("columns_ridge", default_regression_members()[1][1], "columns")],
        modalities=modalities).fit(X, y_kind)
    assert pickle.dumps(y_kind) == before  # the caller's target is left as it was
    expected_rows = len(y) if kind in ("int", "uint8", "bool") else int(known.sum())
    assert model.named_estimators_["columns_ridge"][1].n_samples_seen_ == expected_rows
    assert model.predict(X).dtype == np.float64


def test_score_leaves_rows_without_a_target_out(table, fitted):
    X, y, _ = table
    y_partial = _partial(y)
    known = ~np.isnan(y_partial)
    assert fitted.score(X, y_partial) == pytest.approx(
        r2_score(y[known], fitted.predict(X[known])))
    with pytest.raises(ValueError, match="every entry of y is NaN"):
        fitted.score(X, np.full(len(y), np.nan))


def test_clone_pickle_grid_search_and_pandas_output(table, fitted):
    pd = pytest.importorskip("pandas")
    from sklearn import config_context

    X, y, modalities = table
    assert np.array_equal(pickle.loads(pickle.dumps(fitted)).predict(X), fitted.predict(X))
    assert not hasattr(clone(fitted), "members_")
    y_partial = _partial(y, share=0.5)
    search = GridSearchCV(_regressor(modalities, fusion_params={"max_epochs": 1}),
                          {"n_selection_rounds": [1, 10]},
                          cv=KFold(2, shuffle=True, random_state=0)).fit(X, y_partial)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    frame = pd.DataFrame(X, columns=[f"c{i}" for i in range(X.shape[1])])
    named = [(name, scaler, [f"c{i}" for i in cols]) for name, scaler, cols in modalities]
    with config_context(transform_output="pandas"):
        model = _regressor(named, fusion_params={"max_epochs": 1}).fit(frame, y_partial)
        prediction = model.predict(frame)
    assert prediction.shape == (len(frame),)
    with pytest.raises(ValueError, match="TupleInfoNCERegressor is expecting"):
        fitted.predict(X[:, :10])


def test_save_load_round_trip(tmp_path, table, fitted):
    pytest.importorskip("skops")
    pytest.importorskip("safetensors")
    from sktnce import load, save

    X, _, _ = table
    save(fitted, tmp_path / "regressor.sktnce")
    loaded = load(tmp_path / "regressor.sktnce")
    assert type(loaded) is TupleInfoNCERegressor
    assert np.array_equal(loaded.predict(X), fitted.predict(X))
    assert loaded.leaderboard_ == fitted.leaderboard_
    assert loaded.prediction_range_.dtype == np.float64
    np.testing.assert_array_equal(loaded.prediction_range_, fitted.prediction_range_)
    assert [(n, v) for n, _, v in loaded.members_] == [(n, v) for n, _, v in fitted.members_]


def test_a_target_aware_fusion_is_graded_by_its_unsupervised_twin(table, fusion_fits):
    X, y, modalities = table
    y_partial = _partial(y)
    model = _regressor(modalities, fusion_params={"label_weight": 1.0,
                                                  "label_loss": "squared_error"})
    model.fit(X, y_partial)
    (aware, y_aware), (twin, y_twin) = [(f.label_weight, y) for f, y in fusion_fits]
    assert aware == 1.0 and np.array_equal(y_aware, y_partial, equal_nan=True)
    assert twin == 0.0 and y_twin is None
    known = y_partial[~np.isnan(y_partial)]  # it predicts with the target-aware one
    assert model.fusion_.target_scale_ == pytest.approx((known.mean(), known.std()))


def test_cross_fit_weighs_a_target_aware_fusion_on_one_fusion_per_fold(table, fusion_fits):
    X, y, modalities = table
    y_partial = _partial(y)
    model = _regressor(modalities, fusion_params={"label_weight": 1.0,
                                                  "label_loss": "squared_error"},
                       aware_weighing="cross_fit")
    model.fit(X, y_partial)
    (full, y_full), *per_fold = fusion_fits
    assert full is model.fusion_ and np.array_equal(y_full, y_partial, equal_nan=True)
    rows = np.flatnonzero(~np.isnan(y_partial))
    seeds = draw_seeds(0)
    folds = list(KFold(3, shuffle=True, random_state=int(seeds[_FOLDS])).split(rows))
    assert len(per_fold) == len(folds)  # no twin: one fusion per fold, the same seed
    predicted = np.empty(len(rows))
    for (fusion, y_fold), (train, test) in zip(per_fold, folds):
        assert fusion.label_weight == 1.0 and fusion.random_state == full.random_state
        # each fold's fusion saw the targets of the other folds' rows and none of its own
        np.testing.assert_array_equal(np.flatnonzero(~np.isnan(y_fold)), rows[train])
        views = fusion_views(fusion, X, np.float64)["fused"]
        ridge = seeded(default_regression_members()[0][1], int(seeds[_MEMBERS]))
        ridge.fit(views[rows[train]], y[rows[train]])
        known = y[rows[train]]
        predicted[test] = np.clip(ridge.predict(views[rows[test]]), known.min(), known.max())
    board = model.leaderboard_
    assert board["member"][0] == "fused_ridge"
    assert board["squared_error"][0] == pytest.approx(np.mean((predicted - y[rows]) ** 2))


def test_cross_fit_is_ignored_without_targets_in_the_fusion(table, fitted):
    X, y, modalities = table
    crossed = _regressor(modalities, aware_weighing="cross_fit").fit(X, _partial(y))
    assert crossed.leaderboard_ == fitted.leaderboard_
    np.testing.assert_array_equal(crossed.predict(X), fitted.predict(X))


@pytest.mark.parametrize("label_loss", ["cross_entropy", "supcon"])
def test_a_fusion_trained_on_classes_is_refused(table, label_loss, monkeypatch):
    X, y, modalities = table
    monkeypatch.setattr(TupleInfoNCEFusion, "fit", _no_training)
    with pytest.raises(ValueError, match="label_loss='squared_error'"):
        _regressor(modalities, fusion_params={"label_weight": 1.0,
                                              "label_loss": label_loss}).fit(X, y)
