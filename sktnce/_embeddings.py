"""Numeric feature embeddings: each column of a modality's block mapped to a few
features before the modality's encoder, for every column at once (Gorishniy et al., "On
Embeddings for Numerical Features in Tabular Deep Learning", NeurIPS 2022)."""

import math

import torch
from torch import nn

__all__ = ["NUMERIC_EMBEDDINGS", "PiecewiseLinearEmbedding", "build_numeric_embedding",
           "resolve_numeric_embedding"]

#: What ``numeric_embedding`` names, and the embedding's shape ``(kind, n_bins)``: 3 bins
#: keep a fit within 1.3x of one without on the widest study table (bench_cost.py).
NUMERIC_EMBEDDINGS = {"piecewise_linear": ("piecewise_linear", 3)}


class PiecewiseLinearEmbedding(nn.Module):
    """Piecewise-linear encoding of every column on its quantile bins (the PLE of
    Gorishniy et al., NeurIPS 2022).

    Column ``j`` becomes ``n_bins`` features: feature ``t`` is 0 below bin ``t`` of the
    column, 1 above it, and rises linearly across it, so that the following linear layer
    fits a piecewise-linear function of every column. The bins' edges are the column's
    quantiles in the training rows (:meth:`fit_bins`); until then, those of a standard
    normal. Nothing in it trains.

    Parameters
    ----------
    n_features : int
        Columns of the block.
    n_bins : int
        Bins per column, and features per column out.
    """

    def __init__(self, n_features, *, n_bins):
        super().__init__()
        normal = torch.distributions.Normal(0.0, 1.0)
        levels = torch.linspace(0, 1, n_bins + 1)[1:-1]
        inner = normal.icdf(levels)
        edges = torch.cat([inner[:1] - 1, inner, inner[-1:] + 1]) if n_bins > 1 \
            else torch.tensor([-1.0, 1.0])
        # Parameters that never train, not buffers: a search's candidates run the encoder
        # through functional_call on their stacked parameters alone.
        self.edges = nn.Parameter(edges.expand(n_features, n_bins + 1).clone(),
                                  requires_grad=False)

    @property
    def shape(self):
        """``("piecewise_linear", n_bins)``."""
        return "piecewise_linear", int(self.edges.shape[1]) - 1

    @torch.no_grad()
    def fit_bins(self, x):
        """Set every column's edges to its quantiles in ``x`` of shape (n, n_features)."""
        # torch.quantile takes at most 2**24 values: evenly spaced rows beyond that.
        x = x[::max(1, math.ceil(x.numel() / 2**24))]
        levels = torch.linspace(0, 1, self.edges.shape[1], device=x.device, dtype=x.dtype)
        self.edges.copy_(torch.quantile(x, levels, dim=0).T.to(self.edges))

    def forward(self, x):
        edges = self.edges.detach()
        # A bin of zero width (a column of few values) becomes a step at its edge.
        scale = 1 / (edges[:, 1:] - edges[:, :-1]).clamp_min(1e-6)
        # (x - lower edge) * scale, in one pass over the (B, n_features, n_bins) output.
        encoded = torch.addcmul(-edges[:, :-1] * scale, x.unsqueeze(-1), scale)
        return encoded.clamp(0, 1).flatten(-2)


def build_numeric_embedding(n_features, shape):
    """The embedding of ``n_features`` columns of ``shape`` (a value of
    :data:`NUMERIC_EMBEDDINGS`), and its features per column."""
    _, n_bins = shape
    return PiecewiseLinearEmbedding(n_features, n_bins=n_bins), n_bins


def resolve_numeric_embedding(numeric_embedding, names):
    """Each modality's embedding shape (a value of :data:`NUMERIC_EMBEDDINGS`), or None,
    in the order of ``names``; ``()`` where none is embedded.

    ``numeric_embedding`` is None, a name of :data:`NUMERIC_EMBEDDINGS` (every modality),
    or a dict from modality names to such a name or None.
    """
    if numeric_embedding is None:
        return ()
    if isinstance(numeric_embedding, str):
        numeric_embedding = dict.fromkeys(names, numeric_embedding)
    unknown = sorted(set(numeric_embedding) - set(names), key=str)
    if unknown:
        raise ValueError(
            f"numeric_embedding names {unknown}, which are not modalities; the modalities "
            f"are {list(names)}.")
    for name, kind in numeric_embedding.items():
        if kind is not None and kind not in NUMERIC_EMBEDDINGS:
            raise ValueError(
                f"numeric_embedding[{name!r}] must be one of {sorted(NUMERIC_EMBEDDINGS)} or "
                f"None; got {kind!r}.")
    shapes = tuple(NUMERIC_EMBEDDINGS[numeric_embedding[name]]
                   if numeric_embedding.get(name) is not None else None for name in names)
    return shapes if any(shapes) else ()
