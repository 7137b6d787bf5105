import numpy as np
import pytest
import torch

from sktnce._labels import UNLABELLED, encode_labels, unlabelled_mask


def _encode(y, n=None, **kwargs):
    return encode_labels(y, len(y) if n is None else n, owner="Fusion", device="cpu", **kwargs)


def test_codes_classes_in_sorted_order_and_marks_unlabelled_rows():
    labels = _encode(np.array([5, -1, 2, 5, -1]))
    assert labels.codes.dtype == torch.int64
    assert labels.codes.tolist() == [1, UNLABELLED, 0, 1, UNLABELLED]
    assert labels.classes.tolist() == [2, 5] and labels.n_classes == 2


def test_string_classes_with_minus_one_for_unlabelled_rows():
    y = np.array(["cat", -1, "dog", "cat"], dtype=object)
    labels = _encode(y)
    assert labels.codes.tolist() == [0, -1, 1, 0]
    assert labels.classes.tolist() == ["cat", "dog"]
    # the string "-1" is a class, as in scikit-learn's semi-supervised estimators
    assert unlabelled_mask(np.array(["-1", "a"])).tolist() == [False, False]


def test_a_column_vector_is_taken_as_y():
    assert _encode(np.array([[0], [1], [-1]])).codes.tolist() == [0, 1, -1]


@pytest.mark.parametrize("y, n, error, message", [
    (None, 3, ValueError, "requires y to be passed"),
    (np.array([0, 1]), 3, ValueError, r"shape \(3,\)"),
    (np.array([-1, -1, -1]), None, ValueError, "no labelled row"),
    (np.array([0.5, 1.7, -1.0]), None, ValueError, "regression"),
    (np.array([1, "a", -1], dtype=object), None, TypeError, "one class per row"),
    (np.array([1, -1, 1, -1]), None, ValueError, r"one class only \(1\).*coded \+1/-1"),
    (np.array(["a", -1, "a"], dtype=object), None, ValueError, r"one class only \('a'\)"),
])
def test_bad_labels_are_refused_with_the_fix(y, n, error, message):
    with pytest.raises(error, match=message):
        _encode(y, n if n is not None else len(y))


def test_labels_keep_an_earlier_fits_classes():
    labels = _encode(np.array([3, -1]), classes=np.array([1, 3, 7]))
    assert labels.codes.tolist() == [1, -1] and labels.n_classes == 3
    with pytest.raises(ValueError, match=r"classes \[9\]"):
        _encode(np.array([9, 1]), classes=np.array([1, 3, 7]))


def test_hide_unlabels_rows_in_a_copy():
    labels = _encode(np.array([0, 1, 0, 1]))
    hidden = labels.hide([1, 2])
    assert hidden.codes.tolist() == [0, -1, -1, 1]
    assert labels.codes.tolist() == [0, 1, 0, 1]


def test_the_callers_y_is_not_modified():
    y = np.array([2, -1, 3])
    before = y.copy()
    _encode(y).hide([0])
    np.testing.assert_array_equal(y, before)
