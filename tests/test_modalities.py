import numpy as np
import pytest
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
    assert np.array_equal(again, features) and np.array_equal(missing_again, missing)


def test_transformer_is_fitted_on_present_rows_only():
    X = np.array([[1.0], [np.nan], [3.0]])
    fitted, features, _, _ = fit_modalities(check_modalities([("a", StandardScaler(), [0])]), X)
    assert fitted[0][1].mean_[0] == 2.0
    assert features[:, 0].tolist() == [-1.0, 0.0, 1.0]


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


@pytest.mark.parametrize("columns, message", [([5], "out of range"),
                                              (np.array([True]), "boolean mask")])
def test_bad_positions(columns, message):
    with pytest.raises(ValueError, match=message):
        fit_modalities(check_modalities([("a", "passthrough", columns)]), np.zeros((3, 2)))
