import io
import json
import os
import pickle
import warnings
import zipfile

import joblib
import numpy as np
import pytest
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from sktnce import TupleInfoNCEFusion
from sktnce._version import __version__

from .conftest import FAST

pytest.importorskip("skops")
pytest.importorskip("safetensors")

from sktnce import load, save  # noqa: E402


@pytest.fixture
def fitted(data, modalities):
    X, _, _ = data
    return TupleInfoNCEFusion(modalities=modalities, **FAST).fit(X), X


def _rewrite(path, name, content):
    """Replace one member of the archive at ``path``."""
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    members[name] = content
    with zipfile.ZipFile(path, "w") as archive:
        for n, data in members.items():
            archive.writestr(n, data)


def test_save_load_round_trip_is_bit_identical(tmp_path, fitted):
    est, X = fitted
    save(est, tmp_path / "model.sktnce")
    loaded = load(tmp_path / "model.sktnce")
    assert np.array_equal(loaded.transform(X), est.transform(X))
    assert loaded.cross_modal_accuracy(X) == est.cross_modal_accuracy(X)
    assert loaded.get_params()["temperature"] == est.temperature
    assert loaded.alpha_ == est.alpha_ and loaded.loss_curve_ == est.loss_curve_


def test_round_trip_with_dataframe_and_text(tmp_path, frame):
    mods = [("numeric", StandardScaler(), ["age", "income"]),
            ("department", OneHotEncoder(handle_unknown="ignore"), ["department"])]
    est = TupleInfoNCEFusion(modalities=mods, **FAST).fit(frame)
    save(est, tmp_path / "m.sktnce")
    loaded = load(tmp_path / "m.sktnce")
    assert np.array_equal(loaded.transform(frame), est.transform(frame))
    assert list(loaded.feature_names_in_) == list(frame.columns)


def test_file_keeps_the_library_version(tmp_path, fitted):
    est, _ = fitted
    save(est, tmp_path / "m.sktnce")
    with zipfile.ZipFile(tmp_path / "m.sktnce") as archive:
        header = json.loads(archive.read("sktnce.json"))
        assert set(archive.namelist()) == {"sktnce.json", "weights.safetensors",
                                           "modalities.skops"}
    assert header["sktnce_version"] == __version__


def test_incompatible_format_version_is_refused(tmp_path, fitted):
    est, _ = fitted
    path = tmp_path / "m.sktnce"
    save(est, path)
    with zipfile.ZipFile(path) as archive:
        header = json.loads(archive.read("sktnce.json"))
    header.update(format_version=99, sktnce_version="9.0.0")
    _rewrite(path, "sktnce.json", json.dumps(header))
    with pytest.raises(ValueError, match="saved by sktnce 9.0.0 in file format version 99"):
        load(path)


def test_tampered_transformer_is_refused(tmp_path, fitted):
    import skops.io

    est, _ = fitted
    path = tmp_path / "m.sktnce"
    save(est, path)
    # An attacker swaps in a transformer that would call os.system on load and use.
    evil = {"modalities": None, "random_state": 0,
            "modalities_": [("all", FunctionTransformer(func=os.system), [0])]}
    _rewrite(path, "modalities.skops", skops.io.dumps(evil))
    with pytest.raises(ValueError, match="not trusted.*posix.system|not trusted.*os.system"):
        load(path)


def double(x):
    return 2 * x


def test_custom_transformer_needs_explicit_trust(tmp_path, data):
    X, _, _ = data
    mods = [("a", FunctionTransformer(double), [0, 1]), ("b", StandardScaler(), [2, 3])]
    est = TupleInfoNCEFusion(modalities=mods, **FAST).fit(X)
    path = tmp_path / "m.sktnce"
    save(est, path)
    name = f"{__name__}.double"
    with pytest.raises(ValueError, match=name):
        load(path)
    loaded = load(path, trusted=[name])
    assert np.array_equal(loaded.transform(X), est.transform(X))


@pytest.mark.parametrize("member, content, message", [
    ("weights.safetensors", b"garbage", "weights are corrupt"),
    ("sktnce.json", b"{not json", "not an sktnce file"),
    ("sktnce.json", json.dumps({"format": "other"}).encode(), "not an sktnce"),
])
def test_corrupt_parts_are_refused(tmp_path, fitted, member, content, message):
    est, _ = fitted
    path = tmp_path / "m.sktnce"
    save(est, path)
    _rewrite(path, member, content)
    with pytest.raises(ValueError, match=message):
        load(path)


def test_not_an_archive(tmp_path):
    path = tmp_path / "m.sktnce"
    path.write_bytes(b"plain text")
    with pytest.raises(ValueError, match="not an sktnce file"):
        load(path)


def test_save_needs_a_fitted_fusion(tmp_path):
    with pytest.raises(ValueError, match="fitted"):
        save(TupleInfoNCEFusion(), tmp_path / "m")
    with pytest.raises(TypeError, match="TupleInfoNCEFusion"):
        save(StandardScaler(), tmp_path / "m")


def test_model_saved_for_cuda_loads_on_the_cpu(tmp_path, fitted):
    """A GPU-trained model read where there is no GPU: both paths map it to the CPU."""
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    est, X = fitted
    expected = est.transform(X)
    path = tmp_path / "m.sktnce"
    save(est, path)
    with zipfile.ZipFile(path) as archive:
        header = json.loads(archive.read("sktnce.json"))
    header["params"]["device"] = "cuda"
    _rewrite(path, "sktnce.json", json.dumps(header))
    with pytest.warns(UserWarning, match="loading on the CPU"):
        loaded = load(path)
    assert loaded.device == "cpu" and np.array_equal(loaded.transform(X), expected)
    # pickle: skorch maps the CUDA tensors of a net whose device is "cuda" to the CPU.
    est.net_.device = "cuda"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        restored = pickle.loads(pickle.dumps(est))
    assert np.array_equal(restored.transform(X), expected)
    est.net_.device = "cpu"


def test_pickle_and_joblib_bit_identical(tmp_path, fitted):
    est, X = fitted
    expected = est.transform(X)
    assert np.array_equal(pickle.loads(pickle.dumps(est)).transform(X), expected)
    buffer = io.BytesIO()
    joblib.dump(est, buffer)
    buffer.seek(0)
    assert np.array_equal(joblib.load(buffer).transform(X), expected)
