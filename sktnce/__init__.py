"""sktnce: contrastive multimodal fusion with TupleInfoNCE, as a scikit-learn transformer."""

from ._auto import make_modalities
from ._fusion import TupleInfoNCEFusion
from ._loss import reconstruction_loss, tuple_infonce_loss
from ._persistence import load, save
from ._search import TupleInfoNCESearch
from ._version import __version__

__all__ = [
    "TupleInfoNCEFusion",
    "TupleInfoNCESearch",
    "load",
    "make_modalities",
    "reconstruction_loss",
    "save",
    "tuple_infonce_loss",
    "__version__",
]
