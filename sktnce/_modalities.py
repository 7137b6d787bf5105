"""Modality specifications: checking them, selecting their columns, preprocessing them.

A modality is ``(name, transformer, columns)`` as in ColumnTransformer. This module turns
a table into one dense float32 block per modality plus a mask of the rows where the
modality is wholly missing (every one of its columns null): those rows get the modality's
absent embedding instead of an encoding.
"""

import warnings
from typing import NamedTuple

import numpy as np
import torch
from scipy import sparse
from sklearn import config_context
from sklearn.base import clone
from sklearn.preprocessing import StandardScaler
from sklearn.utils._indexing import _determine_key_type, _get_column_indices, _safe_indexing
from sklearn.utils.validation import check_array, validate_data

__all__ = ["ALL_COLUMNS_NAME", "EncodedTable", "Preprocessing", "check_modalities",
           "check_table", "encode_input", "fit_input", "fit_modalities", "transform_modalities"]

ALL_COLUMNS_NAME = "features"
# Inputs beyond this magnitude saturate the encoders; fit warns about them.
_LARGE_INPUT = 1e4
RESERVED_NAMES = ("ordinary",)


def _is_dataframe(X):
    return hasattr(X, "iloc") and hasattr(X, "columns") and getattr(X, "ndim", 2) == 2


def check_table(X, *, estimator, min_rows):
    """``X`` checked at an estimator's boundary: a DataFrame as it is, an array-like as an
    array of at least ``min_rows`` rows; a sparse matrix is refused with the fix."""
    owner = type(estimator).__name__
    if sparse.issparse(X):
        raise TypeError(
            f"{owner} does not take a sparse X; pass a dense array or a "
            "DataFrame (a modality's transformer may output sparse blocks)."
        )
    if not _is_dataframe(X):
        return check_array(X, dtype=None, ensure_all_finite=False,
                           ensure_min_samples=min_rows, estimator=estimator)
    if min_rows > 1 and X.shape[0] < min_rows:  # training; transform takes any rows
        raise ValueError(
            f"Found {X.shape[0]} sample(s) while a minimum of {min_rows} is required by "
            f"{owner}: contrastive training needs other rows."
        )
    return X


def fit_input(estimator, specs, X, device):
    """``X`` checked as ``estimator``'s training input (its ``n_features_in_`` set), then
    the modalities ``specs`` fitted on it: the :class:`Preprocessing` and ``X`` encoded."""
    X = check_table(X, estimator=estimator, min_rows=2)
    validate_data(estimator, X, reset=True, skip_check_array=True)
    return Preprocessing.fit(specs, X, device)


def encode_input(estimator, preprocessing, X, device):
    """``X`` checked as a fitted ``estimator``'s input (the columns seen in fit), then
    encoded by ``preprocessing`` on ``device``."""
    X = check_table(X, estimator=estimator, min_rows=1)
    validate_data(estimator, X, reset=False, skip_check_array=True)
    return preprocessing.transform(X, device)


class EncodedTable(NamedTuple):
    """A table preprocessed for the network: one float32 tensor of every modality's block
    side by side, and the rows where each modality is wholly missing."""

    #: (n, sum of widths) float32.
    features: torch.Tensor
    #: (n, K) bool.
    missing: torch.Tensor

    @classmethod
    def from_arrays(cls, features, missing, device):
        """The table of NumPy ``features`` and ``missing`` (shared, not copied) on ``device``."""
        return cls(torch.from_numpy(features).to(device), torch.from_numpy(missing).to(device))


class Preprocessing(NamedTuple):
    """The fitted modalities: their transformers and columns, and where each one's block
    lies in the network's input."""

    #: (name, fitted transformer or "passthrough", column positions, 1-D selection).
    plan: list
    #: Modality name -> slice of the network's input.
    output_indices: dict

    @classmethod
    def fit(cls, specs, X, device):
        """Fit every modality's transformer on ``X``; return it and ``X`` encoded."""
        plan, features, missing, widths = fit_modalities(specs, X)
        offsets = np.cumsum([0, *widths])
        output_indices = {
            name: slice(int(start), int(stop))
            for (name, *_), start, stop in zip(plan, offsets[:-1], offsets[1:])
        }
        return cls(plan, output_indices), EncodedTable.from_arrays(features, missing, device)

    @property
    def names(self):
        return list(self.output_indices)

    @property
    def widths(self):
        return [s.stop - s.start for s in self.output_indices.values()]

    def transform(self, X, device):
        """``X`` (checked, with the columns seen in fit) encoded on ``device``."""
        features, missing = transform_modalities(self.plan, X, self.widths)
        return EncodedTable.from_arrays(features, missing, device)


def check_modalities(modalities):
    """Validate the specification; return a list of ``(name, transformer, columns)``.

    ``None`` stands for one modality of every column, standardised.
    """
    if modalities is None:
        return [(ALL_COLUMNS_NAME, StandardScaler(), slice(None))]
    if isinstance(modalities, (str, bytes)) or not hasattr(modalities, "__iter__"):
        raise TypeError(
            "modalities must be a list of (name, transformer, columns) tuples or None; "
            f"got {type(modalities).__name__}."
        )
    modalities = list(modalities)
    if not modalities:
        raise ValueError("modalities is empty: give at least one (name, transformer, columns).")
    seen = set()
    for position, spec in enumerate(modalities):
        if not isinstance(spec, (tuple, list)) or len(spec) != 3:
            raise TypeError(
                f"modalities[{position}] must be a (name, transformer, columns) tuple; "
                f"got {spec!r}."
            )
        name, transformer, _ = spec
        if not isinstance(name, str) or not name:
            raise TypeError(f"modalities[{position}]: the name must be a non-empty str; got {name!r}.")
        if name in RESERVED_NAMES:
            raise ValueError(
                f"Modality name {name!r} is reserved: alpha uses it for the ordinary negatives."
            )
        if name in seen:
            raise ValueError(f"Duplicate modality name {name!r}: names must be unique.")
        seen.add(name)
        if isinstance(transformer, str):
            if transformer != "passthrough":
                raise ValueError(
                    f"Modality {name!r}: the transformer must be an estimator or 'passthrough'; "
                    f"got {transformer!r} (to leave columns out, do not list them)."
                )
        elif not (hasattr(transformer, "fit") and hasattr(transformer, "transform")):
            raise TypeError(
                f"Modality {name!r}: the transformer must implement fit and transform, "
                f"or be 'passthrough'; got {type(transformer).__name__}."
            )
    return [tuple(spec) for spec in modalities]


def _column_names(X):
    """The column labels of a DataFrame as str, for messages; None for an array."""
    return [str(c) for c in X.columns] if _is_dataframe(X) else None


def _resolve_columns(name, columns, X):
    """Column positions that ``columns`` selects, and whether the selection is 1-D.

    Resolved as :class:`~sklearn.compose.ColumnTransformer` resolves a transformer's
    columns: a callable is called on ``X``, and scikit-learn's ``_get_column_indices``
    turns the result into positions; a scalar (one name or index) selects a 1-D column.
    Errors name the modality, and the columns at fault.
    """
    if callable(columns):
        columns = columns(X)
    invalid = TypeError(
        f"Modality {name!r}: columns must be names, integer indices, a slice, a boolean "
        f"mask or a callable returning one of them; got {columns!r}."
    )
    if columns is None or isinstance(columns, (bool, np.bool_)) or np.ndim(columns) > 1:
        raise invalid
    try:
        key_type = _determine_key_type(columns)
    except (TypeError, ValueError):
        raise invalid from None
    n_features = X.shape[1]
    labels = list(X.columns) if _is_dataframe(X) else None
    if key_type == "str" and labels is None:
        raise ValueError(
            f"Modality {name!r}: selecting columns by name needs a DataFrame input; give "
            "integer indices for an array."
        )
    if key_type == "bool" and np.shape(columns) != (n_features,):
        raise ValueError(
            f"Modality {name!r}: a boolean mask must have one entry per column "
            f"({n_features}); got shape {np.shape(columns)}."
        )
    if key_type is None and isinstance(columns, slice):
        # slice(None) (with any step): scikit-learn reads it as a slice of names, which
        # an array does not have; it means every column (every step-th) of any input.
        return list(range(n_features))[columns], False
    try:
        positions = _get_column_indices(X, columns)
    except (ValueError, IndexError, KeyError, NotImplementedError) as exc:
        if key_type == "int" and not isinstance(columns, slice):
            bad = [c for c in np.atleast_1d(columns).tolist()
                   if not -n_features <= c < n_features]
            raise ValueError(
                f"Modality {name!r}: column indices {bad} are out of range for "
                f"{n_features} columns."
            ) from None
        if key_type == "str":
            keys = ([k for k in (columns.start, columns.stop) if k is not None]
                    if isinstance(columns, slice) else np.atleast_1d(columns).tolist())
            absent = [k for k in keys if k not in labels]
            if absent:
                raise ValueError(
                    f"Modality {name!r}: column {absent[0]!r} is not a column of X."
                ) from None
        raise ValueError(f"Modality {name!r}: cannot select columns {columns!r}: {exc}") from None
    return [int(p) for p in positions], bool(np.isscalar(columns))


def _select(X, positions, scalar):
    """The modality's columns of ``X``, 1-D for a scalar selection (as ColumnTransformer)."""
    return _safe_indexing(X, positions[0] if scalar else positions, axis=1)


def _null_mask(block):
    """Elementwise null test for arrays, Series and DataFrames of any dtype."""
    if hasattr(block, "isna"):
        return np.asarray(block.isna())
    values = np.asarray(block)
    if values.dtype.kind in "fc":
        return np.isnan(values)
    if values.dtype.kind == "O":
        return np.frompyfunc(lambda v: v is None or (isinstance(v, float) and v != v), 1, 1)(
            values
        ).astype(bool)
    return np.zeros(values.shape, dtype=bool)


def _wholly_missing(block):
    nulls = _null_mask(block)
    return nulls if nulls.ndim == 1 else nulls.all(axis=1)


def _check_no_infinity(name, block, present, column_names):
    if _is_dataframe(block):
        numeric = block.select_dtypes("number")
        values, column_names = numeric.to_numpy(), _column_names(numeric)
    else:
        values = np.asarray(block)
    if values.dtype.kind not in "fc":
        return
    bad = np.isinf(values.reshape(len(values), -1)[present]).any(axis=0)
    if bad.any():
        column = column_names[int(np.flatnonzero(bad)[0])]
        raise ValueError(
            f"Modality {name!r}: column {column!r} contains infinity (inf); "
            "replace it or mark the value as missing."
        )


def _to_float_block(name, output, n_rows):
    if sparse.issparse(output):
        output = output.toarray()
    try:
        with np.errstate(over="ignore"):  # overflow becomes inf, refused just below
            block = np.asarray(output, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"Modality {name!r}: its columns (after its transformer) are not numeric "
            f"({exc}); give text or categorical columns a transformer such as "
            "TfidfVectorizer or OneHotEncoder."
        ) from None
    if block.ndim == 1:
        block = block.reshape(-1, 1)
    if block.ndim != 2 or block.shape[0] != n_rows:
        raise ValueError(
            f"Modality {name!r}: its transformer returned shape {block.shape} for "
            f"{n_rows} rows; it must return one row per input row."
        )
    return block


def _preprocess(name, transformer, block, present, column_names, *, fit):
    """The float32 block of the present rows, fitting the transformer first when ``fit``."""
    _check_no_infinity(name, block, present, column_names)
    rows = block if present.all() else _safe_indexing(block, present)
    n_rows = int(present.sum())
    try:
        # The modality's blocks are the network's input, arrays whatever the user's global
        # transform_output: that config is for the fusion's own output (its set_output),
        # and a sparse block (OneHotEncoder's) has no pandas output at all.
        with config_context(transform_output="default"):
            if transformer == "passthrough":
                output = rows
            elif fit:
                output = transformer.fit_transform(rows)
            else:
                output = transformer.transform(rows)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"Modality {name!r}: its transformer failed: {exc}") from exc
    out = _to_float_block(name, output, n_rows)
    nonfinite = ~np.isfinite(out).all(axis=1)
    if nonfinite.any():
        raise ValueError(
            f"Modality {name!r}: NaN or inf in {int(nonfinite.sum())} row(s) that are not "
            "wholly missing (after preprocessing and conversion to float32). Impute partial "
            "missing values (e.g. SimpleImputer in the modality's pipeline) or rescale huge "
            "values; a row whose every column of the modality is missing is handled as absent."
        )
    return out


def fit_modalities(specs, X):
    """Fit every modality's transformer; return the fitted list, widths and blocks.

    Returns
    -------
    fitted : list of (name, transformer, positions, scalar)
    features : ndarray of float32, shape (n_samples, sum of widths)
    missing : ndarray of bool, shape (n_samples, K)
    widths : list of int
    """
    owner = {}
    fitted = []
    names = _column_names(X)
    for name, transformer, columns in specs:
        positions, scalar = _resolve_columns(name, columns, X)
        if not positions:
            raise ValueError(f"Modality {name!r} selects no columns.")
        if len(set(positions)) != len(positions):
            raise ValueError(f"Modality {name!r} selects a column more than once.")
        for p in positions:
            if p in owner:
                column = names[p] if names else p
                raise ValueError(
                    f"Column {column!r} belongs to both modality {owner[p]!r} and {name!r}: "
                    "modalities must not overlap."
                )
            owner[p] = name
        transformer = transformer if transformer == "passthrough" else clone(transformer)
        fitted.append((name, transformer, positions, scalar))
    features, missing, widths = _run(fitted, X)
    return fitted, features, missing, widths


def transform_modalities(fitted, X, widths):
    """Blocks and missing mask of new data with fitted modalities of known widths."""
    features, missing, _ = _run(fitted, X, widths=widths)
    return features, missing


def _run(fitted, X, widths=None):
    fit = widths is None
    n_rows = X.shape[0]
    names = _column_names(X)
    blocks, missing, out_widths = [], [], []
    for position, (name, transformer, positions, scalar) in enumerate(fitted):
        block = _select(X, positions, scalar)
        absent = _wholly_missing(block)
        present = ~absent
        if fit and not present.any():
            raise ValueError(
                f"Modality {name!r} is missing in every row: nothing to learn it from."
            )
        column_names = [names[p] for p in positions] if names else positions
        width = None if fit else widths[position]
        encoded = None
        if present.any():
            encoded = _preprocess(name, transformer, block, present, column_names, fit=fit)
            if fit:
                width = encoded.shape[1]
                if width == 0:
                    raise ValueError(f"Modality {name!r}: its transformer returned no columns.")
                # max of max and -min: np.abs would copy the whole block to find one number.
                largest = float(max(encoded.max(), -encoded.min()))
                if largest > _LARGE_INPUT:
                    warnings.warn(
                        f"Modality {name!r}: values up to {largest:.3g} reach the network; "
                        "neural encoders learn poorly from unscaled inputs. Give the modality "
                        "a scaler (StandardScaler) instead of 'passthrough'.",
                        UserWarning,
                        stacklevel=6,  # the estimator's fit
                    )
            elif encoded.shape[1] != width:
                raise ValueError(
                    f"Modality {name!r}: its transformer returned {encoded.shape[1]} columns "
                    f"at transform but {width} at fit."
                )
        blocks.append((encoded, present))
        missing.append(absent)
        out_widths.append(width)
    # One allocation for the network's input, filled block by block: no stacked copy.
    features = np.zeros((n_rows, sum(out_widths)), dtype=np.float32)
    start = 0
    for (encoded, present), width in zip(blocks, out_widths):
        if encoded is not None:
            if present.all():
                features[:, start:start + width] = encoded
            else:
                features[present, start:start + width] = encoded
        start += width
    return features, np.column_stack(missing), out_widths
