"""sktnce: contrastive multimodal fusion with TupleInfoNCE, as a scikit-learn transformer."""

from ._auto import make_modalities
from ._classifier import TupleInfoNCEClassifier
from ._ensemble import TupleInfoNCEEnsembleClassifier
from ._fusion import TupleInfoNCEFusion
from ._loss import (
    labelled_cross_entropy,
    labelled_squared_error,
    reconstruction_loss,
    supervised_contrastive_loss,
    tuple_infonce_loss,
)
from ._persistence import load, save
from ._regressor import TupleInfoNCERegressor
from ._scoring import labelled_scorer
from ._search import TupleInfoNCESearch
from ._version import __version__

__all__ = [
    "TupleInfoNCEClassifier",
    "TupleInfoNCEEnsembleClassifier",
    "TupleInfoNCEFusion",
    "TupleInfoNCERegressor",
    "TupleInfoNCESearch",
    "labelled_cross_entropy",
    "labelled_squared_error",
    "labelled_scorer",
    "load",
    "make_modalities",
    "reconstruction_loss",
    "save",
    "supervised_contrastive_loss",
    "tuple_infonce_loss",
    "__version__",
]
