import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.semi_supervised import SelfTrainingClassifier

from sktnce import TupleInfoNCEFusion, labelled_scorer

from .conftest import FAST


def _partial(y, seed=0):
    """``y`` with two rows in three unlabelled (-1)."""
    partial = y.copy()
    partial[np.random.default_rng(seed).random(len(y)) < 2 / 3] = -1
    return partial


def _pipeline(modalities, last):
    return Pipeline([("fuse", TupleInfoNCEFusion(modalities=modalities, label_weight=1.0,
                                                 **FAST)),
                     ("probe", last)])


def test_a_plain_last_step_learns_the_unlabelled_marker_as_a_class(data, modalities):
    X, y, _ = data
    pipe = _pipeline(modalities, LogisticRegression(max_iter=500)).fit(X, _partial(y))
    assert -1 in pipe.classes_  # the trap the recipe avoids


def test_the_recipe_trains_and_scores_on_labelled_rows_only(data, modalities):
    X, y, _ = data
    y_partial = _partial(y)
    labelled = y_partial != -1
    pipe = _pipeline(modalities, SelfTrainingClassifier(LogisticRegression(max_iter=500),
                                                        max_iter=0)).fit(X, y_partial)
    assert -1 not in pipe.classes_
    assert np.array_equal(pipe["probe"].transduction_[labelled], y_partial[labelled])
    expected = np.mean(pipe.predict(X[labelled]) == y[labelled])
    assert labelled_scorer()(pipe, X, y_partial) == expected
    assert pipe.score(X, y_partial) < expected  # the unlabelled rows count as errors there


def test_grid_search_over_label_weight_scores_the_labelled_rows(data, modalities):
    X, y, _ = data
    y_partial = _partial(y)
    pipe = _pipeline(modalities, SelfTrainingClassifier(LogisticRegression(max_iter=500),
                                                        max_iter=0))
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y_partial))
    search = GridSearchCV(pipe, {"fuse__label_weight": [0.0, 1.0]}, cv=folds, refit=False,
                          scoring=labelled_scorer("balanced_accuracy")).fit(X, y_partial)
    for candidate, weight in enumerate([0.0, 1.0]):
        for fold, (train, test) in enumerate(folds):
            fitted = pipe.set_params(fuse__label_weight=weight).fit(X[train], y_partial[train])
            test = test[y_partial[test] != -1]
            expected = balanced_accuracy_score(y[test], fitted.predict(X[test]))
            assert search.cv_results_[f"split{fold}_test_score"][candidate] == \
                pytest.approx(expected, abs=1e-12)


def test_string_classes_and_a_scorer_callable(data):
    X, y, _ = data
    y_text = np.array([f"c{v}" for v in y], dtype=object)
    y_text[::2] = -1
    model = LogisticRegression(max_iter=500).fit(X[1::2], y_text[1::2])

    def first_row_right(estimator, X, y):
        return float(estimator.predict(X[:1])[0] == y[0])

    assert labelled_scorer(first_row_right)(model, X, y_text) == first_row_right(
        model, X[1::2], y_text[1::2])


def test_nothing_labelled_to_score_is_an_error(data):
    X, y, _ = data
    model = LogisticRegression(max_iter=500).fit(X, y)
    with pytest.raises(ValueError, match="every row to score has the label -1"):
        labelled_scorer()(model, X, np.full(len(y), -1))
