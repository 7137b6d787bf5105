"""The torch side: the tuple encoder g and the module that builds views and negatives."""

from typing import NamedTuple, Optional

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ._augment import corrupt, partial_views, random_derangement
from ._embeddings import PiecewiseLinearEmbedding, build_numeric_embedding

__all__ = ["Architecture", "TrainingOutputs", "TupleEncoder", "TupleInfoNCEModule",
           "disturbed_mask", "generator_on"]


class Architecture(NamedTuple):
    """What a :class:`TupleEncoder`'s weights fix: every layer's shape.

    Read from a built encoder (:attr:`TupleEncoder.architecture`), never from an
    estimator's current parameters, which ``set_params`` may have changed since the fit.
    """

    input_dims: tuple
    embedding_dim: int
    #: 0 where ``n_layers`` is 0: the width of layers that do not exist.
    hidden_dim: int
    n_layers: int
    n_components: int
    projection_dim: int
    #: Whether the encoder has the reconstruction term's decoder.
    reconstruct: bool
    #: Outputs of the classifier head; 0: no head.
    n_classes: int
    #: Each modality's numeric embedding shape (``NUMERIC_EMBEDDINGS``) or None; ``()``: none.
    numeric_embedding: tuple = ()

    def build(self):
        """A :class:`TupleEncoder` of this architecture, with fresh weights."""
        return TupleEncoder(
            self.input_dims, embedding_dim=self.embedding_dim, hidden_dim=self.hidden_dim,
            n_layers=self.n_layers, n_components=self.n_components,
            projection_dim=self.projection_dim, reconstruct=self.reconstruct,
            n_classes=self.n_classes, numeric_embedding=self.numeric_embedding)


class TrainingOutputs(NamedTuple):
    """What the training module gives the loss for one batch.

    The first six are the inputs of :func:`sktnce.tuple_infonce_loss` in both directions
    (``mask`` is its ``disturbed_mask``); the next four, None when the encoder has no
    decoder, those of :func:`sktnce.reconstruction_loss`: each view's reconstruction of
    the clean blocks, the clean blocks, and which rows hold each modality. The last three
    are a target-aware fit's: the rows' labels (-1: none), and each view's class logits
    where the encoder has a classifier head. The last three are data-parallel training's:
    each view's z of every process's rows (the positives and ordinary negatives of this
    process's anchors, ``z1`` and ``z2``), and where this process's rows begin among them.
    """

    z1: torch.Tensor
    z2: torch.Tensor
    disturbed1: torch.Tensor
    disturbed2: torch.Tensor
    mask1: torch.Tensor
    mask2: torch.Tensor
    reconstructed1: Optional[torch.Tensor] = None
    reconstructed2: Optional[torch.Tensor] = None
    target: Optional[torch.Tensor] = None
    present: Optional[torch.Tensor] = None
    labels: Optional[torch.Tensor] = None
    logits1: Optional[torch.Tensor] = None
    logits2: Optional[torch.Tensor] = None
    candidates1: Optional[torch.Tensor] = None
    candidates2: Optional[torch.Tensor] = None
    first_row: int = 0


def _mlp(in_features, hidden_dim, out_features, n_layers):
    """``n_layers`` hidden layers of width ``hidden_dim`` with ReLU, then a linear output.

    No BatchNorm anywhere: a row's output must not depend on which rows share its batch.
    """
    layers = []
    width = in_features
    for _ in range(n_layers):
        layers += [nn.Linear(width, hidden_dim), nn.ReLU()]
        width = hidden_dim
    layers.append(nn.Linear(width, out_features))
    return nn.Sequential(*layers)


def _modality_encoder(in_features, embedding, hidden_dim, out_features, n_layers):
    """h_k: the MLP, after the modality's numeric embedding where ``embedding`` gives its
    shape (a value of :data:`~sktnce._embeddings.NUMERIC_EMBEDDINGS`)."""
    if embedding is None:
        return _mlp(in_features, hidden_dim, out_features, n_layers)
    module, width = build_numeric_embedding(in_features, embedding)
    return nn.Sequential(module, _mlp(in_features * width, hidden_dim, out_features, n_layers))


class TupleEncoder(nn.Module):
    """The encoder g of the user guide: per-modality encoders h_k, absent embeddings a_k,
    fusion head phi and projection head psi.

    Parameters
    ----------
    input_dims : sequence of int
        Width of each modality's preprocessed block, in modality order.
    embedding_dim : int
        Width m of each modality embedding e^k.
    hidden_dim : int
        Width of the hidden layers of every encoder and head.
    n_layers : int
        Hidden layers in each modality encoder and in the fusion head.
    n_components : int
        Width of the representation r = phi(e^1..e^K).
    projection_dim : int
        Width of the projection z = psi(r) used by the loss.
    reconstruct : bool, default=False
        Whether to add a linear decoder from r back to the modality blocks, for the
        reconstruction term of the loss.
    n_classes : int, default=0
        Above 0, a linear classifier head from r to the class logits, for a target-aware
        fit's cross-entropy term.
    numeric_embedding : tuple, default=()
        Per modality, the shape of a numeric embedding of its columns before its encoder
        (a value of :data:`~sktnce._embeddings.NUMERIC_EMBEDDINGS`), or None; ``()``: no
        modality's.
    """

    def __init__(self, input_dims, *, embedding_dim, hidden_dim, n_layers, n_components,
                 projection_dim, reconstruct=False, n_classes=0, numeric_embedding=()):
        super().__init__()
        self.input_dims = tuple(int(d) for d in input_dims)
        embeddings = tuple(numeric_embedding) or (None,) * len(self.input_dims)
        self.modality_encoders = nn.ModuleList(
            _modality_encoder(d, embedding, hidden_dim, embedding_dim, n_layers)
            for d, embedding in zip(self.input_dims, embeddings)
        )
        self.absent = nn.Parameter(0.02 * torch.randn(len(self.input_dims), embedding_dim))
        self.fusion_head = _mlp(len(self.input_dims) * embedding_dim, hidden_dim, n_components,
                                n_layers)
        self.projection_head = nn.Sequential(
            nn.ReLU(), nn.Linear(n_components, projection_dim)
        )
        # Created last, so that the other modules draw the same initial weights either way.
        self.decoder = nn.Linear(n_components, sum(self.input_dims)) if reconstruct else None
        self.classifier = nn.Linear(n_components, n_classes) if n_classes else None
        offsets = [0]
        for d in self.input_dims:
            offsets.append(offsets[-1] + d)
        self._bounds = list(zip(offsets[:-1], offsets[1:]))

    @property
    def architecture(self):
        """The :class:`Architecture` of this encoder, read from its layers."""
        n_layers = (len(self.fusion_head) - 1) // 2
        return Architecture(
            input_dims=self.input_dims,
            embedding_dim=int(self.absent.shape[1]),
            hidden_dim=int(self.fusion_head[0].out_features) if n_layers else 0,
            n_layers=n_layers,
            n_components=int(self.fusion_head[-1].out_features),
            projection_dim=int(self.projection_head[-1].out_features),
            reconstruct=self.decoder is not None,
            n_classes=0 if self.classifier is None else int(self.classifier.out_features),
            numeric_embedding=self._numeric_embedding(),
        )

    def _numeric_embedding(self):
        shapes = tuple(encoder[0].shape
                       if isinstance(encoder[0], PiecewiseLinearEmbedding) else None
                       for encoder in self.modality_encoders)
        return shapes if any(shapes) else ()

    def fit_numeric_embeddings(self, x, missing):
        """Fit the numeric embeddings that learn from data (their bins) on the rows ``x``
        of shape (n, sum(input_dims)), each on the rows where its modality is present
        (``missing``, (n, K) bool, marks the absent ones, whose zeros are no data)."""
        for k, (encoder, block) in enumerate(zip(self.modality_encoders, self.blocks(x))):
            present = ~missing[:, k]
            if isinstance(encoder[0], PiecewiseLinearEmbedding) and present.any():
                encoder[0].fit_bins(block[present])
        return self

    def blocks(self, x):
        """Split ``x`` of shape (B, sum(input_dims)) into the modality blocks (views, not copies)."""
        return [x[:, start:stop] for start, stop in self._bounds]

    def embed(self, blocks, absent):
        """Stack the modality embeddings, (B, K, m); ``absent[i, k]`` selects a_k for row i."""
        embeddings = torch.stack(
            [encoder(block) for encoder, block in zip(self.modality_encoders, blocks)], dim=1
        )
        return torch.where(absent.unsqueeze(-1), self.absent.to(embeddings.dtype), embeddings)

    def fuse(self, embeddings):
        """phi: (..., K, m) -> (..., n_components)."""
        return self.fusion_head(embeddings.flatten(-2))

    def fuse_with_swaps(self, embeddings, swaps, rows=None):
        """phi of a batch and of its recombined tuples, in one pass of phi's later layers.

        ``swaps`` is a list of ``(k, perm)``; recombined tuple ``s`` is ``embeddings`` with
        modality ``k`` of row ``i`` taken from row ``perm[i]``. The first layer of phi is
        linear in the concatenated embeddings, so its pre-activation is a sum of
        per-modality parts, computed once; a swap replaces one part by another row's.
        Returns shape (1 + len(swaps), B, n_components): ``fuse(embeddings)`` first, then
        ``fuse`` of each recombined tuple, equal to fusing them one by one up to rounding.
        ``rows`` (a slice), where given, keeps those rows' tuples only (their donors may
        be any row).
        """
        first = self.fusion_head[0]
        n_modalities, width = embeddings.shape[1:]
        weight = first.weight.view(first.out_features, n_modalities, width)
        parts = torch.einsum("bkm,okm->bko", embeddings, weight)
        if rows is None:
            whole = parts.sum(dim=1) + first.bias
            stacked = torch.stack(
                [whole] + [whole - parts[:, k] + parts[perm, k] for k, perm in swaps]
            )
        else:
            whole = parts[rows].sum(dim=1) + first.bias
            stacked = torch.stack(
                [whole] + [whole - parts[rows, k] + parts[perm[rows], k] for k, perm in swaps]
            )
        return self.fusion_head[1:](stacked)

    def project(self, representation):
        """psi, L2-normalised."""
        return F.normalize(self.projection_head(representation), dim=-1)

    def project_with_swaps(self, embeddings, swaps, rows=None):
        """``project(fuse_with_swaps(embeddings, swaps, rows))``, shape
        (1 + len(swaps), B or the rows', D)."""
        return self.project(self.fuse_with_swaps(embeddings, swaps, rows))

    def reconstruct(self, embeddings):
        """The decoder's reconstruction of the modality blocks from r, (B, sum(input_dims))."""
        return self.decoder(self.fuse(embeddings))

    def classify(self, embeddings):
        """The classifier head's class logits from r, (B, n_classes)."""
        return self.classifier(self.fuse(embeddings))

    def forward(self, x, absent):
        """The representation r of clean rows: what ``transform`` returns."""
        return self.fuse(self.embed(self.blocks(x), absent))


def generator_on(generator, device, seed):
    """``generator`` where it lives on ``device``, else a new one there seeded by ``seed``
    (created on demand: a module moved to another device starts again from its seed)."""
    if generator is None or generator.device != device:
        generator = torch.Generator(device=device).manual_seed(seed)
    return generator


def disturbed_mask(absent, swaps, shape, rows=slice(None)):
    """Which k-disturbed tuples of ``rows`` exist, shaped ``shape`` (K', R, n): not where
    modality k is absent both in the row and in its donor (``perm`` of each ``(k, perm)``
    of ``swaps``), nor where the row holds nothing but k; ``absent`` (B, K) is the batch's."""
    if not swaps:
        return absent.new_zeros(shape)
    mine = absent[rows]
    n_present = (~mine).sum(dim=1)
    return torch.stack([
        ~(mine[:, k] & absent[perm[rows], k]) & (n_present - (~mine[:, k]).long() > 0)
        for k, perm in swaps
    ]).view(shape)


class TupleInfoNCEModule(nn.Module):
    """Training module: two augmented views of a batch, plus the disturbed tuples.

    ``forward`` returns :class:`TrainingOutputs`, the reconstruction's fields where the
    encoder has a decoder. The modality encoders run once per view; a disturbed tuple only
    re-runs the heads on recombined embeddings.

    Each batch is one of three kinds, as in the authors' code: with probability
    ``1 - partial_share`` the full tuple (with modality dropout); otherwise, with equal
    chance, for a modality k drawn uniformly, (2) k alone against the other modalities, the
    cross-modal task that :func:`~sktnce._discrimination.cross_modal_discrimination`
    evaluates, or (3) k alone against an augmented copy of itself. A partial batch keeps
    the rows that hold modality k (and, for kind 2, another one).

    Parameters
    ----------
    encoder : TupleEncoder
    corruption : sequence of float
        SCARF corruption rate of each modality.
    disturbed_modalities : sequence of int
        Modalities whose disturbed negatives the loss uses (those with alpha_k > 0).
    n_derangements : int
        R, disturbed negatives per anchor and modality.
    modality_dropout : float
        Probability that a modality of a full view is replaced by its absent embedding.
    noise : float
        Standard deviation of Gaussian noise added to every view.
    seed : int
        Seed of the generators that drive every random draw of training.
    partial_share : float, default=0.0
        Probability that a batch is a partial-tuple batch (kinds 2 and 3).
    """

    def __init__(self, encoder, *, corruption, disturbed_modalities, n_derangements,
                 modality_dropout, noise, seed, partial_share=0.0):
        super().__init__()
        self.encoder = encoder
        self.corruption = tuple(float(c) for c in corruption)
        self.disturbed_modalities = tuple(int(k) for k in disturbed_modalities)
        self.n_derangements = int(n_derangements)
        self.modality_dropout = float(modality_dropout)
        self.noise = float(noise)
        self.seed = int(seed)
        self.partial_share = float(partial_share)
        self._generator = None
        self._kind_generator = None

    def __getstate__(self):
        # A torch.Generator does not pickle; both generators are re-created (and re-seeded)
        # on demand, so that a restored module starts again from its seed.
        state = self.__dict__.copy()
        state["_generator"] = None
        state["_kind_generator"] = None
        return state

    @property
    def kind_generator(self):
        """The NumPy generator of the batch kinds: drawn on the host, never waiting for a GPU."""
        if self._kind_generator is None:
            self._kind_generator = np.random.default_rng(self.seed)
        return self._kind_generator

    @property
    def device(self):
        return self.encoder.absent.device

    @property
    def generator(self):
        self._generator = generator_on(self._generator, self.device, self.seed)
        return self._generator

    def _corrupt(self, block, k):
        """Modality ``k``'s block of a view, corrupted."""
        return corrupt(block, self.corruption[k], noise=self.noise, generator=self.generator)

    def _embed(self, augmented, absent):
        """The encoder's modality embeddings of corrupted blocks, (B, K, m)."""
        return self.encoder.embed(augmented, absent)

    def _project(self, embeddings, swaps):
        """z of the tuples and of their recombinations, (1 + len(swaps), B, D)."""
        return self.encoder.project_with_swaps(embeddings, swaps)

    def _reconstruct(self, embeddings):
        """The decoder's reconstruction from a view's embeddings, (B, sum(input_dims))."""
        return self.encoder.reconstruct(embeddings)

    def _classify(self, embeddings):
        """The classifier head's logits from a view's embeddings, (B, n_classes)."""
        return self.encoder.classify(embeddings)

    def _view(self, blocks, absent, *, dropout):
        """Embeddings (B, K, m) of an augmented view, and the view's absent mask (B, K)."""
        gen = self.generator
        augmented = [self._corrupt(block, k) for k, block in enumerate(blocks)]
        if dropout and self.modality_dropout > 0 and absent.shape[1] > 1:
            dropped = torch.rand(absent.shape, generator=gen, device=absent.device) < (
                self.modality_dropout
            )
            # Never drop every present modality of a row: that view would carry nothing.
            emptied = (dropped | absent).all(dim=1, keepdim=True)
            absent = absent | (dropped & ~emptied)
        return self._embed(augmented, absent), absent

    def _project_with_disturbed(self, embeddings, absent):
        """z of a view (B, D), its disturbed tuples (K', R, B, D), and their mask (K', R, B).

        A k-disturbed tuple of row i exists only where it differs from the positive and
        still shares some modality with it: not where modality k is absent in both row i
        and its donor (it would equal the positive), nor where row i holds nothing but k
        (it would be another row's modality k alone, not a hard negative).
        """
        n_rows = absent.shape[0]
        swaps = [
            (k, random_derangement(n_rows, generator=self.generator, device=absent.device))
            for k in self.disturbed_modalities
            for _ in range(self.n_derangements)
        ]
        projected = self._project(embeddings, swaps)
        # A leading dimension of models trained side by side (CandidateBatchModule) stays.
        leading = projected.shape[:-3]
        shape = (len(self.disturbed_modalities), self.n_derangements, n_rows)
        disturbed = projected[..., 1:, :, :].reshape(*leading, *shape, projected.shape[-1])
        return projected[..., 0, :, :], disturbed, disturbed_mask(absent, swaps, shape)

    def _batch_plan(self, missing):
        """The kind of this batch: absent masks of both views, and the rows kept."""
        n_modalities = missing.shape[1]
        rng = self.kind_generator
        if n_modalities < 2 or self.partial_share == 0 or rng.random() >= self.partial_share:
            return missing, missing, None, True
        k = int(rng.integers(n_modalities))
        only_k, without_k = partial_views(missing, k)
        if rng.random() < 0.5:  # k alone against the rest of the row
            keep = ~missing[:, k] & (~without_k).any(dim=1)
            return only_k, without_k, keep, False
        return only_k, only_k, ~missing[:, k], False  # k alone against itself

    def forward(self, x, missing, labels=None):
        absent1, absent2, keep, dropout = self._batch_plan(missing)
        if keep is not None:
            rows = keep.nonzero().squeeze(1)
            if len(rows) < 2:  # too few rows hold the modality: a full batch instead
                absent1 = absent2 = missing
                dropout = True
            else:
                x, missing = x[rows], missing[rows]
                absent1, absent2 = absent1[rows], absent2[rows]
                labels = None if labels is None else labels[rows]
        blocks = self.encoder.blocks(x)
        embeddings1, view_absent1 = self._view(blocks, absent1, dropout=dropout)
        z1, disturbed1, mask1 = self._project_with_disturbed(embeddings1, view_absent1)
        embeddings2, view_absent2 = self._view(blocks, absent2, dropout=dropout)
        z2, disturbed2, mask2 = self._project_with_disturbed(embeddings2, view_absent2)
        outputs = TrainingOutputs(z1, z2, disturbed1, disturbed2, mask1, mask2, labels=labels)
        if self.encoder.decoder is not None:
            # Each view rebuilds every modality its row holds, the ones it lacks included.
            outputs = outputs._replace(reconstructed1=self._reconstruct(embeddings1),
                                       reconstructed2=self._reconstruct(embeddings2),
                                       target=x, present=~missing)
        if self.encoder.classifier is not None:
            outputs = outputs._replace(logits1=self._classify(embeddings1),
                                       logits2=self._classify(embeddings2))
        return outputs
