import copy

import numpy as np
import pytest
import torch

from sktnce._labels import UNLABELLED, encode_labels, label_array, unlabelled_mask


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


def test_a_column_vector_is_taken_as_y():
    assert _encode(np.array([[0], [1], [-1]])).codes.tolist() == [0, 1, -1]


@pytest.mark.parametrize("y, n, error, message", [
    (None, 3, ValueError, "requires y to be passed"),
    (np.array([0, 1]), 3, ValueError, r"shape \(3,\)"),
    (np.array([-1, -1, -1]), None, ValueError, "no labelled row"),
    (np.array([0.5, 1.7, -1.0]), None, ValueError, "label_loss=.squared_error."),
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


def _with_unlabelled(values, dtype=object):
    """``values`` with every third row marked by the integer -1, in a ``dtype`` array."""
    y = np.array(values, dtype=dtype)
    y[::3] = -1
    return y


_CLASSES = np.array([0, 2, 1, 2, 0, 1, 1, 2, 0])
_TEXT = np.array(["b", "c", "a"])[_CLASSES]
# id: (y, the classes of its labelled rows); every type that scikit-learn's classifiers
# accept, and -1 in every third row where the type can hold it.
LABEL_TYPES = {
    "int": (_CLASSES, [0, 1, 2]),
    "int with -1": (_with_unlabelled(_CLASSES, np.int64), [0, 1, 2]),
    "int32 with -1": (_with_unlabelled(_CLASSES, np.int32), [0, 1, 2]),
    "uint8": (_CLASSES.astype(np.uint8), [0, 1, 2]),
    "uint64": (_CLASSES.astype(np.uint64), [0, 1, 2]),
    "bool": (_CLASSES > 0, [False, True]),
    "bool with -1 (object)": (_with_unlabelled(_CLASSES > 0), [False, True]),
    "float with -1": (_with_unlabelled(_CLASSES, np.float64), [0.0, 1.0, 2.0]),
    "str array": (_TEXT, ["a", "b", "c"]),
    "str object array with -1": (_with_unlabelled(_TEXT), ["a", "b", "c"]),
    "str list": (_TEXT.tolist(), ["a", "b", "c"]),
    "str list with -1": (_with_unlabelled(_TEXT).tolist(), ["a", "b", "c"]),
}


@pytest.mark.parametrize("kind", LABEL_TYPES)
def test_every_label_type_of_scikit_learns_classifiers(kind):
    y, classes = LABEL_TYPES[kind]
    before = copy.deepcopy(y)
    labels = _encode(y)
    assert labels.classes.tolist() == classes
    values = np.asarray(y, dtype=object)
    unlabelled = np.zeros(len(values), dtype=bool)
    unlabelled[::3] = "with -1" in kind
    expected = np.full(len(values), UNLABELLED)
    expected[~unlabelled] = [classes.index(v) for v in values[~unlabelled].tolist()]
    assert labels.codes.tolist() == expected.tolist()
    np.testing.assert_array_equal(values, np.asarray(before, dtype=object))


@pytest.mark.parametrize("with_minus_one", [False, True])
@pytest.mark.parametrize("categories", ["str", "int"])
def test_pandas_categorical_labels(categories, with_minus_one):
    pd = pytest.importorskip("pandas")
    values = (_TEXT if categories == "str" else _CLASSES).tolist()
    if with_minus_one:
        values = [-1 if i % 3 == 0 else v for i, v in enumerate(values)]
    y = pd.Series(pd.Categorical(values))
    labels = _encode(y)
    assert labels.classes.tolist() == sorted(set(values) - {-1}, key=str)
    assert (labels.codes == UNLABELLED).sum().item() == values.count(-1)


@pytest.mark.parametrize("y", [
    np.array(["a", "-1", "b", "a"]),
    ["a", "-1", "b", "a"],
    np.array(["a", "-1", "b", "a"], dtype=object),
], ids=["str array", "str list", "object array"])
def test_the_string_minus_one_is_refused_with_the_fix(y):
    with pytest.raises(ValueError, match=r"string '-1' in 1 row.*integer -1"):
        _encode(y)
    with pytest.raises(ValueError, match="string '-1'"):
        label_array(y)


def test_a_list_mixing_strings_and_minus_one_keeps_minus_one_an_int():
    y = label_array(["a", -1, "b"])
    assert y.dtype == object and unlabelled_mask(y).tolist() == [False, True, False]
