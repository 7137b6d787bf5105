"""sktnce: contrastive multimodal fusion with TupleInfoNCE, as a scikit-learn transformer."""

from ._fusion import TupleInfoNCEFusion
from ._loss import tuple_infonce_loss
from ._search import TupleInfoNCESearch

__version__ = "0.1.0.dev0"

__all__ = ["TupleInfoNCEFusion", "TupleInfoNCESearch", "tuple_infonce_loss", "__version__"]
