import io
import json
import os
import pickle
import stat
import warnings
import zipfile

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from sktnce import TupleInfoNCEFusion, TupleInfoNCESearch
from sktnce._version import __version__
from sktnce.datasets import make_multimodal_classification

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


def _saved_header(estimator, path):
    """Save ``estimator`` to ``path``; return the archive's JSON header."""
    save(estimator, path)
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("sktnce.json"))


def test_save_load_round_trip_is_bit_identical(tmp_path, fitted):
    est, X = fitted
    save(est, tmp_path / "model.sktnce")
    loaded = load(tmp_path / "model.sktnce")
    # Exact here and below: a loaded model is a copy (safetensors keeps the float32 weights,
    # json the floats by repr, and resolving a resolved alpha gives it back unchanged).
    assert np.array_equal(loaded.transform(X), est.transform(X))
    assert loaded.cross_modal_accuracy(X) == est.cross_modal_accuracy(X)
    assert loaded.get_params()["temperature"] == est.temperature
    assert loaded.alpha_ == est.alpha_ and loaded.loss_curve_ == est.loss_curve_


@pytest.mark.parametrize("label_loss", ["cross_entropy", "supcon"])
def test_round_trip_of_a_target_aware_model(tmp_path, data, modalities, label_loss):
    X, y, _ = data
    y_text = np.array([f"c{v}" for v in y], dtype=object)
    y_text[::3] = -1
    est = TupleInfoNCEFusion(modalities=modalities, label_weight=1.0, label_loss=label_loss,
                             **FAST).fit(X, y_text)
    save(est, tmp_path / "model.sktnce")
    loaded = load(tmp_path / "model.sktnce")
    assert np.array_equal(loaded.transform(X), est.transform(X))  # a copy, as above
    assert loaded.classes_.tolist() == est.classes_.tolist()
    classifier = est.net_.module_.encoder.classifier
    if classifier is None:
        assert loaded.net_.module_.encoder.classifier is None
    else:
        assert torch.equal(loaded.net_.module_.encoder.classifier.weight, classifier.weight)
    # it continues training as the fit it was
    loaded.set_params(warm_start=True).fit(X, y_text)
    assert loaded.n_iter_ == 2 * est.n_iter_


def test_round_trip_of_a_model_target_aware_on_a_number(tmp_path, data, modalities):
    X, y, _ = data
    target = 2.0 * y + 1.0
    target[::3] = np.nan
    est = TupleInfoNCEFusion(modalities=modalities, label_weight=1.0,
                             label_loss="squared_error", **FAST).fit(X, target)
    save(est, tmp_path / "model.sktnce")
    loaded = load(tmp_path / "model.sktnce")
    assert np.array_equal(loaded.transform(X), est.transform(X))
    assert loaded.target_scale_ == est.target_scale_ and not hasattr(loaded, "classes_")
    head = est.net_.module_.encoder.classifier
    assert torch.equal(loaded.net_.module_.encoder.classifier.weight, head.weight)
    loaded.set_params(warm_start=True).fit(X, target)  # it continues as the fit it was
    assert loaded.n_iter_ == 2 * est.n_iter_


@pytest.mark.parametrize("changed", [
    {"n_components": 4}, {"embedding_dim": 4, "output": "fused_and_modalities"},
    {"n_layers": 2, "hidden_dim": 8}, {"reconstruction": 0.0}, {"label_weight": 1.0},
])
def test_a_model_saved_after_set_params_loads_as_fitted(tmp_path, fitted, changed):
    est, X = fitted
    est.set_params(**changed)
    save(est, tmp_path / "model.sktnce")
    loaded = load(tmp_path / "model.sktnce")
    assert np.array_equal(loaded.transform(X), est.transform(X))
    assert len(loaded.get_feature_names_out()) == loaded.transform(X).shape[1]
    assert loaded.get_params()["n_components"] == est.n_components  # parameters as saved


@pytest.mark.parametrize("label_loss", ["cross_entropy", "supcon"])
def test_a_target_aware_model_saved_after_dropping_its_label_term_loads(tmp_path, data,
                                                                        modalities, label_loss):
    X, y, _ = data
    est = TupleInfoNCEFusion(modalities=modalities, label_weight=1.0, label_loss=label_loss,
                             **FAST).fit(X, y)
    est.set_params(label_weight=0.0, label_loss="supcon" if label_loss == "cross_entropy"
                   else "cross_entropy")
    save(est, tmp_path / "model.sktnce")
    loaded = load(tmp_path / "model.sktnce")
    assert np.array_equal(loaded.transform(X), est.transform(X))
    assert (loaded.net_.module_.encoder.classifier is None) == (label_loss == "supcon")


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
    header = _saved_header(est, tmp_path / "m.sktnce")
    with zipfile.ZipFile(tmp_path / "m.sktnce") as archive:
        assert set(archive.namelist()) == {"sktnce.json", "weights.safetensors",
                                           "modalities.skops"}
    assert header["sktnce_version"] == __version__


def test_a_file_from_before_the_reconstruction_term_loads_without_it(tmp_path, data,
                                                                    modalities):
    X, _, _ = data
    est = TupleInfoNCEFusion(modalities=modalities, reconstruction=0.0, **FAST).fit(X)
    path = tmp_path / "m.sktnce"
    header = _saved_header(est, path)
    del header["params"]["reconstruction"]  # as sktnce wrote it before the parameter
    _rewrite(path, "sktnce.json", json.dumps(header))
    loaded = load(path)
    assert loaded.reconstruction == 0.0
    assert np.array_equal(loaded.transform(X), est.transform(X))


def test_incompatible_format_version_is_refused(tmp_path, fitted):
    est, _ = fitted
    path = tmp_path / "m.sktnce"
    header = _saved_header(est, path)
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


def test_save_needs_a_fitted_fusion_or_search(tmp_path):
    with pytest.raises(ValueError, match="fitted"):
        save(TupleInfoNCEFusion(), tmp_path / "m")
    with pytest.raises(ValueError, match="TupleInfoNCESearch is not fitted"):
        save(TupleInfoNCESearch(TupleInfoNCEFusion()), tmp_path / "m")
    with pytest.raises(TypeError, match="a TupleInfoNCEEnsembleClassifier or a "
                                        "TupleInfoNCERegressor"):
        save(StandardScaler(), tmp_path / "m")
    assert os.listdir(tmp_path) == []


def test_model_saved_for_cuda_loads_on_the_cpu(tmp_path, fitted):
    """A GPU-trained model read where there is no GPU: both paths map it to the CPU."""
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    est, X = fitted
    expected = est.transform(X)
    path = tmp_path / "m.sktnce"
    header = _saved_header(est, path)
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


# ------------------------------------------------------------------- atomic writing

@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_failed_save_leaves_the_previous_file_intact(tmp_path, fitted, modalities,
                                                     monkeypatch, error):
    est, X = fitted
    path = tmp_path / "model.sktnce"
    save(est, path)
    expected = est.transform(X)
    retrained = TupleInfoNCEFusion(modalities=modalities, **{**FAST, "random_state": 1}).fit(X)
    assert not np.array_equal(retrained.transform(X), expected)
    write = zipfile.ZipFile.writestr
    written = []

    def fail_halfway_through_the_second_member(self, name, data, *args, **kwargs):
        written.append(name)
        if len(written) == 2:
            write(self, name, data[: len(data) // 2], *args, **kwargs)
            raise error
        return write(self, name, data, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", fail_halfway_through_the_second_member)
    with pytest.raises(type(error)):
        save(retrained, path)
    monkeypatch.undo()
    assert len(written) == 2  # the failure struck while the new archive was being written
    assert os.listdir(tmp_path) == ["model.sktnce"]  # no temporary file left behind
    assert np.array_equal(load(path).transform(X), expected)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_save_gives_the_permissions_of_a_plain_open(tmp_path, fitted):
    est, _ = fitted
    reference = tmp_path / "reference"
    reference.write_bytes(b"")
    path = tmp_path / "m.sktnce"
    save(est, path)
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE(reference.stat().st_mode)
    path.chmod(0o640)
    save(est, path)  # overwriting keeps the file's own permissions
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_save_through_a_symbolic_link_replaces_its_target(tmp_path, fitted):
    est, X = fitted
    (tmp_path / "models").mkdir()
    target = tmp_path / "models" / "m.sktnce"
    target.write_bytes(b"old")
    link = tmp_path / "current.sktnce"
    link.symlink_to(target)
    save(est, link)
    assert link.is_symlink() and sorted(os.listdir(tmp_path / "models")) == ["m.sktnce"]
    assert np.array_equal(load(target).transform(X), est.transform(X))


def test_path_must_be_a_path(fitted):
    est, _ = fitted
    with pytest.raises(TypeError, match="path must be a str or path-like; got BytesIO"):
        save(est, io.BytesIO())


# ------------------------------------------------------------------ parameter types

def test_parameters_json_cannot_hold_come_back_with_their_type(tmp_path, data, modalities):
    X, _, _ = data
    est = TupleInfoNCEFusion(modalities=modalities, **{
        **FAST, "alpha": (1.0, 0.0, 1.0, 2.0), "random_state": np.random.RandomState(0)})
    est.fit(X)
    save(est, tmp_path / "m.sktnce")
    loaded = load(tmp_path / "m.sktnce")
    assert loaded.alpha == (1.0, 0.0, 1.0, 2.0)
    assert isinstance(loaded.random_state, np.random.RandomState)
    assert np.array_equal(loaded.transform(X), est.transform(X))


def test_format_version_1_files_are_still_read(tmp_path, fitted):
    """Version 1 kept modalities and random_state in the skops part, the rest in JSON."""
    import skops.io

    est, X = fitted
    path = tmp_path / "m.sktnce"
    header = _saved_header(est, path)
    header["format_version"] = 1
    header["params"].pop("random_state")
    del header["estimators"]
    _rewrite(path, "sktnce.json", json.dumps(header))
    _rewrite(path, "modalities.skops", skops.io.dumps(
        {"modalities": est.modalities, "random_state": est.random_state,
         "modalities_": est.modalities_}))
    loaded = load(path)
    assert np.array_equal(loaded.transform(X), est.transform(X))
    assert _same(loaded.get_params(), est.get_params())


# -------------------------------------------------------------------------- search

def _same(a, b):
    """Equal values, estimators compared by class and parameters, recursively; NaN
    equals NaN."""
    if isinstance(a, BaseEstimator) or isinstance(b, BaseEstimator):
        return type(a) is type(b) and _same(a.get_params(deep=False), b.get_params(deep=False))
    if isinstance(a, dict) or isinstance(b, dict):
        return (type(a) is type(b) and a.keys() == b.keys()
                and all(_same(a[k], b[k]) for k in a))
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(a, b)
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    return type(a) is type(b) and a == b


@pytest.fixture(scope="module")
def fitted_search():
    X, _, columns = make_multimodal_classification(n_samples=120, random_state=0)
    fusion = TupleInfoNCEFusion(
        modalities=[(name, StandardScaler(), cols) for name, cols in columns.items()],
        n_components=8, embedding_dim=8, hidden_dim=16, batch_size=32, max_epochs=2)
    search = TupleInfoNCESearch(fusion, n_candidates=2, n_rounds=2, epochs_per_round=1,
                                random_state=0).fit(X)
    return search, X


def test_search_round_trip(tmp_path, fitted_search):
    search, X = fitted_search
    save(search, tmp_path / "search.sktnce")
    loaded = load(tmp_path / "search.sktnce")
    assert type(loaded) is TupleInfoNCESearch
    assert np.array_equal(loaded.transform(X), search.transform(X))
    assert loaded.alpha_ == search.alpha_ and loaded.corruption_ == search.corruption_
    assert _same(loaded.history_, search.history_)
    if hasattr(search, "search_results_"):
        assert _same(loaded.search_results_, search.search_results_)
    # The parameters, the unfitted estimator's recursively (not the object's identity).
    assert _same(loaded.get_params(deep=False), search.get_params(deep=False))
    assert loaded.estimator is not search.estimator
    assert not hasattr(loaded.estimator, "net_")
    assert _same(loaded.best_estimator_.get_params(), search.best_estimator_.get_params())
    assert loaded.best_estimator_.loss_curve_ == search.best_estimator_.loss_curve_
    assert loaded.n_features_in_ == search.n_features_in_
    assert loaded.score(X) == search.score(X)


def test_search_archive_layout(tmp_path, fitted_search):
    search, _ = fitted_search
    save(search, tmp_path / "search.sktnce")
    with zipfile.ZipFile(tmp_path / "search.sktnce") as archive:
        names = set(archive.namelist())
        header = json.loads(archive.read("sktnce.json"))
    assert names == {"sktnce.json", "modalities.skops", "best_estimator_/sktnce.json",
                     "best_estimator_/weights.safetensors", "best_estimator_/modalities.skops"}
    assert header["class"] == "TupleInfoNCESearch"
    assert header["estimators"]["estimator"]["class"] == "TupleInfoNCEFusion"
    assert header["estimators"]["estimator"]["params"]["n_components"] == 8
    assert header["fitted_estimators"] == ["best_estimator_"]
    assert {"alpha_", "corruption_", "history_"} <= set(header["fitted"])


def test_search_keeps_extra_plain_fitted_attributes(tmp_path, fitted_search):
    search, _ = fitted_search
    search.extra_ = {"rewards": [0.5, np.float64(0.25)], "rounds": np.arange(2), "tag": "x"}
    try:
        save(search, tmp_path / "search.sktnce")
    finally:
        del search.extra_
    assert load(tmp_path / "search.sktnce").extra_ == {
        "rewards": [0.5, 0.25], "rounds": [0, 1], "tag": "x"}


def test_search_refuses_a_fitted_attribute_that_is_not_plain_data(tmp_path, fitted_search):
    search, _ = fitted_search
    search.policy_ = object()
    try:
        with pytest.raises(TypeError, match="TupleInfoNCESearch.policy_"):
            save(search, tmp_path / "search.sktnce")
    finally:
        del search.policy_
    assert os.listdir(tmp_path) == []


def test_search_with_an_untrusted_transformer_is_refused(tmp_path, data):
    X, _, _ = data
    fusion = TupleInfoNCEFusion(modalities=[("a", FunctionTransformer(double), [0, 1]),
                                            ("b", StandardScaler(), [2, 3])],
                                **{**FAST, "max_epochs": 1})
    search = TupleInfoNCESearch(fusion, n_candidates=2, n_rounds=1, epochs_per_round=1,
                                random_state=0).fit(X)
    save(search, tmp_path / "s.sktnce")
    name = f"{__name__}.double"
    with pytest.raises(ValueError, match=name):
        load(tmp_path / "s.sktnce")
    loaded = load(tmp_path / "s.sktnce", trusted=[name])
    assert np.array_equal(loaded.transform(X), search.transform(X))


def test_round_trip_keeps_the_output_option(tmp_path, fitted):
    est, X = fitted
    est.set_params(output="fused_and_modalities")
    save(est, tmp_path / "model.sktnce")
    loaded = load(tmp_path / "model.sktnce")
    assert loaded.output == "fused_and_modalities"
    assert np.array_equal(loaded.transform(X), est.transform(X))
    assert list(loaded.get_feature_names_out()) == list(est.get_feature_names_out())


@pytest.mark.parametrize("kind", ["str object", "str", "bool", "uint8",
                                  "list of NumPy str with -1"])
def test_a_round_trip_keeps_the_classes_dtype(tmp_path, data, modalities, kind):
    from sktnce import TupleInfoNCEClassifier

    X, y, _ = data
    # list() of a NumPy str array holds np.str_, whose classes_ are an object array of them
    y_kind = {"str object": np.array(list("abcdefgh"), dtype=object)[y],
              "str": np.array(list("abcdefgh"))[y],
              "bool": y < 4,
              "uint8": y.astype(np.uint8),
              "list of NumPy str with -1": [v if i % 2 else -1 for i, v in
                                            enumerate(np.array(list("abcdefgh"))[y])]}[kind]
    fusion = TupleInfoNCEFusion(modalities=modalities, label_weight=1.0, **FAST)
    clf = TupleInfoNCEClassifier(fusion, max_epochs=2, random_state=0).fit(X, y_kind)
    save(clf, tmp_path / "clf.sktnce")
    loaded = load(tmp_path / "clf.sktnce")
    for ours, theirs in [(loaded.classes_, clf.classes_),
                         (loaded.fusion_.classes_, clf.fusion_.classes_),
                         (loaded.predict(X), clf.predict(X))]:
        assert ours.dtype == theirs.dtype
        np.testing.assert_array_equal(ours, theirs)
