"""The labels of a target-aware fit: checked, and coded as class indices."""

from typing import NamedTuple

import numpy as np
import torch
from sklearn.utils.multiclass import type_of_target

from ._loss import UNLABELLED

__all__ = ["Labels", "UNLABELLED", "encode_labels", "label_array", "labelled_rows",
           "unlabelled_mask"]


class Labels(NamedTuple):
    """What a target-aware fit trains on."""

    #: (n,) int64 class codes, ``UNLABELLED`` (-1) for a row without a label.
    codes: torch.Tensor
    #: The class of each code, as in ``y``.
    classes: np.ndarray

    @property
    def n_classes(self):
        return len(self.classes)

    def hide(self, rows):
        """These labels with ``rows`` unlabelled (a copy)."""
        codes = self.codes.clone()
        codes[torch.as_tensor(rows, dtype=torch.long, device=codes.device)] = UNLABELLED
        return self._replace(codes=codes)


def label_array(y):
    """``y`` (a list, an array, a pandas Series...) as an array in which the unlabelled
    marker is still the integer -1: a list mixing str classes with -1 becomes an object
    array, which ``np.asarray`` would turn into strings, making "-1" a class.

    Raises ValueError where ``y`` holds the string "-1" (a str array, or an object array
    read from text), which would silently become a class, as scikit-learn's
    :class:`~sklearn.semi_supervised.SelfTrainingClassifier` refuses str arrays.
    """
    if isinstance(y, (list, tuple)):
        values = np.asarray(y, dtype=object)
        is_text = [isinstance(v, str) for v in values.ravel().tolist()]
        y = values if any(is_text) and not all(is_text) else np.asarray(y)
    else:
        y = np.asarray(y)
    if y.dtype.kind in "OU":
        found = [v for v in y.ravel().tolist() if isinstance(v, str)].count("-1")
        if found:
            raise ValueError(
                f"y holds the string '-1' in {found} row(s), which would be read as a class: "
                "-1 marks an unlabelled row only as the integer -1. With str classes, pass "
                "an object array with the integer -1 for rows without a label "
                "(y = np.asarray(y, dtype=object); y[y == '-1'] = -1), or rename the "
                "class '-1'.")
    return y


def unlabelled_mask(y):
    """Which entries of the 1-d array ``y`` are the unlabelled marker -1 (an int, not the
    string ``"-1"``, which :func:`label_array` refuses)."""
    if y.dtype.kind in "biuf":
        return y == UNLABELLED
    return np.array([not isinstance(value, str) and value == UNLABELLED for value in y],
                    dtype=bool)


def labelled_rows(y):
    """The positions of the labelled rows of the 1-d array ``y``, and their labels: those
    of an object array (bools or numbers beside the integer -1) as the array their own
    types make, so that scikit-learn reads them as the classes they are."""
    rows = np.flatnonzero(~unlabelled_mask(y))
    values = y[rows]
    if values.dtype.kind == "O" and not any(isinstance(v, str) for v in values):
        values = np.asarray(values.tolist())
    return rows, values


#: What a target-aware fusion does with its labels, and how to do without them.
_FUSION_NEEDS = "label_weight > 0 trains a supervised term"
_FUSION_INSTEAD = "set label_weight=0 to train without labels"


def _one_class_message(y, found, needs, instead):
    """Why a y whose labelled rows hold one class cannot be trained on."""
    message = (f"y labels one class only ({found.tolist()[0]!r}); {needs}, which needs at "
               "least 2 labelled classes. -1 marks an unlabelled row (scikit-learn's "
               "semi-supervised convention)")
    if y.dtype.kind in "iuf" and UNLABELLED in y and found[0] == 1:
        message += (": binary labels coded +1/-1 lose every -1 row that way. Recode them "
                    "(for instance as 0/1) before fitting")
    return message + (f". Or {instead}." if instead else ".")


def encode_labels(y, n_samples, *, owner, device, classes=None, needs=_FUSION_NEEDS,
                  instead=_FUSION_INSTEAD):
    """``y`` of a target-aware fit as :class:`Labels` on ``device``.

    ``y`` holds a class per row, -1 for rows without one (scikit-learn's semi-supervised
    convention); integer, bool, string (as a list, or an object array when -1 marks some
    rows) or other sortable classes. ``classes``: the classes of an earlier fit, which ``y``
    must keep to.
    Raises ValueError before any training: no y, a wrong shape, fewer than 2 labelled
    classes, a continuous target. The messages say that ``needs`` the labels (what
    ``owner`` does with them) and, where given, the fix ``instead``.
    """
    fix = f", or {instead}" if instead else ""
    if y is None:
        raise ValueError(
            f"{owner} requires y to be passed, but the target y is None ({needs}): give a "
            "class per row, -1 for unlabelled rows (scikit-learn's semi-supervised "
            f"convention){fix}."
        )
    y = label_array(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1 or len(y) != n_samples:
        raise ValueError(f"y must have shape ({n_samples},) to match X; got {y.shape}.")
    labelled, values = labelled_rows(y)
    if not len(labelled):
        raise ValueError(
            f"y has no labelled row (every entry is -1), but {needs} on the labelled rows. "
            f"Label some rows{fix}."
        )
    kind = type_of_target(values, input_name="y")
    if kind == "continuous":
        raise ValueError(
            f"Unknown label type: y is continuous, but {needs} on class labels. For a "
            "number, a fusion takes label_loss='squared_error' (NaN marks a row without a "
            "target) and TupleInfoNCERegressor predicts it."
        )
    try:
        found, codes = np.unique(values, return_inverse=True)
    except TypeError:
        kind = "unknown"
    if kind not in ("binary", "multiclass"):
        raise TypeError(f"Unknown label type: y must hold one class per row, all str or all "
                        f"numbers (besides -1); type_of_target finds {kind!r}.")
    if classes is None and len(found) < 2:  # a continued fit keeps its earlier classes
        raise ValueError(_one_class_message(y, found, needs, instead))
    if classes is not None:
        unknown = np.setdiff1d(found, classes)
        if len(unknown):
            raise ValueError(
                f"y has classes {unknown.tolist()} that the fit being continued "
                f"(warm_start) did not have: {np.asarray(classes).tolist()}."
            )
        codes = np.searchsorted(classes, found)[codes]
        found = np.asarray(classes)
    all_codes = np.full(n_samples, UNLABELLED, dtype=np.int64)
    all_codes[labelled] = codes
    return Labels(torch.as_tensor(all_codes, device=device), found)
