import warnings

import numpy as np
import pytest
from sklearn.compose import make_column_selector
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sktnce import TupleInfoNCEFusion, make_modalities

from .conftest import FAST

pd = pytest.importorskip("pandas")


@pytest.fixture
def table():
    """Every kind of column make_modalities reads, with missing values."""
    rng = np.random.default_rng(0)
    n = 80
    label = rng.integers(0, 2, n)
    words = np.array(["great sturdy fast", "poor broken slow"])
    df = pd.DataFrame({
        "age": rng.normal(40, 10, n),
        "visits": rng.integers(0, 9, n),
        "member": rng.random(n) < 0.5,
        "plan": pd.Categorical(np.array(["basic", "pro"])[label]),
        "city": np.array(["paris", "lyon", "nice"])[rng.integers(0, 3, n)],
        "review": [f"{words[t]} item number {i}" for i, t in enumerate(label)],
        "title": [f"product {i}" for i in range(n)],  # short, but unique: text
    })
    df.loc[3, "age"] = np.nan              # partly missing numeric row: imputed
    df.loc[5, ["age", "visits"]] = np.nan  # wholly missing numeric row: absent
    df.loc[7, "city"] = None               # a missing category
    df.loc[9, "review"] = None             # a missing text: absent
    return df, label


def specs(modalities):
    return [(name, columns) for name, _, columns in modalities]


def test_columns_grouped_by_kind(table):
    df, _ = table
    modalities = make_modalities(df)
    assert specs(modalities) == [
        ("numeric", ["age", "visits"]),
        ("categorical", ["member", "plan", "city"]),
        ("review", "review"),
        ("title", "title"),
    ]
    numeric, categorical, review, _ = (transformer for _, transformer, _ in modalities)
    assert [type(step) for _, step in numeric.steps] == [SimpleImputer, StandardScaler]
    assert numeric.steps[0][1].strategy == "median"
    assert isinstance(categorical, OneHotEncoder)
    assert categorical.handle_unknown == "ignore"
    assert [type(step) for _, step in review.steps] == [TfidfVectorizer, TruncatedSVD]


def test_thresholds_decide_text_or_categorical(table):
    df, _ = table
    by_words = make_modalities(df[["review"]], text_min_words=10, max_categories=100)
    assert specs(by_words) == [("categorical", ["review"])]
    by_count = make_modalities(df[["city"]], max_categories=2)
    assert specs(by_count) == [("city", "city")]


def test_text_components_capped_by_vocabulary(table):
    df, _ = table
    review = dict((name, t) for name, t, _ in make_modalities(df, text_components=500))["review"]
    vocabulary = len(TfidfVectorizer().fit(df["review"].dropna()).vocabulary_)
    assert review[-1].n_components == vocabulary // 2
    small = dict((n, t) for n, t, _ in make_modalities(df, text_components=3))["review"]
    assert small[-1].n_components == 3


def test_fit_transform_and_linear_probe_end_to_end(table):
    df, label = table
    fusion = TupleInfoNCEFusion(modalities=make_modalities(df), **{**FAST, "max_epochs": 1})
    pipe = Pipeline([("fuse", fusion), ("probe", LogisticRegression())]).fit(df, label)
    assert pipe.predict(df).shape == (len(df),)
    embedding = pipe[0].transform(df)
    assert embedding.shape == (len(df), FAST["n_components"])
    assert np.isfinite(embedding).all()
    assert list(pipe[0].output_indices_) == ["numeric", "categorical", "review", "title"]
    # A category unseen in fit, and a missing review, still transform.
    new = df.head(3).copy()
    new.loc[0, "city"] = "brest"
    new.loc[1, "review"] = None
    assert np.isfinite(pipe[0].transform(new)).all()


def test_string_dtype_columns(table):
    df, _ = table
    # The nullable "string" dtype marks missing values with pd.NA, which OneHotEncoder
    # does not take (make_modalities documents it); a missing text is absent, so fine.
    typed = df.assign(city=df["city"].fillna("unknown")).astype(
        {"city": "string", "review": "string"})
    assert specs(make_modalities(typed)) == specs(make_modalities(df))
    fusion = TupleInfoNCEFusion(modalities=make_modalities(typed), **{**FAST, "max_epochs": 1})
    assert fusion.fit_transform(typed).shape == (len(df), FAST["n_components"])


def test_dtype_split_is_make_column_selectors():
    """Numeric and categorical by dtype as make_column_selector picks them; pandas counts
    complex and timedelta columns as numbers, which the encoders cannot take: left out."""
    n = 6
    df = pd.DataFrame({
        "float": np.linspace(0, 1, n),
        "int": np.arange(n),
        "nullable_int": pd.array([1, None, 3, 4, 5, 6], dtype="Int64"),
        "nullable_float": pd.array([0.5, 1.5, None, 2.5, 3.5, 4.5], dtype="Float64"),
        "bool": np.arange(n) % 2 == 0,
        "nullable_bool": pd.array([True, False, None, True, False, True], dtype="boolean"),
        "category": pd.Categorical(list("abcabc")),
        "complex": np.arange(n) * 1j,
        "duration": pd.to_timedelta(np.arange(n), unit="D"),
        "when": pd.date_range("2026-01-01", periods=n),
        "city": list("xyzxyz"),
    })
    with pytest.warns(UserWarning, match="'complex' \\(dtype complex128\\), 'duration'"):
        modalities = make_modalities(df)
    numbers = make_column_selector(dtype_include="number")(df)
    assert specs(modalities) == [
        ("numeric", [c for c in numbers if c not in ("complex", "duration")]),
        ("categorical", ["bool", "nullable_bool", "category", "city"]),
    ]


def test_skrub_table_vectorizer_as_a_modality(table):
    """skrub's TableVectorizer encodes a modality of mixed columns; it leaves missing
    numbers as NaN and datetimes unscaled, hence the imputer and the scaler after it."""
    skrub = pytest.importorskip("skrub")
    df, _ = table
    df = df.drop(columns="member").assign(when=pd.date_range("2026-01-01", periods=len(df)))
    df.loc[5, "when"] = pd.NaT  # row 5 has no customer column at all: absent
    customer = ["age", "visits", "plan", "city", "when"]
    fusion = TupleInfoNCEFusion(modalities=[
        ("customer", make_pipeline(skrub.TableVectorizer(), SimpleImputer(), StandardScaler()),
         customer),
        ("review", skrub.TableVectorizer(), ["review", "title"]),
    ], **{**FAST, "max_epochs": 1})
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no unscaled-input warning
        embedding = fusion.fit_transform(df)
    assert embedding.shape == (len(df), FAST["n_components"]) and np.isfinite(embedding).all()
    vectorizer = fusion.modalities_[0][1][0]
    width = fusion.output_indices_["customer"].stop
    assert width == len(vectorizer.get_feature_names_out()) > len(customer)
    new = df.head(3).copy()
    new.loc[0, "city"] = "brest"
    with pytest.warns(UserWarning, match="unknown categories"):
        assert np.isfinite(fusion.transform(new)).all()


def test_name_clash_with_a_text_column():
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0],
                       "numeric": ["one two three", "four five six", "seven eight nine"]})
    assert specs(make_modalities(df)) == [("numeric", ["x"]), ("text_numeric", "numeric")]


def test_unusable_columns_left_out_with_a_warning(table):
    df, _ = table
    df = df.assign(when=pd.Timestamp("2026-01-01"), empty=np.nan)
    with pytest.warns(UserWarning, match=r"'when' \(dtype datetime64.*'empty' \(no values\)"):
        modalities = make_modalities(df)
    assert "when" not in str(specs(modalities)) and "empty" not in str(specs(modalities))


def test_no_warning_when_every_column_is_used(table):
    df, _ = table
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make_modalities(df)


def test_nothing_usable_is_a_clear_error():
    df = pd.DataFrame({"when": pd.date_range("2026-01-01", periods=3), "none": [None] * 3})
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="no usable column"):
        make_modalities(df)


@pytest.mark.parametrize("X, error, match", [
    (np.zeros((3, 2)), TypeError, "needs a pandas DataFrame"),
    ([[1, 2]], TypeError, "needs a pandas DataFrame"),
])
def test_not_a_dataframe(X, error, match):
    with pytest.raises(error, match=match):
        make_modalities(X)


def test_non_string_column_names():
    with pytest.raises(TypeError, match="string column names"):
        make_modalities(pd.DataFrame(np.zeros((3, 2))))


@pytest.mark.parametrize("params, match", [
    ({"max_categories": 0}, "max_categories"),
    ({"text_components": 2.5}, "text_components"),
    ({"text_min_words": -1}, "text_min_words"),
    ({"text_min_words": "3"}, "text_min_words"),
])
def test_bad_parameters(table, params, match):
    with pytest.raises(ValueError, match=match):
        make_modalities(table[0], **params)


def test_save_and_load(table, tmp_path):
    pytest.importorskip("skops")
    pytest.importorskip("safetensors")
    from sktnce import load, save

    df, _ = table
    fusion = TupleInfoNCEFusion(modalities=make_modalities(df), **{**FAST, "max_epochs": 1})
    fusion.fit(df)
    save(fusion, tmp_path / "fusion.sktnce")
    # SimpleImputer keeps a numpy.dtype, which skops alone does not trust; load does.
    loaded = load(tmp_path / "fusion.sktnce")
    # Exact: the loaded weights and transformers are copies; transform is one path.
    np.testing.assert_array_equal(loaded.transform(df), fusion.transform(df))
