import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

from sktnce.datasets import make_multimodal_classification


def test_shapes_columns_and_determinism():
    X, y, columns = make_multimodal_classification(n_samples=50, n_features=(4, 3, 2),
                                                   random_state=0)
    assert X.shape == (50, 9) and y.shape == (50,)
    assert columns == {"strong": [0, 1, 2, 3], "medium": [4, 5, 6], "weak": [7, 8]}
    X2, y2, _ = make_multimodal_classification(n_samples=50, n_features=(4, 3, 2),
                                               random_state=0)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    _, y4, _ = make_multimodal_classification(n_samples=50, synergy=False, random_state=0)
    assert set(y4) <= {0, 1, 2, 3}


def test_the_label_needs_the_weak_modality():
    X, y, columns = make_multimodal_classification(n_samples=1500, synergy=False,
                                                   random_state=0)
    probe = LogisticRegression(max_iter=1000)
    without_weak = X[:, columns["strong"] + columns["medium"]]
    full = cross_val_score(probe, X, y, cv=3).mean()
    assert full > cross_val_score(probe, without_weak, y, cv=3).mean() + 0.15


@pytest.mark.parametrize("kwargs", [{"n_features": (1, 2)}, {"n_shared": 0}, {"n_samples": 0}])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        make_multimodal_classification(**kwargs)
