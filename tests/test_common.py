"""scikit-learn's estimator checks over sktnce's estimators."""

import pytest
from sklearn.preprocessing import StandardScaler
from sklearn.utils import estimator_checks
from sklearn.utils.estimator_checks import parametrize_with_checks

from sktnce import (TupleInfoNCEClassifier, TupleInfoNCEEnsembleClassifier, TupleInfoNCEFusion,
                    TupleInfoNCERegressor, TupleInfoNCESearch)

SMALL = {"n_components": 4, "hidden_dim": 16, "embedding_dim": 8}


class EveryOtherColumn:
    """Columns ``start``, ``start + 2``, ...: a modality spec for any number of columns."""

    def __init__(self, start):
        self.start = start

    def __call__(self, X):
        return list(range(self.start, X.shape[1], 2))

    def __repr__(self):  # a stable test id
        return f"EveryOtherColumn({self.start})"


def _two_modalities():
    return [("even", StandardScaler(), EveryOtherColumn(0)),
            ("odd", "passthrough", EveryOtherColumn(1))]


ESTIMATORS = [
    TupleInfoNCEFusion(max_epochs=3, **SMALL),
    TupleInfoNCEFusion(modalities=_two_modalities(), max_epochs=2, **SMALL),
    TupleInfoNCEFusion(label_weight=1.0, max_epochs=2, **SMALL),
    TupleInfoNCEFusion(label_weight=1.0, label_loss="squared_error", max_epochs=2, **SMALL),
    TupleInfoNCEClassifier(TupleInfoNCEFusion(max_epochs=2, **SMALL), max_epochs=5),
    TupleInfoNCEEnsembleClassifier(TupleInfoNCEFusion(max_epochs=2, **SMALL)),
    TupleInfoNCERegressor(TupleInfoNCEFusion(max_epochs=2, **SMALL)),
    # The checks fit on 10 to 30 rows: a validation split of 2 to 6, hence the chunk of 2.
    TupleInfoNCESearch(TupleInfoNCEFusion(modalities=_two_modalities(), score_chunk_size=2,
                                          max_epochs=1, **SMALL),
                       n_candidates=2, n_rounds=1, epochs_per_round=1),
]


def _expected_failed_checks(estimator):
    expected = {}
    inner = getattr(estimator, "estimator", getattr(estimator, "fusion", estimator))
    modalities = inner.modalities
    if modalities is not None and len(modalities) > 1:
        expected["check_fit2d_1feature"] = (
            "two modalities (even and odd columns) cannot both be drawn from one column; "
            "fit says so: \"Modality 'odd' selects no columns\"."
        )
    if isinstance(estimator, (TupleInfoNCEClassifier, TupleInfoNCEEnsembleClassifier)):
        expected["check_classifiers_classes"] = (
            "the check's binary classes are -1 and 1, and -1 marks an unlabelled row "
            "(scikit-learn's semi-supervised convention); the check exempts "
            "SelfTrainingClassifier, LabelPropagation and LabelSpreading by name for it."
        )
    return expected


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


# SentenceEmbedder takes a column of texts: its tags say so (two_d_array=False,
# string=True), and scikit-learn's check generator then yields no check at all, as for its
# own CountVectorizer. The checks of the API that need no numeric table still apply.
API_CHECKS = [
    "check_estimator_cloneable",
    "check_estimator_tags_renamed",
    "check_valid_tag_types",
    "check_estimator_repr",
    "check_no_attributes_set_in_init",
    "check_get_params_invariance",
    "check_set_params",
    "check_parameters_default_constructible",
    "check_do_not_raise_errors_in_init_or_set_params",
    "check_mixin_order",
]


@pytest.mark.parametrize("check", API_CHECKS)
def test_sentence_embedder_api(check):
    pytest.importorskip("sentence_transformers")
    from sktnce.text import SentenceEmbedder

    getattr(estimator_checks, check)("SentenceEmbedder", SentenceEmbedder())
