"""make_modalities: a first ``modalities`` list read off a DataFrame's column types."""

import warnings
from numbers import Integral

import numpy as np
from sklearn.compose import make_column_selector
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ._modalities import RESERVED_NAMES, _is_dataframe

__all__ = ["make_modalities"]

NUMERIC_NAME = "numeric"
CATEGORICAL_NAME = "categorical"


# The dtype split, as ColumnTransformer users write it. pandas counts timedeltas and
# complex numbers as "number"; neither is a feature the encoders can take as is.
_NUMERIC = make_column_selector(dtype_include="number", dtype_exclude=["timedelta", "complex"])
_CATEGORICAL = make_column_selector(dtype_include=["bool", "boolean", "category"])
_STRINGS = make_column_selector(dtype_include=["object", "string"])


def _string_kind(column, *, max_categories, text_min_words):
    """``"categorical"``, ``"text"`` or ``None`` (unusable) for an object or string column,
    by its values."""
    values = column.dropna()
    if not all(isinstance(v, str) for v in values):
        if all(isinstance(v, (bool, np.bool_)) for v in values):
            return "categorical"  # a bool column with missing values is of object dtype
        return None  # mixed Python objects
    words = values.str.split().str.len()
    if values.nunique() > max_categories or words.mean() >= text_min_words:
        return "text"
    return "categorical"


def _text_pipeline(values, n_components, random_state):
    """TF-IDF then TruncatedSVD, with at most half the vocabulary as components.

    TruncatedSVD cannot return more components than the vocabulary has words; half the
    vocabulary of the given rows leaves room for a training subset with fewer words.
    """
    vectorizer = TfidfVectorizer(sublinear_tf=True)
    try:
        vocabulary = len(vectorizer.fit(values).vocabulary_)
    except ValueError:  # empty vocabulary: only stop words or no words at all
        return None
    return make_pipeline(
        TfidfVectorizer(sublinear_tf=True),
        TruncatedSVD(n_components=max(1, min(n_components, vocabulary // 2)),
                     random_state=random_state),
    )


def _check_input(X, max_categories, text_min_words, text_components):
    """make_modalities' arguments checked, before any column is read."""
    if not _is_dataframe(X):
        raise TypeError(
            "make_modalities needs a pandas DataFrame (it reads the column dtypes); got "
            f"{type(X).__name__}. For an array, write the modalities list yourself."
        )
    for value, name, low in [(max_categories, "max_categories", 1),
                             (text_components, "text_components", 1)]:
        if not isinstance(value, Integral) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name} must be an int >= {low}; got {value!r}.")
    if isinstance(text_min_words, bool) or not isinstance(text_min_words, (int, float)) \
            or not text_min_words > 0:
        raise ValueError(f"text_min_words must be a number > 0; got {text_min_words!r}.")

    for label in X.columns:
        if not isinstance(label, str):
            raise TypeError(
                f"make_modalities needs string column names; column {label!r} is a "
                f"{type(label).__name__}. Rename the columns, e.g. df.columns = "
                "df.columns.astype(str)."
            )


def _group_columns(X, max_categories, text_min_words):
    """``(groups, skipped)``: the usable columns by kind (numeric, categorical, text), in
    column order, and the others with the reason they are left out."""
    kinds = dict.fromkeys(_NUMERIC(X), "numeric")
    kinds.update(dict.fromkeys(_CATEGORICAL(X), "categorical"))
    for label in _STRINGS(X):
        kinds[label] = _string_kind(X[label], max_categories=max_categories,
                                    text_min_words=text_min_words)
    groups = {"numeric": [], "categorical": [], "text": []}
    skipped = {}
    for label in X.columns:  # in column order within each group
        if X[label].isna().all():
            skipped[label] = "no values"
        elif kinds.get(label) is None:
            skipped[label] = f"dtype {X[label].dtype}"
        else:
            groups[kinds[label]].append(label)
    return groups, skipped


def make_modalities(X, *, max_categories=20, text_min_words=3, text_components=32,
                    random_state=0):
    """Build a ``modalities`` list for :class:`~sktnce.TupleInfoNCEFusion` from a DataFrame.

    Reads each column's dtype, with :func:`~sklearn.compose.make_column_selector` (and,
    for string columns, their values) and groups the columns into modalities:

    - ``"numeric"``: every numeric column (bool, complex and timedelta excluded), through
      ``SimpleImputer(strategy="median")`` then ``StandardScaler()``;
    - ``"categorical"``: every bool and ``category`` column, and every string column that
      is not text, through ``OneHotEncoder(handle_unknown="ignore")``; a missing value
      is a category of its own, and a category unseen in fit encodes as all zeros;
    - one modality per text column, named after the column: a string column with more
      than ``max_categories`` distinct values, or with ``text_min_words`` words or more
      on average, through ``TfidfVectorizer(sublinear_tf=True)`` then ``TruncatedSVD``.

    Missing values: a row whose every column of a modality is missing gets that
    modality's learned *absent* embedding in the fusion (a missing text is an absent text
    modality). Only partly missing rows reach the transformers, which is why the numeric
    pipeline starts with an imputer (the median of the column).

    Columns of other dtypes (datetimes, timedeltas, complex numbers, mixed Python objects)
    and columns with no value at all are left out with a warning. So are none of the
    others: drop identifiers (a row number, a customer id) before calling, or they become a
    feature. The returned list is plain data; print it, edit it, or write the list yourself
    to say exactly what you mean.

    The nullable dtypes ``"string"`` and ``"boolean"`` mark missing values with
    ``pd.NA``, which :class:`~sklearn.preprocessing.OneHotEncoder` does not take: fill
    them, or convert such categorical columns to ``"category"`` first. Saving a fusion
    built from this list with :func:`sktnce.save` stores a ``numpy.dtype`` (kept by
    SimpleImputer), which :func:`sktnce.load` trusts.

    Parameters
    ----------
    X : pandas.DataFrame
        The table, or its training part: the text pipelines' widths are set from it.
    max_categories : int, default=20
        A string column with more distinct values than this is text, not categorical.
    text_min_words : float, default=3
        A string column whose values have this many words or more on average is text.
    text_components : int, default=32
        TruncatedSVD components of each text modality, at most half the column's
        vocabulary in ``X``.
    random_state : int, RandomState instance or None, default=0
        Seed of each TruncatedSVD.

    Returns
    -------
    modalities : list of (name, transformer, columns)
        ``"numeric"`` first, then ``"categorical"``, then the text modalities in column
        order; modalities without columns are left out. ``columns`` is a list of names,
        or one name (a 1-D column, as text transformers need) for a text modality.

    Raises
    ------
    TypeError
        If ``X`` is not a pandas DataFrame.
    ValueError
        If no column is usable.

    See Also
    --------
    TupleInfoNCEFusion : Takes the list as its ``modalities``.
    sktnce.text.SentenceEmbedder : A sentence-embedding transformer for a text column.

    Examples
    --------
    >>> import pandas as pd
    >>> from sktnce import TupleInfoNCEFusion, make_modalities
    >>> df = pd.DataFrame({
    ...     "age": [31, 45, 27, 52, 38, 60],
    ...     "plan": pd.Categorical(["a", "b", "a", "c", "b", "a"]),
    ...     "review": ["fast and cheap, would buy again", "slow delivery, broke quickly",
    ...                "cheap but sturdy enough for me", "arrived late and scratched",
    ...                "great value and fast shipping", "poor quality, returned it"],
    ... })
    >>> modalities = make_modalities(df)
    >>> [(name, columns) for name, _, columns in modalities]
    [('numeric', ['age']), ('categorical', ['plan']), ('review', 'review')]
    >>> fusion = TupleInfoNCEFusion(modalities=modalities, n_components=4, max_epochs=2,
    ...                             batch_size=6, random_state=0)
    >>> fusion.fit_transform(df).shape
    (6, 4)
    """
    _check_input(X, max_categories, text_min_words, text_components)
    groups, skipped = _group_columns(X, max_categories, text_min_words)

    modalities = []
    if groups["numeric"]:
        modalities.append((NUMERIC_NAME,
                           make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                           groups["numeric"]))
    if groups["categorical"]:
        modalities.append((CATEGORICAL_NAME, OneHotEncoder(handle_unknown="ignore"),
                           groups["categorical"]))
    taken = {NUMERIC_NAME, CATEGORICAL_NAME, *RESERVED_NAMES}
    for label in groups["text"]:
        pipeline = _text_pipeline(X[label].dropna(), text_components, random_state)
        if pipeline is None:
            skipped[label] = "no words"
            continue
        name = label
        while name in taken:
            name = f"text_{name}"
        taken.add(name)
        modalities.append((name, pipeline, label))

    if skipped:
        warnings.warn(
            "make_modalities left out columns it cannot use: "
            + ", ".join(f"{label!r} ({why})" for label, why in skipped.items())
            + ". Give them a modality yourself if they matter.",
            UserWarning,
            stacklevel=2,
        )
    if not modalities:
        raise ValueError(
            "make_modalities found no usable column in X (numeric, bool, categorical or "
            f"text) among {list(map(str, X.columns))}; write the modalities list yourself."
        )
    return modalities
