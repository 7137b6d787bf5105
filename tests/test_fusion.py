import pickle

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.compose import make_column_selector
from sklearn.decomposition import TruncatedSVD
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils import get_tags

from sktnce import TupleInfoNCEFusion
from sktnce.datasets import make_multimodal_classification

from .conftest import FAST


def fusion(**params):
    return TupleInfoNCEFusion(**{**FAST, **params})


def test_fit_transform_shape_and_attributes(data, modalities):
    X, _, columns = data
    est = fusion(modalities=modalities).fit(X)
    Z = est.transform(X)
    assert Z.shape == (len(X), 8) and Z.dtype == np.float32
    assert np.isfinite(Z).all()
    assert est.n_features_in_ == X.shape[1]
    assert list(est.output_indices_) == list(columns)
    widths = [s.stop - s.start for s in est.output_indices_.values()]
    assert widths == [len(c) for c in columns.values()]
    assert est.n_iter_ == 2 and len(est.loss_curve_) == 2
    assert pytest.approx(sum(est.alpha_.values())) == 1.0
    assert list(est.get_feature_names_out()) == [f"tupleinfoncefusion{i}" for i in range(8)]


def test_training_lowers_the_loss(data, modalities):
    X, _, _ = data
    est = fusion(modalities=modalities, max_epochs=15).fit(X)
    assert est.loss_curve_[-1] < est.loss_curve_[0]


def test_same_random_state_is_bit_identical(data, modalities):
    X, _, _ = data
    a = fusion(modalities=modalities).fit(X)
    b = fusion(modalities=modalities).fit(X)
    c = fusion(modalities=modalities, random_state=1).fit(X)
    assert np.array_equal(a.transform(X), b.transform(X))
    assert a.loss_curve_ == b.loss_curve_
    assert a.cross_modal_accuracy(X) == b.cross_modal_accuracy(X)
    assert not np.array_equal(a.transform(X), c.transform(X))


def test_fit_leaves_global_torch_rng_alone(data, modalities):
    X, _, _ = data
    torch.manual_seed(123)
    state = torch.get_rng_state()
    fusion(modalities=modalities).fit(X)
    assert torch.equal(torch.get_rng_state(), state)


def test_output_of_a_row_does_not_depend_on_its_batch(data, modalities):
    X, _, _ = data
    est = fusion(modalities=modalities).fit(X)
    full = est.transform(X)
    rows = [5, 0, 77, 3]
    np.testing.assert_allclose(est.transform(X[rows]), full[rows], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(est.transform(X[7:8]), full[7:8], rtol=1e-6, atol=1e-6)


def test_wholly_missing_modality_gets_the_absent_embedding(data, modalities):
    X, _, columns = data
    est = fusion(modalities=modalities).fit(X)
    weak = columns["weak"]
    a, b = X[:2].copy(), X[:2].copy()
    a[:, weak] = np.nan
    b[:, weak] = np.nan
    b[1, weak] = 0.0  # row 1 of b has the modality, with other values
    za, zb = est.transform(a), est.transform(b)
    # Exact: batches of the same shape run the same kernels, and row 0's input is the
    # same in both (row 1 never enters its arithmetic).
    assert np.array_equal(za[0], zb[0])
    assert not np.allclose(za[1], zb[1])


def test_fit_with_rows_missing_a_modality(data, modalities):
    X, _, columns = data
    X = X.copy()
    X[::4][:, columns["medium"]] = np.nan
    X[::4, columns["medium"][0]] = np.nan
    X[1::4, columns["medium"]] = np.nan
    est = fusion(modalities=modalities).fit(X)
    assert np.isfinite(est.transform(X)).all()
    assert 0 <= est.score(X) <= 1


def test_partial_nan_names_the_modality(data, modalities):
    X, _, columns = data
    X = X.copy()
    X[3, columns["weak"][0]] = np.nan
    with pytest.raises(ValueError, match="'weak'.*NaN"):
        fusion(modalities=modalities).fit(X)


def test_infinity_names_modality_and_column(frame):
    frame = frame.copy()
    frame.loc[2, "income"] = np.inf
    mods = [("numeric", StandardScaler(), ["age", "income"])]
    with pytest.raises(ValueError, match="'numeric'.*'income'.*inf"):
        fusion(modalities=mods).fit(frame)


@pytest.mark.parametrize(
    "alpha, expected",
    [
        ("uniform", [0.25, 0.25, 0.25, 0.25]),
        ([2, 1, 1, 0], [0.5, 0.25, 0.25, 0.0]),
        ({"ordinary": 1, "weak": 3}, [0.25, 0.0, 0.0, 0.75]),
    ],
)
def test_alpha_forms(data, modalities, alpha, expected):
    X, _, _ = data
    est = fusion(modalities=modalities, alpha=alpha, max_epochs=1).fit(X)
    assert list(est.alpha_) == ["ordinary", "strong", "medium", "weak"]
    np.testing.assert_allclose(list(est.alpha_.values()), expected)


@pytest.mark.parametrize(
    "params, error, message",
    [
        ({"alpha": [1, 0]}, ValueError, "alpha must have 4 entries"),
        ({"alpha": [1, -1, 0, 0]}, ValueError, "non-negative"),
        ({"alpha": [0, 0, 0, 0]}, ValueError, "all zero"),
        ({"alpha": [np.nan, 1, 0, 0]}, ValueError, "finite"),
        ({"alpha": {"ordinary": 1, "audio": 1}}, ValueError, "unknown keys.*audio"),
        ({"alpha": "balanced"}, ValueError, "alpha"),
        ({"corruption": {"strong": 0.1}}, ValueError, "no rate for modalities.*medium"),
        ({"corruption": {"strong": 0.1, "medium": 0.1, "weak": 1.5}}, ValueError,
         "corruption\\['weak'\\]"),
        ({"corruption": {"strong": 0.1, "medium": 0.1, "weak": 0.1, "x": 0.1}}, ValueError,
         "unknown modality names.*'x'"),
        ({"corruption": -0.1}, ValueError, "corruption"),
        ({"temperature": 0}, ValueError, "temperature"),
        ({"batch_size": 1}, ValueError, "batch_size"),
        ({"max_epochs": 0}, ValueError, "max_epochs"),
        ({"lr": -1.0}, ValueError, "lr"),
    ],
)
def test_bad_parameters_fail_before_training(data, modalities, params, error, message,
                                             monkeypatch):
    X, _, _ = data
    monkeypatch.setattr("sktnce._training.TupleInfoNCENet.partial_fit",
                        lambda *a, **k: pytest.fail("training started"))
    with pytest.raises(error, match=message):
        fusion(modalities=modalities, **params).fit(X)


@pytest.mark.parametrize(
    "mods, message",
    [
        ([("a", StandardScaler(), ["age"]), ("a", StandardScaler(), ["income"])],
         "Duplicate modality name 'a'"),
        ([("a", StandardScaler(), ["age", "height"])], "'a'.*'height' is not a column"),
        ([("a", StandardScaler(), ["age"]), ("b", StandardScaler(), ["age", "income"])],
         "'age' belongs to both modality 'a' and 'b'"),
        ([("a", StandardScaler(), [])], "'a' selects no columns"),
        ([("a", "drop", ["age"])], "'a'.*'passthrough'"),
        ([("ordinary", StandardScaler(), ["age"])], "reserved"),
        ([], "modalities is empty"),
    ],
)
def test_bad_modalities(frame, mods, message):
    with pytest.raises(ValueError, match=message):
        fusion(modalities=mods).fit(frame)


def test_transformer_without_transform_is_a_type_error(frame):
    with pytest.raises(TypeError, match="'a'.*fit and transform"):
        fusion(modalities=[("a", LogisticRegression(), ["age"])]).fit(frame)


def test_text_column_without_transformer_names_the_modality(frame):
    with pytest.raises(TypeError, match="'text'.*not numeric"):
        fusion(modalities=[("text", "passthrough", ["review"])]).fit(frame)


def test_too_few_rows(data, modalities):
    X, _, _ = data
    with pytest.raises(ValueError, match="minimum of 2"):
        fusion(modalities=modalities).fit(X[:1])


def test_transform_before_fit():
    with pytest.raises(NotFittedError):
        fusion().transform(np.zeros((3, 2)))


def test_transform_checks_columns(frame):
    mods = [("numeric", StandardScaler(), ["age", "income"])]
    est = fusion(modalities=mods).fit(frame)
    with pytest.raises(ValueError, match="feature names"):
        est.transform(frame.rename(columns={"age": "years"}))
    with pytest.raises(ValueError, match="missing:\n- review"):
        est.transform(frame.drop(columns="review"))
    array_est = fusion().fit(frame[["age", "income"]].to_numpy())
    with pytest.raises(ValueError, match="3 features, but TupleInfoNCEFusion is expecting 2"):
        array_est.transform(np.zeros((4, 3)))


def test_reordered_dataframe_columns_are_refused(frame):
    mods = [("numeric", StandardScaler(), ["age", "income"])]
    est = fusion(modalities=mods).fit(frame)
    with pytest.raises(ValueError, match="feature names"):
        est.transform(frame[["income", "age", "department", "review"]])


def test_callers_data_is_not_modified(frame, data, modalities):
    X, _, columns = data
    X = X.copy()
    X[::5, columns["weak"]] = np.nan
    before = X.copy()
    est = fusion(modalities=modalities).fit(X)
    est.transform(X)
    est.score(X)
    np.testing.assert_array_equal(X, before)
    frame_before = frame.copy()
    mixed_modalities = [
        ("numeric", StandardScaler(), ["age", "income"]),
        ("department", OneHotEncoder(handle_unknown="ignore"), ["department"]),
    ]
    fusion(modalities=mixed_modalities).fit(frame).transform(frame)
    assert frame.equals(frame_before)


def test_mixed_dtype_dataframe_with_text(frame):
    mods = [
        ("numeric", StandardScaler(), ["age", "income"]),
        ("department", OneHotEncoder(handle_unknown="ignore", sparse_output=True),
         ["department"]),
        ("review", make_pipeline(TfidfVectorizer(), TruncatedSVD(4, random_state=0)), "review"),
    ]
    est = fusion(modalities=mods).fit(frame)
    assert [s.stop - s.start for s in est.output_indices_.values()] == [2, 3, 4]
    assert list(est.feature_names_in_) == list(frame.columns)
    assert est.transform(frame.iloc[:5]).shape == (5, 8)
    assert set(est.cross_modal_accuracy(frame)) == {"numeric", "department", "review"}


@pytest.mark.parametrize(
    "columns",
    [
        [0, 1],
        slice(0, 2),
        np.array([True, True, False, False]),
        ["age", "income"],
        slice("age", "income"),
        make_column_selector(dtype_include="number"),
    ],
    ids=["indices", "slice", "mask", "names", "name-slice", "selector"],
)
def test_column_specifications(frame, columns):
    mods = [("numeric", StandardScaler(), columns),
            ("department", OneHotEncoder(), ["department"])]
    est = fusion(modalities=mods).fit(frame)
    assert est.modalities_[0][2] == [0, 1]
    assert est.output_indices_["numeric"] == slice(0, 2)


def test_passthrough_and_single_modality_default(data):
    X, _, _ = data
    est = fusion(modalities=[("all", "passthrough", slice(None))]).fit(X)
    assert est.modalities_[0][1] == "passthrough"
    default = fusion().fit(X)
    assert list(default.cross_modal_accuracy(X)) == ["features"]
    assert list(default.alpha_) == ["ordinary", "features"]


def test_cross_modal_accuracy_and_score(data, modalities):
    X, _, _ = data
    est = fusion(modalities=modalities, max_epochs=5).fit(X)
    accuracy = est.cross_modal_accuracy(X)
    assert set(accuracy) == {"strong", "medium", "weak"}
    assert all(0 <= a <= 1 for a in accuracy.values())
    assert est.score(X) == pytest.approx(np.mean(list(accuracy.values())))


def test_score_chunk_size_sets_the_difficulty(data, modalities):
    X, _, _ = data
    est = fusion(modalities=modalities, max_epochs=10).fit(X)
    easy = est.set_params(score_chunk_size=4).score(X)
    hard = est.set_params(score_chunk_size=80).score(X)
    assert easy > hard


def test_pipeline_and_grid_search_in_parallel(data, modalities):
    X, y, _ = data
    pipe = Pipeline([("fuse", fusion(modalities=modalities)),
                     ("probe", LogisticRegression(max_iter=500))])
    assert pipe.fit(X, y).score(X, y) > 1 / 8
    grid = GridSearchCV(fusion(modalities=modalities),
                        {"temperature": [0.05, 0.2]}, cv=2, n_jobs=2).fit(X)
    serial = GridSearchCV(fusion(modalities=modalities),
                          {"temperature": [0.05, 0.2]}, cv=2, n_jobs=1).fit(X)
    # A tolerance: the folds fit in loky workers with cpu_count // n_jobs torch threads
    # against here, on one thread (conftest): two thread counts, two float paths.
    np.testing.assert_allclose(grid.cv_results_["mean_test_score"],
                               serial.cv_results_["mean_test_score"], rtol=1e-6, atol=1e-9)
    piped = GridSearchCV(pipe, {"fuse__temperature": [0.05, 0.2]}, cv=2, n_jobs=2).fit(X, y)
    assert piped.best_params_["fuse__temperature"] in (0.05, 0.2)


def test_clone_pickle_joblib_round_trips(tmp_path, data, modalities):
    X, _, _ = data
    est = fusion(modalities=modalities).fit(X)
    expected = est.transform(X)
    assert np.array_equal(pickle.loads(pickle.dumps(est)).transform(X), expected)
    joblib.dump(est, tmp_path / "fusion.joblib")
    assert np.array_equal(joblib.load(tmp_path / "fusion.joblib").transform(X), expected)
    cloned = clone(est)
    assert not hasattr(cloned, "net_")
    assert np.array_equal(cloned.fit(X).transform(X), expected)


def test_set_output_pandas(frame):
    pd = pytest.importorskip("pandas")
    mods = [("numeric", StandardScaler(), ["age", "income"])]
    out = fusion(modalities=mods).set_output(transform="pandas").fit_transform(frame)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == [f"tupleinfoncefusion{i}" for i in range(8)]
    assert out.index.equals(frame.index)


def test_global_pandas_output_reaches_the_fusions_output_only(frame):
    pd = pytest.importorskip("pandas")
    from sklearn import config_context

    from sktnce import TupleInfoNCEClassifier, make_modalities

    y = np.where(np.arange(len(frame)) % 4 == 0, frame["department"].cat.codes, -1)
    with config_context(transform_output="pandas"):  # the README's one-liner, configured
        model = fusion(modalities=make_modalities(frame))
        out = model.fit_transform(frame)
        clf = TupleInfoNCEClassifier(clone(model), max_epochs=2, random_state=0).fit(frame, y)
        proba = clf.predict_proba(frame)
    assert isinstance(out, pd.DataFrame) and out.shape == (len(frame), 8)
    assert proba.shape == (len(frame), 3)
    # the internal transformers keep no pandas output of their own: outside the
    # configuration, the fused vector is an array again, and the same numbers
    again = model.transform(frame)
    assert isinstance(again, np.ndarray)
    np.testing.assert_array_equal(again, out.to_numpy())


def test_sparse_input_is_refused(data):
    from scipy import sparse

    X, _, _ = data
    with pytest.raises(TypeError, match="sparse"):
        fusion().fit(sparse.csr_matrix(X))


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_cuda_without_a_gpu_is_a_clear_error(data):
    X, _, _ = data
    with pytest.raises(ValueError, match="no CUDA device"):
        fusion(device="cuda").fit(X)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_fit_matches_cpu_shapes(data, modalities):
    X, _, _ = data
    est = fusion(modalities=modalities, device="cuda").fit(X)
    Z = est.transform(X)
    assert Z.shape == (len(X), 8) and np.isfinite(Z).all()
    assert 0 <= est.score(X) <= 1


def test_verbose_shows_a_progress_bar(data, modalities, capsys):
    X, _, _ = data
    fusion(modalities=modalities, verbose=1).fit(X)
    assert "epoch" in capsys.readouterr().err


def test_the_progress_bar_is_closed_when_a_fit_fails(data, modalities, monkeypatch):
    import tqdm.auto

    bars = []

    class Bar:
        def __init__(self, **kwargs):
            self.closed = False
            bars.append(self)

        def set_postfix(self, **kwargs):
            pass

        def update(self, n):
            raise FloatingPointError("diverged")

        def close(self):
            self.closed = True

    X, _, _ = data
    monkeypatch.setattr(tqdm.auto, "tqdm", Bar)
    with pytest.raises(FloatingPointError, match="diverged"):
        fusion(modalities=modalities, verbose=1).fit(X)
    assert len(bars) == 1 and bars[0].closed


def test_tags_require_a_target_only_when_target_aware():
    assert not get_tags(TupleInfoNCEFusion()).target_tags.required
    assert get_tags(TupleInfoNCEFusion(label_weight=1.0)).target_tags.required


def test_y_is_ignored(data, modalities):
    X, y, _ = data
    a = fusion(modalities=modalities).fit(X, y).transform(X)
    b = fusion(modalities=modalities).fit(X).transform(X)
    assert np.array_equal(a, b)


def test_a_failed_fit_does_not_look_fitted(data, modalities):
    X, _, _ = data
    est = fusion(modalities=modalities, lr=1e20)
    with pytest.raises(FloatingPointError):
        est.fit(X)
    assert not any(name.endswith("_") and not name.startswith("_") for name in vars(est))
    with pytest.raises(NotFittedError):
        est.transform(X)


def test_a_failed_refit_keeps_the_previous_fit(data, modalities):
    X, _, _ = data
    est = fusion(modalities=modalities).fit(X)
    before, state = est.transform(X), dict(vars(est))
    with pytest.raises(FloatingPointError):
        est.set_params(lr=1e20).fit(X)
    assert all(vars(est)[key] is value for key, value in state.items() if key != "lr")
    assert set(vars(est)) == set(state)
    assert np.array_equal(est.transform(X), before)


def test_warm_start_continues_from_the_weights_and_optimizer(data, modalities):
    X, _, _ = data
    est = fusion(modalities=modalities).fit(X)
    transformers = [transformer for _, transformer, _ in est.modalities_]
    before = est.transform(X)
    steps = int(est.net_.optimizer_.state_dict()["state"][0]["step"])
    est.set_params(warm_start=True, max_epochs=3).fit(X[:100])
    assert est.n_iter_ == len(est.loss_curve_) == 5
    # The preprocessing is kept, not refitted on the new rows.
    assert [transformer for _, transformer, _ in est.modalities_] == transformers
    assert est.modalities_[0][1].n_samples_seen_ == len(X)
    assert int(est.net_.optimizer_.state_dict()["state"][0]["step"]) == steps + 3 * 2
    # Three epochs from the previous weights at a tiny learning rate hardly move them.
    nudged = est.set_params(lr=1e-9).fit(X)
    np.testing.assert_allclose(nudged.transform(X), est.transform(X), atol=1e-5)
    assert not np.allclose(est.transform(X), before, atol=1e-3)
    fresh = clone(est).set_params(warm_start=False, max_epochs=2).fit(X)
    assert fresh.n_iter_ == 2


def test_one_modality_builds_no_disturbed_negatives(data):
    X, _, _ = data
    est = TupleInfoNCEFusion(**FAST).fit(X)
    assert est.net_.module_.disturbed_modalities == ()
    assert est.net_.criterion_.alpha.shape == (1,)  # ordinary negatives only


def test_score_uses_its_own_augmentation_not_the_training_one(data, modalities):
    import copy

    X, _, _ = data
    est = fusion(modalities=modalities).fit(X)
    other = copy.deepcopy(est)
    other.corruption_ = {name: 0.8 for name in other.corruption_}  # as if trained harder
    assert est.score(X) == other.score(X)  # exact: a deep copy, the same weights and seed
    _, log_prob = est._cross_modal_scores(X)
    _, harder = est.set_params(score_corruption=0.8)._cross_modal_scores(X)
    assert (harder < log_prob).all()


def test_score_on_fewer_rows_than_a_candidate_set_warns(data, modalities):
    X, _, _ = data
    est = fusion(modalities=modalities).fit(X)
    with pytest.warns(UserWarning, match="fewer than score_chunk_size=32"):
        est.score(X[:20])


def test_output_with_modality_embeddings(data, modalities):
    X, _, columns = data
    X = X.copy()
    X[:10, columns["weak"]] = np.nan  # these rows take the weak modality's absent embedding
    fused = fusion(modalities=modalities).fit(X)
    both = fusion(modalities=modalities, output="fused_and_modalities").fit(X)
    Z, R = both.transform(X), fused.transform(X)
    n_embedding = fused.embedding_dim
    assert Z.shape == (len(X), 8 + 3 * n_embedding) and Z.dtype == np.float32
    # The option changes what transform returns, not what is trained. Exact: the same fit
    # and seed, and r comes from the same fuse before the embeddings are appended.
    assert np.array_equal(Z[:, :8], R)
    encoder = both.net_.module_.encoder
    weak = slice(8 + 2 * n_embedding, 8 + 3 * n_embedding)
    absent = encoder.absent[2].detach().numpy()
    np.testing.assert_allclose(Z[:10, weak], np.tile(absent, (10, 1)), atol=1e-6)
    assert not np.allclose(Z[10:, weak], absent)
    names = both.get_feature_names_out()
    assert list(names[:8]) == [f"tupleinfoncefusion{i}" for i in range(8)]
    assert names[8] == "tupleinfoncefusion_strong0"
    assert names[-1] == f"tupleinfoncefusion_weak{n_embedding - 1}"
    assert both.set_output(transform="pandas").transform(X[:5]).columns.tolist() == list(names)


def test_unknown_output_is_refused_before_training(data):
    X, _, _ = data
    with pytest.raises(ValueError, match="output"):
        fusion(output="modalities").fit(X)


def test_one_cycle_schedule_rises_then_anneals(data, modalities, monkeypatch):
    from sktnce._skorch import OneCycleSchedule

    X, _, _ = data
    rates = []  # the learning rate each training batch's step used
    step = OneCycleSchedule.on_batch_end

    def recorded(self, net, training=False, **kwargs):
        if training:
            rates.append(net.optimizer_.param_groups[0]["lr"])
        step(self, net, training=training, **kwargs)

    monkeypatch.setattr(OneCycleSchedule, "on_batch_end", recorded)
    est = fusion(modalities=modalities, lr_schedule="one_cycle", lr=0.01, max_epochs=4).fit(X)
    n_steps = 4 * 3  # 160 rows, batches of 64: 3 a epoch
    assert len(rates) == n_steps
    peak = int(np.argmax(rates))
    assert rates[0] == pytest.approx(0.01 / 25) and rates[peak] == pytest.approx(0.01, rel=0.02)
    assert 0 < peak < n_steps // 2 and rates[-1] < 0.01 / 100
    # A continued fit without the schedule starts again at lr, not where the cycle ended.
    monkeypatch.undo()
    est.set_params(warm_start=True, lr_schedule="constant", max_epochs=1).fit(X)
    assert est.net_.optimizer_.param_groups[0]["lr"] == 0.01  # exact: the parameter, set


def test_reconstruction_keeps_the_inputs_linearly_readable_from_r():
    X, _, columns = make_multimodal_classification(n_samples=400, random_state=0)
    modalities = [(name, StandardScaler(), cols) for name, cols in columns.items()]
    explained = {}
    for weight in (0.0, 3.0):
        fusion = TupleInfoNCEFusion(modalities=modalities, **{**FAST, "max_epochs": 15},
                                    reconstruction=weight).fit(X)
        assert (fusion.net_.module_.encoder.decoder is None) == (weight == 0)
        features = fusion._get_state().preprocessing.transform(X, "cpu").features.numpy()
        Z = fusion.transform(X)
        explained[weight] = LinearRegression().fit(Z, features).score(Z, features)
    # The share of the preprocessed columns' variance a linear map of r explains.
    assert explained[3.0] > explained[0.0] + 0.01


# --------------------------------------------------------------------------- target-aware
def _partial(y, share, seed=0):
    """``y`` with all but ``share`` of the rows unlabelled (-1)."""
    partial = y.copy()
    partial[np.random.default_rng(seed).random(len(y)) >= share] = -1
    return partial


def test_y_is_ignored_bit_for_bit_without_label_weight(data, modalities):
    X, y, _ = data
    without = fusion(modalities=modalities).fit(X).transform(X)
    with_y = fusion(modalities=modalities).fit(X, y).transform(X)
    np.testing.assert_array_equal(without, with_y)  # one code path: y never reaches it
    assert not hasattr(fusion(modalities=modalities).fit(X, y), "classes_")


@pytest.mark.parametrize("label_loss", ["cross_entropy", "supcon"])
def test_target_aware_fit_is_deterministic_and_uses_the_labels(data, modalities, label_loss):
    X, y, _ = data
    params = {"modalities": modalities, "label_weight": 1.0, "label_loss": label_loss}
    y_partial = _partial(y, 0.3)
    first = fusion(**params).fit(X, y_partial)
    np.testing.assert_array_equal(first.classes_, np.unique(y))
    np.testing.assert_array_equal(first.transform(X),
                                  fusion(**params).fit(X, y_partial).transform(X))
    # other labels on the same rows (not a renaming of the classes, which SupCon ignores)
    other_labels = y_partial.copy()
    labelled = y_partial != -1
    other_labels[labelled] = np.random.default_rng(1).permutation(y_partial[labelled])
    assert not np.array_equal(first.transform(X),
                              fusion(**params).fit(X, other_labels).transform(X))


def test_target_aware_representation_separates_the_labelled_classes(data, modalities):
    X, y, _ = data
    probe = LogisticRegression(max_iter=2000)
    params = {**FAST, "modalities": modalities, "max_epochs": 30, "lr": 1e-2}
    plain = TupleInfoNCEFusion(**params).fit_transform(X)
    aware = TupleInfoNCEFusion(**params, label_weight=3.0).fit_transform(X, y)
    # trained on these labels, the classes must be easier to read off the training rows
    assert probe.fit(aware, y).score(aware, y) > probe.fit(plain, y).score(plain, y) + 0.1


def test_string_classes_and_the_callers_y_untouched(data, modalities):
    X, y, _ = data
    y_text = np.array([f"class {v}" for v in y], dtype=object)
    y_text[_partial(y, 0.5) == -1] = -1
    before = y_text.copy()
    est = fusion(modalities=modalities, label_weight=1.0).fit(X, y_text)
    assert est.classes_.tolist() == sorted(f"class {v}" for v in np.unique(y))
    np.testing.assert_array_equal(y_text, before)


@pytest.mark.parametrize("y_kind, message", [
    ("none", "requires y to be passed"), ("all unlabelled", "no labelled row"), ("short", "shape"),
    ("plus or minus one", r"one class only \(1\).*\+1/-1")])
def test_target_aware_fit_refuses_unusable_labels_before_training(data, modalities, y_kind,
                                                                  message, monkeypatch):
    X, y, _ = data
    y = {"none": None, "all unlabelled": np.full(len(y), -1), "short": y[:-1],
         "plus or minus one": np.where(y > 3, 1, -1)}[y_kind]
    import sktnce._fusion

    def no_training(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(sktnce._fusion, "train", no_training)
    monkeypatch.setattr(sktnce._fusion, "fit_input", no_training)
    est = fusion(modalities=modalities, label_weight=1.0)
    with pytest.raises(ValueError, match=message):
        est.fit(X, y)
    assert not hasattr(est, "net_")


def _continuous(X, y, share=0.3, seed=0):
    """A number per row from the table (its first column and the class), NaN outside
    ``share`` of the rows."""
    target = 3.0 * X[:, 0] + y + 50.0
    target[np.random.default_rng(seed).random(len(y)) >= share] = np.nan
    return target


def test_a_target_aware_fit_on_a_number_standardises_it_and_uses_it(data, modalities):
    X, y, _ = data
    params = {"modalities": modalities, "label_weight": 1.0, "label_loss": "squared_error"}
    target = _continuous(X, y)
    first = fusion(**params).fit(X, target)
    known = target[~np.isnan(target)]
    assert first.target_scale_ == pytest.approx((known.mean(), known.std()))
    assert not hasattr(first, "classes_")
    assert first.net_.module_.encoder.architecture.n_classes == 1  # one output: the number
    np.testing.assert_array_equal(first.transform(X),
                                  fusion(**params).fit(X, target).transform(X))
    # other numbers on the same rows change the fit; a shift and scale of them does not
    # change what the head sees (bit for bit up to the standardisation's rounding)
    shuffled = target.copy()
    rows = ~np.isnan(target)
    shuffled[rows] = np.random.default_rng(1).permutation(target[rows])
    assert not np.array_equal(first.transform(X), fusion(**params).fit(X, shuffled).transform(X))
    np.testing.assert_allclose(first.transform(X),
                               fusion(**params).fit(X, 10 * target - 7).transform(X), atol=1e-4)


def test_a_target_aware_representation_predicts_the_number_it_trained_on(data, modalities):
    X, y, _ = data
    params = {**FAST, "modalities": modalities, "max_epochs": 30, "lr": 1e-2}
    target = 3.0 * X[:, 0] + y + 50.0  # every row's
    plain = TupleInfoNCEFusion(**params).fit_transform(X)
    aware = TupleInfoNCEFusion(**params, label_weight=3.0,
                               label_loss="squared_error").fit_transform(X, target)
    # trained on these targets, a linear map of r must fit them better on the training rows
    assert LinearRegression().fit(aware, target).score(aware, target) > LinearRegression().fit(
        plain, target).score(plain, target) + 0.05


@pytest.mark.parametrize("kind, error, message", [
    ("classes as str", TypeError, "y holds strings"),
    ("int with -1", ValueError, "NaN marks a row without a target"),
    ("one value", ValueError, "one value only"),
    ("all NaN", ValueError, "0 row"),
    ("inf", ValueError, "inf"),
])
def test_a_target_aware_fit_on_a_number_refuses_bad_targets_before_training(
        data, modalities, kind, error, message, monkeypatch):
    X, y, _ = data
    n = len(y)
    bad = {"classes as str": np.array([f"c{v}" for v in y], dtype=object),
           "int with -1": np.where(y > 3, y, -1),
           "one value": np.where(np.arange(n) % 3 == 0, 2.0, np.nan),
           "all NaN": np.full(n, np.nan),
           "inf": np.where(np.arange(n) == 0, np.inf, 1.0 * y)}[kind]
    import sktnce._fusion

    def no_training(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(sktnce._fusion, "train", no_training)
    monkeypatch.setattr(sktnce._fusion, "fit_input", no_training)
    est = fusion(modalities=modalities, label_weight=1.0, label_loss="squared_error")
    with pytest.raises(error, match=message):
        est.fit(X, bad)
    assert not hasattr(est, "net_")


@pytest.mark.parametrize("first, then, named", [
    ({"label_weight": 3.0}, {"label_weight": 0.0}, "label_weight / label_loss"),
    ({"label_weight": 3.0}, {"label_loss": "supcon"}, "label_weight / label_loss"),
    ({"label_weight": 3.0, "label_loss": "squared_error"}, {"label_loss": "cross_entropy"},
     "label_weight / label_loss"),
    ({}, {"label_weight": 1.0}, "label_weight / label_loss"),
    ({}, {"reconstruction": 0.0}, "reconstruction"),
    ({"reconstruction": 0.0}, {"reconstruction": 1.0}, "reconstruction"),
    ({}, {"n_components": 4}, "n_components"),
    ({}, {"embedding_dim": 4}, "embedding_dim"),
    ({}, {"n_layers": 2}, "n_layers"),
])
def test_warm_start_refuses_another_architecture_before_training(data, modalities, first,
                                                                 then, named, monkeypatch):
    X, y, _ = data
    est = fusion(modalities=modalities, **first).fit(X, y)
    before = est.transform(X)
    import sktnce._fusion

    def no_training(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(sktnce._fusion, "train", no_training)
    est.set_params(warm_start=True, **then)
    with pytest.raises(ValueError, match=f"architecture .*{named}: the fitted network has"):
        est.fit(X, y)
    np.testing.assert_array_equal(est.transform(X), before)


@pytest.mark.parametrize("first, then", [
    ({"label_weight": 3.0, "label_loss": "supcon"}, {"label_weight": 0.0}),
    ({}, {"label_weight": 1.0, "label_loss": "supcon"}),
    ({"label_weight": 1.0}, {"label_weight": 3.0}),
    ({"n_layers": 0}, {"hidden_dim": 32, "temperature": 0.2}),
])
def test_warm_start_continues_where_the_architecture_is_the_same(data, modalities, first,
                                                                 then):
    X, y, _ = data
    est = fusion(modalities=modalities, **first).fit(X, y)
    est.set_params(warm_start=True, **then).fit(X, _partial(y, 0.5))
    assert est.n_iter_ == 4


def test_warm_start_keeps_the_standardisation_its_head_learned(data, modalities):
    X, y, _ = data
    params = {"modalities": modalities, "label_weight": 1.0, "label_loss": "squared_error"}
    first = _continuous(X, y)
    est = fusion(**params).fit(X, first)
    scale = est.target_scale_
    # a continued fit on numbers of another mean and spread goes on in the units its
    # head learned, as a continued classification keeps its classes
    est.set_params(warm_start=True).fit(X, 10.0 * first + 7.0)
    assert est.target_scale_ == scale and est.n_iter_ == 4
    assert fusion(**params).fit(X, 10.0 * first + 7.0).target_scale_ != pytest.approx(scale)


def test_feature_names_follow_the_fitted_network_not_later_parameters(data, modalities):
    X, _, _ = data
    est = fusion(modalities=modalities, output="fused_and_modalities").fit(X)
    est.set_params(n_components=3, embedding_dim=5)
    assert len(est.get_feature_names_out()) == est.transform(X).shape[1] == 8 + 3 * 8


def test_grid_search_gives_each_fold_only_its_own_labels(data, modalities):
    """Each fit of a cross-validated Pipeline sees its training fold's rows and labels
    only, and those labels shape the representation of the held-out fold."""
    X, y, _ = data
    seen = []

    class Recording(TupleInfoNCEFusion):
        def fit(self, X, y=None):
            seen.append((np.asarray(X).copy(), np.asarray(y).copy()))
            return super().fit(X, y)

    pipe = Pipeline([("fuse", Recording(**FAST, modalities=modalities, label_weight=1.0)),
                     ("probe", LogisticRegression(max_iter=500))])
    from sklearn.model_selection import KFold

    folds = list(KFold(3, shuffle=True, random_state=0).split(X))
    GridSearchCV(pipe, {"fuse__temperature": [0.1]}, cv=folds, refit=False).fit(X, y)
    assert len(seen) == len(folds)
    for (train, test), (X_seen, y_seen) in zip(folds, seen):
        np.testing.assert_array_equal(X_seen, X[train])
        np.testing.assert_array_equal(y_seen, y[train])
    # Which labels a fold's fit gets matters: the representation depends on them.
    train, test = folds[0]
    y_changed = y.copy()
    y_changed[train] = (y[train] + 1) % 8
    assert not np.array_equal(
        clone(pipe["fuse"]).fit(X[train], y_changed[train]).transform(X[test]),
        clone(pipe["fuse"]).fit(X[train], y[train]).transform(X[test]))
