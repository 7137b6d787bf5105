import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.preprocessing import StandardScaler

from sktnce._modalities import check_modalities, fit_modalities, transform_modalities


def test_none_is_one_standardised_modality():
    [(name, transformer, columns)] = check_modalities(None)
    assert name == "features" and isinstance(transformer, StandardScaler)
    assert columns == slice(None)


@pytest.mark.parametrize("spec, error", [("abc", TypeError), ([("a", StandardScaler())], TypeError),
                                         ([(1, StandardScaler(), [0])], TypeError)])
def test_malformed_specifications(spec, error):
    with pytest.raises(error):
        check_modalities(spec)


def test_blocks_missing_mask_and_widths():
    X = np.arange(12.0).reshape(4, 3)
    X[1, :2] = np.nan
    specs = check_modalities([("a", "passthrough", [0, 1]), ("b", "passthrough", 2)])
    fitted, features, missing, widths = fit_modalities(specs, X)
    assert widths == [2, 1]
    assert missing.tolist() == [[False, False], [True, False], [False, False], [False, False]]
    assert features.dtype == np.float32 and np.isfinite(features).all()
    assert np.array_equal(features[1, :2], [0.0, 0.0])
    # Scalar column selection hands the transformer a 1-D column, reshaped to one feature.
    assert fitted[1][3] is True
    again, missing_again = transform_modalities(fitted, X, widths)
    # Exact: "passthrough" copies X's values on both paths.
    assert np.array_equal(again, features) and np.array_equal(missing_again, missing)


def test_transformer_is_fitted_on_present_rows_only():
    X = np.array([[1.0], [np.nan], [3.0]])
    fitted, features, _, _ = fit_modalities(check_modalities([("a", StandardScaler(), [0])]), X)
    # A tolerance: StandardScaler's mean and scale against the values worked by hand.
    assert fitted[0][1].mean_[0] == pytest.approx(2.0)
    assert features[:, 0].tolist() == pytest.approx([-1.0, 0.0, 1.0])


def test_modality_missing_everywhere_at_fit():
    X = np.array([[1.0, np.nan], [2.0, np.nan]])
    specs = check_modalities([("a", "passthrough", [0]), ("b", "passthrough", [1])])
    with pytest.raises(ValueError, match="'b' is missing in every row"):
        fit_modalities(specs, X)


def test_modality_missing_everywhere_at_transform_is_absent():
    X = np.array([[1.0, 5.0], [2.0, 6.0]])
    specs = check_modalities([("a", "passthrough", [0]), ("b", StandardScaler(), [1])])
    fitted, _, _, widths = fit_modalities(specs, X)
    features, missing = transform_modalities(fitted, np.array([[1.0, np.nan]]), widths)
    assert missing.tolist() == [[False, True]] and features.shape == (1, 2)


def test_huge_values_overflowing_float32_are_refused():
    X = np.array([[1e39, 1.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match="'a'.*float32"):
        fit_modalities(check_modalities([("a", "passthrough", [0, 1])]), X)


def test_column_names_need_a_dataframe():
    with pytest.raises(ValueError, match="'a'.*needs a DataFrame"):
        fit_modalities(check_modalities([("a", "passthrough", ["x"])]), np.zeros((3, 2)))


@pytest.mark.parametrize("columns, message", [
    ([5], r"'a': column indices \[5\] are out of range for 2 columns"),
    ([0, -3], r"'a': column indices \[-3\] are out of range"),
    (np.array([True]), "'a': a boolean mask must have one entry per column"),
])
def test_bad_positions(columns, message):
    with pytest.raises(ValueError, match=message):
        fit_modalities(check_modalities([("a", "passthrough", columns)]), np.zeros((3, 2)))


@pytest.mark.parametrize("columns, error, message", [
    (["u", "q"], ValueError, "'a': column 'q' is not a column of X"),
    (slice("u", "q"), ValueError, "'a': column 'q' is not a column of X"),
    (slice("u", "w", 2), ValueError, "'a': cannot select columns"),
    ([0.5, 1.5], TypeError, "'a': columns must be names, integer indices"),
    (["u", 1], TypeError, "'a': columns must be names, integer indices"),
    (True, TypeError, "'a': columns must be names, integer indices"),
    (None, TypeError, "'a': columns must be names, integer indices"),
    (lambda X: None, TypeError, "'a': columns must be names, integer indices"),
])
def test_bad_selections_on_a_frame_name_the_modality(columns, error, message):
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(np.zeros((3, 3)), columns=["u", "v", "w"])
    with pytest.raises(error, match=message):
        fit_modalities(check_modalities([("a", "passthrough", columns)]), X)


def test_integer_labels_of_a_frame_are_not_names_and_ints_are_positions():
    """As in ColumnTransformer: an int is a position, and the str '0' names no column."""
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(np.arange(9.0).reshape(3, 3), columns=[2, 0, 1])
    [(_, _, positions, _)], *_ = fit_modalities(check_modalities([("a", "passthrough", [0])]), X)
    assert positions == [0]
    with pytest.raises(ValueError, match="'a': column '0' is not a column of X"):
        fit_modalities(check_modalities([("a", "passthrough", ["0"])]), X)
    with pytest.raises(ValueError):
        ColumnTransformer([("a", "passthrough", ["0"])]).fit(X)


class Recorder(TransformerMixin, BaseEstimator):
    """Keeps the input fit was given; outputs one constant column."""

    def fit(self, X, y=None):
        self.seen_ = X
        return self

    def transform(self, X):
        return np.ones((X.shape[0], 1))


def _assert_same_input(ours, theirs):
    assert type(ours) is type(theirs)
    if hasattr(theirs, "columns"):
        pytest.importorskip("pandas").testing.assert_frame_equal(ours, theirs)
    elif hasattr(theirs, "iloc"):
        pytest.importorskip("pandas").testing.assert_series_equal(ours, theirs)
    else:
        assert ours.shape == theirs.shape
        np.testing.assert_array_equal(ours, theirs)


FRAME_SPECS = {
    "names": ["d", "b"],
    "one-name": "c",
    "int-indices": [3, 0],
    "negative-index": -1,
    "numpy-indices": np.array([4, 2]),
    "int-slice": slice(1, 3),
    "name-slice": slice("b", "d"),
    "open-name-slice": slice("c", None),
    "bool-mask": [True, False, True, False, True],
    "numpy-bool-mask": np.array([False, True, True, False, False]),
    "selector-dtype": make_column_selector(dtype_include="number"),
    "selector-pattern": make_column_selector(pattern="^[ae]"),
    "callable-names": lambda X: [c for c in X.columns if c != "a"],
    "callable-scalar": lambda X: X.columns[-1],
    "pandas-index": lambda X: X.columns[[0, 4]],
}
ARRAY_SPECS = {
    "int-indices": [4, 1],
    "one-index": 2,
    "negative-index": -2,
    "int-slice": slice(1, None, 2),
    "bool-mask": np.array([True, True, False, False, True]),
    "callable": lambda X: list(range(1, X.shape[1], 2)),
}


@pytest.mark.parametrize("kind, case", [("frame", c) for c in FRAME_SPECS]
                         + [("array", c) for c in ARRAY_SPECS])
def test_columns_select_what_column_transformer_selects(kind, case):
    """The same spec hands a modality's transformer what ColumnTransformer hands its own."""
    rng = np.random.default_rng(0)
    if kind == "frame":
        pd = pytest.importorskip("pandas")
        X = pd.DataFrame({"a": rng.normal(size=6), "b": rng.integers(0, 5, 6),
                          "c": rng.normal(size=6), "d": list("xyzxyz"),
                          "e": rng.normal(size=6)})
        spec = FRAME_SPECS[case]
    else:
        X = rng.normal(size=(6, 5))
        spec = ARRAY_SPECS[case]
    theirs = ColumnTransformer([("m", Recorder(), spec)]).fit(X).named_transformers_["m"]
    [(_, ours, positions, scalar)], *_ = fit_modalities(
        check_modalities([("m", Recorder(), spec)]), X)
    _assert_same_input(ours.seen_, theirs.seen_)
    assert scalar == (ours.seen_.ndim == 1)


@pytest.mark.parametrize("columns, expected", [(slice(None), [0, 1, 2, 3, 4]),
                                               (slice(None, None, 2), [0, 2, 4])])
def test_whole_slices_select_from_an_array_too(columns, expected):
    # ColumnTransformer reads slice(None) as a slice of names and refuses it for an array;
    # here it means every column (the default modality), of any input.
    [(_, _, positions, scalar)], *_ = fit_modalities(
        check_modalities([("m", "passthrough", columns)]), np.ones((3, 5)))
    assert positions == expected and scalar is False


def test_transformer_is_fitted_on_present_rows_only_of_a_frame():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame({"u": [1.0, np.nan, 3.0, 5.0], "v": ["p", None, "q", "r"]},
                     index=[10, 11, 12, 13])
    fitted, _, missing, _ = fit_modalities(
        check_modalities([("a", Recorder(), ["u", "v"])]), X)
    assert missing[:, 0].tolist() == [False, True, False, False]
    pd.testing.assert_frame_equal(fitted[0][1].seen_, X.loc[[10, 12, 13]])
