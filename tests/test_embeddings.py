import numpy as np
import pytest
import torch
from sklearn.preprocessing import StandardScaler

from sktnce import TupleInfoNCEFusion, TupleInfoNCESearch, load, save
from sktnce._embeddings import PiecewiseLinearEmbedding, resolve_numeric_embedding
from sktnce._search import _split
from sktnce.datasets import make_multimodal_classification


def _fitted_bins(x, n_bins=3):
    embedding = PiecewiseLinearEmbedding(x.shape[1], n_bins=n_bins)
    embedding.fit_bins(x)
    return embedding


def test_the_bins_are_each_columns_quantiles():
    x = torch.randn(101, 4).exp()  # skewed columns
    embedding = _fitted_bins(x)
    expected = torch.quantile(x, torch.linspace(0, 1, 4), dim=0).T
    torch.testing.assert_close(embedding.edges, expected)
    assert not embedding.edges.requires_grad


def test_each_column_becomes_a_thermometer_that_adds_up_to_its_value():
    x = torch.randn(200, 3)
    embedding = _fitted_bins(x, n_bins=4)
    out = embedding(x).view(200, 3, 4)
    assert out.min() >= 0 and out.max() <= 1
    # Below the bin holding the value every feature is 1, above it 0.
    assert torch.all(out[..., 1:] <= out[..., :-1] + 1e-6)
    edges = embedding.edges
    rebuilt = edges[:, 0] + (out * (edges[:, 1:] - edges[:, :-1])).sum(-1)
    torch.testing.assert_close(rebuilt, x, atol=1e-5, rtol=1e-5)


def test_values_beyond_the_training_range_saturate():
    embedding = _fitted_bins(torch.linspace(0, 1, 50).unsqueeze(1))
    out = embedding(torch.tensor([[-5.0], [5.0]]))
    assert out[0].tolist() == [0.0, 0.0, 0.0]
    assert out[1].tolist() == [1.0, 1.0, 1.0]


def test_a_column_of_few_values_gets_steps_not_infinities():
    binary = torch.tensor([[0.0], [0.0], [0.0], [1.0], [1.0]])
    constant = torch.zeros(5, 1)
    embedding = _fitted_bins(torch.cat([binary, constant], dim=1))
    out = embedding(torch.cat([binary, constant], dim=1))
    assert torch.isfinite(out).all()
    zero, one = out[0, :3], out[3, :3]
    assert not torch.equal(zero, one)


def test_resolve_numeric_embedding_names_the_modality_or_the_kind():
    names = ["a", "b"]
    assert resolve_numeric_embedding(None, names) == ()
    assert resolve_numeric_embedding("piecewise_linear", names) == (
        ("piecewise_linear", 3), ("piecewise_linear", 3))
    assert resolve_numeric_embedding({"b": "piecewise_linear"}, names) == (
        None, ("piecewise_linear", 3))
    assert resolve_numeric_embedding({"a": None}, names) == ()
    with pytest.raises(ValueError, match=r"\['c'\], which are not modalities"):
        resolve_numeric_embedding({"c": "piecewise_linear"}, names)
    with pytest.raises(ValueError, match=r"numeric_embedding\['a'\] must be one of"):
        resolve_numeric_embedding({"a": "periodic"}, names)


@pytest.fixture(scope="module")
def table():
    X, _, columns = make_multimodal_classification(n_samples=200, random_state=0)
    return X, [(name, StandardScaler(), cols) for name, cols in columns.items()]


def _fusion(modalities, **params):
    return TupleInfoNCEFusion(modalities=modalities, n_components=4, max_epochs=2,
                              random_state=0, **params)


def test_an_embedded_fit_learns_its_bins_on_the_training_rows(table):
    X, modalities = table
    fusion = _fusion(modalities, numeric_embedding={"weak": "piecewise_linear"}).fit(X)
    encoders = fusion.net_.module_.encoder.modality_encoders
    assert not any(isinstance(encoder[0], PiecewiseLinearEmbedding) for encoder in encoders[:2])
    weak = fusion.modalities_[2]
    block = torch.as_tensor(weak[1].transform(X[:, weak[2]]), dtype=torch.float32)
    expected = torch.quantile(block, torch.linspace(0, 1, 4), dim=0).T
    torch.testing.assert_close(encoders[2][0].edges, expected)
    assert fusion.transform(X).shape == (len(X), 4)


def test_an_embedded_fit_is_deterministic_and_differs_from_a_plain_one(table):
    X, modalities = table
    first = _fusion(modalities, numeric_embedding="piecewise_linear").fit_transform(X)
    again = _fusion(modalities, numeric_embedding="piecewise_linear").fit_transform(X)
    plain = _fusion(modalities).fit_transform(X)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, plain)


def test_an_embedded_model_saves_and_loads_after_set_params(table, tmp_path):
    X, modalities = table
    fusion = _fusion(modalities, numeric_embedding="piecewise_linear").fit(X)
    fusion.set_params(numeric_embedding=None)
    save(fusion, tmp_path / "model.sktnce")
    loaded = load(tmp_path / "model.sktnce")
    np.testing.assert_array_equal(loaded.transform(X), fusion.transform(X))


def test_warm_start_refuses_another_numeric_embedding_before_training(table):
    X, modalities = table
    fusion = _fusion(modalities, warm_start=True).fit(X)
    curve = list(fusion.loss_curve_)
    fusion.set_params(numeric_embedding="piecewise_linear")
    with pytest.raises(ValueError, match="numeric_embedding"):
        fusion.fit(X)
    assert fusion.loss_curve_ == curve


def test_a_bad_numeric_embedding_fails_before_any_preprocessing(table):
    X, modalities = table
    fusion = _fusion(modalities, numeric_embedding={"nope": "piecewise_linear"})
    with pytest.raises(ValueError, match="not modalities"):
        fusion.fit(X)
    assert not hasattr(fusion, "modalities_")


def test_the_search_starts_its_candidates_from_bins_of_its_training_rows(table, monkeypatch):
    from sktnce import _search

    X, modalities = table
    splits = []

    def recording_split(*args):
        splits.append(_split(*args))
        return splits[-1]

    monkeypatch.setattr(_search, "_split", recording_split)
    search = TupleInfoNCESearch(_fusion(modalities, numeric_embedding="piecewise_linear"),
                                n_rounds=2, epochs_per_round=1, n_candidates=2,
                                random_state=0).fit(X)
    encoder = search.best_estimator_.net_.module_.encoder
    strong = search.best_estimator_.modalities_[0]
    block = torch.as_tensor(strong[1].transform(X[:, strong[2]]), dtype=torch.float32)
    train_min = block[splits[0].train].min(0).values
    assert not torch.equal(train_min, block.min(0).values)  # a validation row is lowest
    torch.testing.assert_close(encoder.modality_encoders[0][0].edges[:, 0], train_min)


def test_bins_are_fitted_on_the_rows_where_the_modality_is_present(table):
    X, modalities = table
    X = X.copy()
    weak = modalities[2][2]
    absent = np.random.default_rng(0).random(len(X)) < 0.6
    X[np.ix_(absent, weak)] = np.nan
    fusion = _fusion(modalities, numeric_embedding={"weak": "piecewise_linear"}).fit(X)
    scaler = fusion.modalities_[2][1]
    present = torch.as_tensor(scaler.transform(X[~absent][:, weak]), dtype=torch.float32)
    expected = torch.quantile(present, torch.linspace(0, 1, 4), dim=0).T
    edges = fusion.net_.module_.encoder.modality_encoders[2][0].edges
    torch.testing.assert_close(edges, expected)
    assert (edges[:, 1:] - edges[:, :-1]).min() > 0.05  # no bin of zero width at the zeros
