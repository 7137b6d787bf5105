"""A continuous target of a partly labelled table: checked, NaN for a row without one, and
standardised for a target-aware fit."""

from typing import NamedTuple

import numpy as np
import torch
from sklearn.utils.validation import column_or_1d

__all__ = ["Targets", "continuous_target", "encode_targets"]


class Targets(NamedTuple):
    """What a target-aware fit on a continuous target trains on: the twin of
    :class:`~sktnce._labels.Labels`, whose ``codes`` are the standardised targets."""

    #: (n,) float32, the target standardised ((y - mean) / scale), NaN for a row without one.
    codes: torch.Tensor
    #: The mean and the standard deviation of the rows' targets, which standardised them.
    mean: float
    scale: float

    #: A continuous target has no classes: the head has one output.
    classes = None
    n_classes = 1

    def hide(self, rows):
        """These targets with ``rows`` unknown (a copy)."""
        codes = self.codes.clone()
        codes[torch.as_tensor(rows, dtype=torch.long, device=codes.device)] = float("nan")
        return self._replace(codes=codes)


def _as_numbers(y, owner):
    """``(given, values)``: ``y`` as an array, and as float64 with NaN for a missing value
    (None, pandas' NA); a TypeError where an entry is not a number."""
    dtype = getattr(y, "dtype", None)
    if getattr(dtype, "name", None) == "category":
        raise TypeError(f"y is categorical: {owner} predicts a number. For classes, use "
                        "TupleInfoNCEEnsembleClassifier.")
    if hasattr(y, "to_numpy") and getattr(dtype, "kind", "O") in "biuf":
        y = y.to_numpy(dtype=np.float64, na_value=np.nan)  # pandas' nullable dtypes
    given = np.asarray(y)
    if given.dtype.kind in "OUS":
        entries = given.ravel().tolist()
        text = [v for v in entries if isinstance(v, (str, bytes))]
        if text:
            raise TypeError(f"y holds strings ({text[0]!r} among them): {owner} predicts a "
                            "number. For classes, use TupleInfoNCEEnsembleClassifier; for "
                            "numbers read as text, convert them (pandas.to_numeric).")
        given = np.asarray([np.nan if v is None else v for v in entries],
                           dtype=object).reshape(given.shape)
    if given.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: y is complex, and {owner} predicts a "
                         "real number.")
    try:
        return given, given.astype(np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"y must hold numbers: {owner} predicts a number ({error}).") from None


def continuous_target(y, n_samples, *, owner, min_rows=2):
    """``y`` of a regression on a partly labelled table as ``(rows, values)``: the positions
    of the rows with a target, and their targets (float64).

    NaN (or None, or pandas' NA) marks a row without a target: for a number, -1 is a value
    like any other. An integer ``y`` that holds -1 and no missing value is refused as
    ambiguous (scikit-learn's semi-supervised classifiers mark unlabelled rows with -1):
    pass a float ``y`` with NaN for the rows without a target, or, where -1 is a true value,
    a float ``y``.

    Raises TypeError or ValueError before any training: no y, a wrong shape, strings,
    categories, inf, fewer than ``min_rows`` rows with a target, a target with one value.
    """
    if y is None:
        raise ValueError(f"{owner} requires y to be passed, but the target y is None: give a "
                         "number per row, NaN for a row without one.")
    given, values = _as_numbers(y, owner)
    if values.ndim == 2 and values.shape[1] == 1:
        given, values = given.ravel(), column_or_1d(values, warn=True)
    if values.ndim != 1 or len(values) != n_samples:
        raise ValueError(f"y must have shape ({n_samples},) to match X; got {values.shape}.")
    if np.isinf(values).any():
        raise ValueError(f"y holds inf in {int(np.isinf(values).sum())} row(s): give a finite "
                         "number per row, NaN for a row without one.")
    missing = np.isnan(values)
    if given.dtype.kind in "iu" and not missing.any() and (given == -1).any():
        raise ValueError(
            f"y is integer and holds -1 in {int((given == -1).sum())} row(s): for a "
            f"regression, NaN marks a row without a target, and -1 is a value. Pass y as "
            "float, NaN for the rows without a target (y = y.astype(float); y[y == -1] = "
            "np.nan), or as float with the -1 kept if -1 is a true value.")
    rows = np.flatnonzero(~missing)
    if len(rows) < min_rows:
        raise ValueError(f"y gives a target to {len(rows)} row(s) only ({len(rows)} "
                         f"sample(s) to learn it from), and {owner} needs at least "
                         f"{min_rows}. NaN marks a row without a target.")
    if np.ptp(values[rows]) == 0:
        raise ValueError(f"y has one value only ({values[rows[0]]!r}) on the rows with a "
                         f"target: {owner} needs a target that varies.")
    return rows, values[rows]


def encode_targets(y, n_samples, *, owner, device, scale=None):
    """``y`` of a target-aware fit on a continuous target as :class:`Targets` on
    ``device``, checked as :func:`continuous_target` checks it (NaN: no target),
    standardised by ``scale`` (a continued fit's ``(mean, sd)``, kept so that its head goes
    on in the units it learned) or, where None, by this ``y``'s own mean and sd."""
    rows, values = continuous_target(y, n_samples, owner=owner, min_rows=2)
    mean, scale = ((float(values.mean()), float(values.std())) if scale is None
                   else (float(scale[0]), float(scale[1])))
    standardised = np.full(n_samples, np.nan, dtype=np.float32)
    standardised[rows] = (values - mean) / scale
    return Targets(torch.as_tensor(standardised, device=device), mean, scale)
