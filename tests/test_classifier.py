import copy
import pickle

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktnce import TupleInfoNCEClassifier, TupleInfoNCEFusion, labelled_scorer
from sktnce._finetune import contrastive_regulariser, probe_head
from sktnce._modalities import encode_input

from .conftest import FAST


def _partial(y, share=0.3, seed=0):
    partial = y.copy()
    partial[np.random.default_rng(seed).random(len(y)) >= share] = -1
    return partial


def _classifier(modalities, fusion_params=None, **params):
    fusion = TupleInfoNCEFusion(modalities=modalities, **{**FAST, **(fusion_params or {})})
    return TupleInfoNCEClassifier(fusion, **{"max_epochs": 5, "random_state": 0, **params})


def test_fit_predict_on_partial_labels(data, modalities):
    X, y, _ = data
    y_partial = _partial(y)
    clf = _classifier(modalities).fit(X, y_partial)
    assert -1 not in clf.classes_
    assert clf.classes_.tolist() == sorted(np.unique(y_partial[y_partial != -1]).tolist())
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    assert clf.fusion_.transform(X).shape == (len(X), FAST["n_components"])
    assert 1 <= clf.n_iter_ <= 5 and 0 <= clf.best_epoch_ <= clf.n_iter_
    assert len(clf.validation_loss_curve_) == clf.n_iter_ + 1


def test_same_random_state_is_bit_identical(data, modalities):
    X, y, _ = data
    y_partial = _partial(y)
    first = _classifier(modalities).fit(X, y_partial).predict_proba(X)
    assert np.array_equal(first, _classifier(modalities).fit(X, y_partial).predict_proba(X))


def test_without_fine_tuning_it_is_the_linear_probe_on_the_fused_vector(data, modalities):
    X, y, _ = data
    y_partial = _partial(y)
    labelled = y_partial != -1
    clf = _classifier(modalities, fine_tune=False).fit(X, y_partial)
    Z = clf.fusion_.transform(X).astype(np.float64)
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
    probe.fit(Z[labelled], y[labelled])
    assert clf.n_iter_ == 0
    np.testing.assert_allclose(clf.predict_proba(X), probe.predict_proba(Z), atol=1e-5)


def test_the_head_reads_the_fused_vector_alone_whatever_the_fusions_output(data, modalities):
    X, y, _ = data
    y_partial = _partial(y)
    labelled = y_partial != -1
    clf = _classifier(modalities, fusion_params={"output": "fused_and_modalities"},
                      fine_tune=False).fit(X, y_partial)
    out = clf.fusion_.transform(X).astype(np.float64)
    r = out[:, :FAST["n_components"]]
    assert out.shape[1] > r.shape[1]
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
    np.testing.assert_allclose(clf.predict_proba(X), probe.fit(r[labelled], y[labelled])
                               .predict_proba(r), atol=1e-5)


def test_fine_tuning_keeps_the_epoch_of_lowest_validation_loss(data, modalities):
    X, y, _ = data
    clf = _classifier(modalities, max_epochs=30, n_iter_no_change=30).fit(X, _partial(y))
    curve = clf.validation_loss_curve_
    # The kept epoch is the last to lower the best loss so far by more than tol (the probe's,
    # epoch 0, to begin with): a later loss lower by less does not count.
    best = 0
    for epoch, loss in enumerate(curve):
        if loss < curve[best] - clf.tol:
            best = epoch
    assert clf.best_epoch_ == best
    assert curve[best] <= min(curve) + clf.tol
    assert clf.n_iter_ == 30  # the patience outlasts the epochs


def test_a_target_aware_fusion_never_sees_the_validation_labels(data, modalities):
    X, y, _ = data
    seen = []

    class Recording(TupleInfoNCEFusion):
        def fit(self, X, y=None):
            seen.append(np.asarray(y).copy())
            return super().fit(X, y)

    y_partial = _partial(y)
    fusion = Recording(modalities=modalities, label_weight=1.0, **FAST)
    TupleInfoNCEClassifier(fusion, max_epochs=2, random_state=0).fit(X, y_partial)
    (y_fusion,) = seen
    labelled = np.flatnonzero(y_partial != -1)
    hidden = labelled[y_fusion[labelled] == -1]
    assert len(hidden) == int(np.ceil(0.2 * len(labelled)))  # the validation rows
    kept = np.setdiff1d(labelled, hidden)
    assert np.array_equal(y_fusion[kept], y_partial[kept])
    assert np.all(y_fusion[y_partial == -1] == -1)


def test_score_leaves_out_unlabelled_rows_and_works_in_model_selection(data, modalities):
    X, y, _ = data
    y_partial = _partial(y, share=0.5)
    clf = _classifier(modalities, max_epochs=2).fit(X, y_partial)
    labelled = y_partial != -1
    assert clf.score(X, y_partial) == np.mean(clf.predict(X[labelled]) == y[labelled])
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    scores = cross_val_score(_classifier(modalities, max_epochs=2), X, y_partial, cv=folds)
    assert scores.shape == (3,) and np.all((0 <= scores) & (scores <= 1))
    search = GridSearchCV(_classifier(modalities, max_epochs=2), {"lr": [1e-3, 1e-2]},
                          cv=folds).fit(X, y_partial)
    assert -1 not in search.best_estimator_.classes_


def test_string_classes_with_minus_one(data, modalities):
    X, y, _ = data
    y_text = np.array([f"c{v}" for v in y], dtype=object)
    y_text[_partial(y) == -1] = -1
    before = y_text.copy()
    clf = _classifier(modalities, fusion_params={"label_weight": 1.0}).fit(X, y_text)
    assert all(isinstance(c, str) for c in clf.classes_)
    assert set(clf.predict(X)) <= set(clf.classes_)
    np.testing.assert_array_equal(y_text, before)


@pytest.mark.parametrize("kind, error, message", [
    ("one class", ValueError, r"one class only \(1\).*\+1/-1"),
    ("all unlabelled", ValueError, "no labelled row"),
    ("continuous", ValueError, "Unknown label type"),
    ("none", ValueError, "requires y to be passed"),
    ("too few for early stopping", ValueError, "early_stopping=False"),
])
def test_bad_targets_are_refused_before_training(data, modalities, kind, error, message,
                                                 monkeypatch):
    X, y, _ = data
    y_bad = {"one class": np.where(y > 3, 1, -1),
             "all unlabelled": np.full(len(y), -1),
             "continuous": y + 0.5,
             "none": None,
             "too few for early stopping": np.where(np.arange(len(y)) < 2,
                                                    np.arange(len(y)), -1)}[kind]

    def no_training(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(TupleInfoNCEFusion, "fit", no_training)
    clf = _classifier(modalities)
    with pytest.raises(error, match=message):
        clf.fit(X, y_bad)
    assert not hasattr(clf, "network_")


def test_fusion_must_be_a_fusion(data):
    X, y, _ = data
    with pytest.raises(TypeError, match="fusion must be a TupleInfoNCEFusion"):
        TupleInfoNCEClassifier(StandardScaler()).fit(X, y)


def test_pickle_round_trip(data, modalities):
    X, y, _ = data
    clf = _classifier(modalities).fit(X, _partial(y))
    assert np.array_equal(pickle.loads(pickle.dumps(clf)).predict_proba(X), clf.predict_proba(X))


def test_save_load_round_trip(tmp_path, data, modalities):
    pytest.importorskip("skops")
    pytest.importorskip("safetensors")
    from sktnce import load, save

    X, y, _ = data
    clf = _classifier(modalities, fusion_params={"label_weight": 1.0}).fit(X, _partial(y))
    save(clf, tmp_path / "clf.sktnce")
    loaded = load(tmp_path / "clf.sktnce")
    assert type(loaded) is TupleInfoNCEClassifier
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert np.array_equal(loaded.fusion_.transform(X), clf.fusion_.transform(X))
    assert loaded.classes_.tolist() == clf.classes_.tolist()
    assert loaded.get_params()["fusion"].label_weight == 1.0
    assert loaded.loss_curve_ == clf.loss_curve_


def _fusions_own_loss(clf, X):
    """The fused training loss (its contrast and reconstruction, without labels) of the
    fine-tuned encoder on all of ``X``, over 5 seeded draws of the augmentations."""
    state = clf.fusion_._get_state()
    module = copy.deepcopy(state.training.net.module_)
    module.encoder = copy.deepcopy(clf.network_.encoder)
    criterion = copy.deepcopy(state.training.net.criterion_)
    encoded = encode_input(clf.fusion_, state.preprocessing, X, "cpu")
    term = contrastive_regulariser(module, criterion, encoded, weight=1.0, batch_size=len(X),
                                   seed=0)
    with torch.no_grad():
        return float(np.mean([float(term()) for _ in range(5)]))


def test_the_contrastive_regulariser_keeps_what_the_fusion_learned(data, modalities):
    X, y, _ = data
    y_partial = _partial(y)
    params = {"early_stopping": False, "max_epochs": 10, "lr": 1e-2}
    plain = _classifier(modalities, **params).fit(X, y_partial)
    kept = _classifier(modalities, contrastive_weight=1.0, **params).fit(X, y_partial)
    assert _fusions_own_loss(kept, X) < _fusions_own_loss(plain, X)
    assert len(kept.loss_curve_) == len(plain.loss_curve_) == 10
    # the fitted fusion is the same either way: the regulariser trains a copy
    np.testing.assert_array_equal(kept.fusion_.transform(X), plain.fusion_.transform(X))
    again = _classifier(modalities, contrastive_weight=1.0, **params).fit(X, y_partial)
    np.testing.assert_array_equal(again.predict_proba(X), kept.predict_proba(X))


def _every_third_unlabelled(values):
    y = np.array(values, dtype=object)
    y[::3] = -1
    return y


# id: y from the data's classes (0 to 7); types that cannot hold -1 are fully labelled.
LABEL_TYPES = {
    "uint8": lambda y: y.astype(np.uint8),
    "bool": lambda y: y < 4,
    "bool with -1 (object)": lambda y: _every_third_unlabelled(y < 4),
    "float with -1": lambda y: np.where(np.arange(len(y)) % 3, y, -1).astype(float),
    "str list with -1": lambda y: _every_third_unlabelled(np.array(list("abcdefgh"))[y])
    .tolist(),
    "pandas categorical with -1": lambda y: pytest.importorskip("pandas").Series(
        pytest.importorskip("pandas").Categorical(
            _every_third_unlabelled(np.array(list("abcdefgh"))[y]))),
}


@pytest.mark.parametrize("kind", LABEL_TYPES)
@pytest.mark.parametrize("label_weight", [0.0, 1.0])
def test_every_label_type_fits_with_or_without_a_target_aware_fusion(data, modalities, kind,
                                                                     label_weight):
    X, y, _ = data
    y_kind = LABEL_TYPES[kind](y)
    values = np.asarray(y_kind, dtype=object)
    labelled = np.array([not (type(v) in (int, float) and v == -1) for v in values])
    clf = _classifier(modalities, fusion_params={"label_weight": label_weight},
                      max_epochs=2).fit(X, y_kind)
    assert clf.classes_.tolist() == sorted(set(values[labelled].tolist()))
    if label_weight:
        assert clf.fusion_.classes_.tolist() == clf.classes_.tolist()
    assert set(clf.predict(X).tolist()) <= set(clf.classes_.tolist())
    assert 0 <= clf.score(X, y_kind) <= 1
    assert labelled_scorer()(clf, X, y_kind) == clf.score(X, y_kind)


@pytest.mark.parametrize("as_list", [True, False])
def test_the_string_minus_one_is_refused_before_training(data, modalities, as_list,
                                                         monkeypatch):
    X, y, _ = data
    y_text = np.where(np.arange(len(y)) % 3, np.array(list("abcdefgh"))[y], "-1")
    y_text = y_text.tolist() if as_list else y_text
    fitted = _classifier(modalities, max_epochs=2).fit(X, y)

    def no_training(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(TupleInfoNCEFusion, "fit", no_training)
    for fit in (_classifier(modalities).fit,
                _classifier(modalities, fusion_params={"label_weight": 1.0}).fit):
        with pytest.raises(ValueError, match="string '-1'.*integer -1"):
            fit(X, y_text)
    for score in (fitted.score, lambda X, y: labelled_scorer()(fitted, X, y)):
        with pytest.raises(ValueError, match="string '-1'"):
            score(X, y_text)


@pytest.mark.parametrize("seen", [[1, 2], [0, 2, 3]], ids=["binary probe", "multiclass probe"])
def test_a_class_the_probe_never_saw_is_never_predicted(data, modalities, seen):
    X, y, _ = data
    fusion = TupleInfoNCEFusion(modalities=modalities, **FAST).fit(X)
    state = fusion._get_state()
    encoder = state.training.net.module_.encoder
    encoded = encode_input(fusion, state.preprocessing, X, "cpu")
    rows = np.arange(len(X))
    codes = np.array(seen)[y % len(seen)]
    n_classes = max(seen) + 1
    head = probe_head(encoder, encoded, rows, codes, n_classes)
    r = torch.as_tensor(fusion.transform(X))
    for scale in (1.0, 1e3):  # rows far outside the training rows' range too
        with torch.no_grad():
            logits = head(scale * r).double()
        unseen = np.setdiff1d(np.arange(n_classes), seen)
        margin = logits[:, seen].max(dim=1).values[:, None] - logits[:, unseen]
        assert margin.min() >= 10 - 1e-3 * scale
        assert set(logits.argmax(dim=1).tolist()) <= set(seen)
    with torch.no_grad():
        predicted = head(r).argmax(dim=1).numpy()
    # the seen classes keep the probe's decisions: each of them is predicted
    assert set(predicted.tolist()) == set(seen)


def test_errors_name_the_classifier_in_plain_words(data, modalities):
    X, y, _ = data
    clf = _classifier(modalities, max_epochs=2)
    with pytest.raises(ValueError) as error:
        clf.fit(X, np.full(len(y), -1))
    assert "on the labelled rows on" not in str(error.value)
    with pytest.raises(ValueError) as error:
        clf.fit(X, y + 0.5)
    assert "rows on class labels" not in str(error.value)
    clf.fit(X, y)
    with pytest.raises(ValueError, match="TupleInfoNCEClassifier is expecting"):
        clf.predict(X[:, :10])


@pytest.mark.parametrize("validation_fraction, n_labelled", [(0.9, 10), (0.5, 3)])
def test_a_held_out_share_that_leaves_too_few_rows_is_refused_by_name(
        data, modalities, validation_fraction, n_labelled):
    X, y, _ = data
    y_partial = np.where(np.arange(len(y)) < n_labelled, np.arange(len(y)) % 2, -1)
    clf = _classifier(modalities, validation_fraction=validation_fraction)
    with pytest.raises(ValueError, match=rf"validation_fraction={validation_fraction}.*"
                                         r"early_stopping=False"):
        clf.fit(X, y_partial)
