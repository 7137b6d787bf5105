"""What users send by mistake: a table of inputs, each with its error or documented behaviour.

For every case the caller's data must come back unmodified.
"""

import copy

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import sparse
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sktnce import TupleInfoNCEFusion

from .conftest import FAST

pd = pytest.importorskip("pandas")

N = 24
RNG = np.random.default_rng(0)
BASE = RNG.normal(size=(N, 6))
TWO = [("a", StandardScaler(), [0, 1, 2]), ("b", StandardScaler(), [3, 4, 5])]
PASS = [("a", "passthrough", [0, 1, 2]), ("b", "passthrough", [3, 4, 5])]


def with_values(rows, cols, value, base=BASE):
    X = base.copy()
    X[np.ix_(rows, cols)] = value
    return X


def frame():
    return pd.DataFrame(BASE, columns=list("uvwxyz"))


def memmap(tmp_path):
    path = tmp_path / "X.dat"
    mm = np.memmap(path, dtype=np.float64, mode="w+", shape=BASE.shape)
    mm[:] = BASE
    mm.flush()
    return np.memmap(path, dtype=np.float64, mode="r", shape=BASE.shape)


def read_only():
    X = BASE.copy()
    X.setflags(write=False)
    return X


OK = "ok"

# id: (builder of X, modalities, expected at fit: OK or (exception, message regex))
FIT_CASES = {
    "list-of-lists": (lambda: BASE.tolist(), TWO, OK),
    "strings-in-numeric-modality": (lambda: [["x"] * 6] * N, PASS, (TypeError, "'a'.*not numeric")),
    "sparse-matrix": (lambda: sparse.csr_matrix(BASE), TWO, (TypeError, "sparse")),
    "object-column-not-text": (
        lambda: pd.DataFrame({"d": [{"k": i} for i in range(N)], "x": BASE[:, 0]}),
        [("d", OneHotEncoder(), ["d"]), ("x", StandardScaler(), ["x"])],
        (TypeError, "'d'.*transformer failed"),
    ),
    "3d-array": (lambda: BASE.reshape(N, 3, 2), TWO, (ValueError, "dim 3")),
    "no-columns": (lambda: np.zeros((N, 0)), None, (ValueError, "0 feature")),
    "complex": (lambda: BASE.astype(complex), TWO, (ValueError, "[Cc]omplex")),
    "one-row": (lambda: BASE[:1], TWO, (ValueError, "minimum of 2")),
    "zero-rows": (lambda: BASE[:0], TWO, (ValueError, "0 sample")),
    "one-row-dataframe": (lambda: frame().iloc[:1], None, (ValueError, "minimum of 2")),
    "names-on-an-array": (lambda: BASE, [("a", "passthrough", ["u"])],
                          (ValueError, "'a'.*needs a DataFrame")),
    "all-missing-modality": (lambda: with_values(range(N), [3, 4, 5], np.nan), TWO,
                             (ValueError, "'b' is missing in every row")),
    "some-rows-missing-a-modality": (lambda: with_values([0, 5, 9], [3, 4, 5], np.nan), TWO, OK),
    "zero-variance-columns": (lambda: with_values(range(N), [0, 4], 3.0), TWO, OK),
    "all-rows-identical": (lambda: np.tile(BASE[:1], (N, 1)), TWO, OK),
    "huge-values-scaled": (lambda: BASE * 1e30, TWO, OK),
    "tiny-values-scaled": (lambda: BASE * 1e-30, TWO, OK),
    "huge-values-passthrough": (lambda: BASE * 1e30, PASS, (UserWarning, "'a'.*e\\+30.*scaler")),
    "tiny-values-passthrough": (lambda: BASE * 1e-30, PASS, OK),
    "overflowing-float32": (lambda: with_values([2], [1], 1e39), PASS,
                            (ValueError, "'a'.*NaN or inf.*float32")),
    "float16": (lambda: BASE.astype(np.float16), TWO, OK),
    "float32": (lambda: BASE.astype(np.float32), TWO, OK),
    "int64": (lambda: (BASE * 10).astype(np.int64), TWO, OK),
    "int32": (lambda: (BASE * 10).astype(np.int32), PASS, OK),
    "bool": (lambda: BASE > 0, PASS, OK),
    "read-only": (read_only, TWO, OK),
    "fortran-order": (lambda: np.asfortranarray(BASE), TWO, OK),
    "non-contiguous-view": (lambda: np.repeat(BASE, 2, axis=1)[:, ::2], TWO, OK),
    "nullable-float-dataframe": (
        lambda: frame().astype("Float64").mask(
            np.broadcast_to((np.arange(N) % 5 == 0)[:, None] & (np.arange(6) >= 3), (N, 6))),
        [("a", StandardScaler(), ["u", "v", "w"]), ("b", StandardScaler(), ["x", "y", "z"])],
        OK,
    ),
}
for position, rows in {"first-row": [0], "middle-row": [11], "last-row": [N - 1]}.items():
    for column in (0, 5):
        modality = "a" if column < 3 else "b"
        FIT_CASES[f"nan-{position}-column{column}"] = (
            lambda rows=rows, column=column: with_values(rows, [column], np.nan), TWO,
            (ValueError, f"'{modality}'.*NaN"))
        for sign, value in (("inf", np.inf), ("-inf", -np.inf)):
            FIT_CASES[f"{sign}-{position}-column{column}"] = (
                lambda rows=rows, column=column, value=value: with_values(rows, [column], value),
                TWO, (ValueError, f"'{modality}'.*column {column}.*inf"))


def _snapshot(X):
    return copy.deepcopy(X)


def _assert_unchanged(X, before):
    if sparse.issparse(X):
        assert (X != before).nnz == 0
    elif hasattr(X, "equals"):
        assert X.equals(before)
    else:
        np.testing.assert_array_equal(np.asarray(X), np.asarray(before))


@pytest.mark.parametrize("case", list(FIT_CASES))
def test_fit_input(case, tmp_path):
    build, modalities, expected = FIT_CASES[case]
    X = build()
    before = _snapshot(X)
    est = TupleInfoNCEFusion(modalities=modalities, **FAST)
    if expected == OK:
        Z = est.fit(X).transform(X)
        assert Z.shape == (len(X), FAST["n_components"]) and np.isfinite(Z).all()
    elif issubclass(expected[0], Warning):
        with pytest.warns(expected[0], match=expected[1]):
            Z = est.fit(X).transform(X)
        assert np.isfinite(Z).all()
    else:
        error, message = expected
        with pytest.raises(error, match=message):
            est.fit(X)
    _assert_unchanged(X, before)


@pytest.mark.parametrize("make", [memmap], ids=["memmap"])
def test_memory_mapped_input(make, tmp_path):
    X = make(tmp_path)
    est = TupleInfoNCEFusion(modalities=TWO, **FAST).fit(X)
    assert np.isfinite(est.transform(X)).all()


@pytest.fixture(scope="module")
def fitted_frame():
    X = frame()
    mods = [("a", StandardScaler(), ["u", "v", "w"]), ("b", StandardScaler(), ["x", "y", "z"])]
    return TupleInfoNCEFusion(modalities=mods, **FAST).fit(X), X


TRANSFORM_CASES = {
    "reordered-columns": (lambda X: X[list("zyxwvu")], (ValueError, "order")),
    "renamed-column": (lambda X: X.rename(columns={"u": "U"}), (ValueError, "feature names")),
    "missing-column": (lambda X: X.drop(columns="z"), (ValueError, "missing")),
    "extra-column": (lambda X: X.assign(extra=1.0), (ValueError, "unseen at fit time")),
    "array-without-names": (lambda X: X.to_numpy(), OK),  # sklearn warns, then accepts
    "all-missing-modality": (lambda X: X.assign(x=np.nan, y=np.nan, z=np.nan), OK),
    "partial-nan": (lambda X: X.assign(u=[np.nan] + [0.0] * (N - 1)), (ValueError, "'a'.*NaN")),
    "inf": (lambda X: X.assign(y=np.inf), (ValueError, "'b'.*'y'.*inf")),
    "single-row": (lambda X: X.iloc[:1], OK),
}


@pytest.mark.parametrize("case", list(TRANSFORM_CASES))
@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_transform_input(case, fitted_frame):
    est, X = fitted_frame
    build, expected = TRANSFORM_CASES[case]
    X_new = build(X)
    before = _snapshot(X_new)
    if expected == OK:
        Z = est.transform(X_new)
        assert Z.shape == (len(X_new), FAST["n_components"]) and np.isfinite(Z).all()
    else:
        error, message = expected
        with pytest.raises(error, match=message):
            est.transform(X_new)
    _assert_unchanged(X_new, before)


def test_all_missing_modality_at_transform_is_the_absent_embedding(fitted_frame):
    import torch

    est, X = fitted_frame
    rows = [0, 3, 7]
    partly = X.copy()
    partly.loc[rows, ["x", "y", "z"]] = np.nan
    Z = est.transform(partly)
    # What the encoder gives those rows with modality b flagged absent, whatever values
    # stand in b's place: the absent embedding a_b, not an encoding of filled-in values.
    features, missing = est._get_state().preprocessing.transform(X.iloc[rows], "cpu")
    features[:, est.output_indices_["b"]] = 123.0
    missing[:, 1] = True
    with torch.inference_mode():
        absent = est.net_.module_.encoder(features, missing).numpy()
    np.testing.assert_allclose(Z[rows], absent, rtol=1e-6, atol=1e-6)
    # The other rows are untouched, and b's absence does change the missing rows.
    others = np.setdiff1d(np.arange(N), rows)
    present = est.transform(X)
    np.testing.assert_allclose(Z[others], present[others], rtol=1e-6, atol=1e-6)
    assert not np.allclose(Z[rows], present[rows])


special = st.sampled_from([np.nan, np.inf, -np.inf, 1e30, -1e30, 1e-30, 0.0])
values = st.one_of(st.floats(-1e6, 1e6, allow_nan=False, width=64), special)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(X=hnp.arrays(np.float64, st.tuples(st.integers(0, 12), st.integers(0, 5)),
                    elements=values))
def test_generated_arrays_fit_or_fail_clearly(X):
    before = X.copy()
    est = TupleInfoNCEFusion(**{**FAST, "max_epochs": 1})
    try:
        Z = est.fit(X).transform(X)
    except (ValueError, TypeError, FloatingPointError) as exc:
        assert str(exc)  # an error that says something
        assert any(word in str(exc) for word in
                   ("NaN", "inf", "sample", "feature", "missing", "loss", "minimum"))
    else:
        assert X.shape[0] >= 2 and np.isfinite(Z).all()
    np.testing.assert_array_equal(X, before)
