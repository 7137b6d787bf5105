from datetime import timedelta

import numpy as np
import pytest
import torch
from sklearn.preprocessing import StandardScaler

from sktnce.datasets import make_multimodal_classification


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """The suite's networks are tiny: one torch thread runs them fastest, and a second
    thread per process only competes with joblib's workers on a small machine (two
    processes of two threads each on two cores ran a fit about 30 times slower here)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session", autouse=True)
def collectives_give_up_in_two_minutes():
    """A data-parallel fit's ranks wait at most 2 minutes for each other (10 outside the
    tests): a hung collective fails its test, never holds CI."""
    from sktnce import _launch

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_launch, "TIMEOUT", timedelta(minutes=2))
        yield


@pytest.fixture
def fusion_fits(monkeypatch):
    """Every ``TupleInfoNCEFusion.fit`` of the test, in order, as ``(fusion, a copy of y or
    None)``; the fits run as they would."""
    from sktnce import TupleInfoNCEFusion

    fits = []
    original = TupleInfoNCEFusion.fit

    def recording(self, X, y=None):
        fits.append((self, None if y is None else np.asarray(y).copy()))
        return original(self, X, y)

    monkeypatch.setattr(TupleInfoNCEFusion, "fit", recording)
    return fits


FAST = {"max_epochs": 2, "n_components": 8, "embedding_dim": 8, "hidden_dim": 16,
        "batch_size": 64, "random_state": 0}


@pytest.fixture
def data():
    X, y, columns = make_multimodal_classification(n_samples=160, random_state=0)
    return X, y, columns


@pytest.fixture
def modalities(data):
    _, _, columns = data
    return [(name, StandardScaler(), cols) for name, cols in columns.items()]


@pytest.fixture
def frame():
    """A small mixed-dtype table: numeric, categorical and text columns."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    n = 120
    topic = rng.integers(0, 3, n)
    words = np.array(["cheap fast", "slow sturdy", "bright soft"])
    return pd.DataFrame({
        "age": rng.normal(40, 10, n),
        "income": rng.normal(size=n) + topic,
        "department": pd.Categorical(np.array(["a", "b", "c"])[topic]),
        "review": [f"{words[t]} item {i % 7}" for i, t in enumerate(topic)],
    })
