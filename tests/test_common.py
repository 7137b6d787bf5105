"""scikit-learn's estimator checks over TupleInfoNCEFusion."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sktnce import TupleInfoNCEFusion


def _expected_failed_checks(estimator):
    return {}


@parametrize_with_checks(
    [TupleInfoNCEFusion(max_epochs=3, n_components=4, hidden_dim=16, embedding_dim=8)],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
