"""The losses, pure functions over tensors: the TupleInfoNCE loss, the reconstruction
term, the supervised terms, and :func:`training_loss`, which weighs them together from
one batch's :class:`~sktnce._network.TrainingOutputs`."""

from typing import NamedTuple, Optional

import torch
from torch.nn import functional as F

__all__ = ["HEAD_LOSSES", "ReconstructionTerm", "SupervisionTerm", "labelled_cross_entropy",
           "labelled_squared_error", "reconstruction_loss", "supervised_contrastive_loss",
           "training_loss", "tuple_infonce_loss"]

#: The label of a row that has none (scikit-learn's semi-supervised convention).
UNLABELLED = -1


def tuple_infonce_loss(anchor, positive, disturbed, alpha, temperature, *, disturbed_mask=None,
                       reduction="mean", first_row=0):
    r"""TupleInfoNCE loss in its expectation form, for one direction.

    For anchor :math:`i` with logits :math:`s = z^1_i \cdot z / \tau`::

        loss_i = -s_pos + logsumexp(s_pos,
                                    {s_ord_j + log alpha_0}            for j != i,
                                    {s_dist_kr + log(alpha_k (B-1) / R)})

    so the denominator is ``exp(s_pos) + (B - 1) * [alpha_0 * mean_j exp(s_ord_j)
    + sum_k alpha_k * mean_r exp(s_dist_kr)]``: the expectation, over the negative
    mixture :math:`q_\alpha`, of a draw of ``B - 1`` negatives. With
    ``alpha = (1, 0, ..., 0)`` it is plain InfoNCE over the batch.

    Parameters
    ----------
    anchor : Tensor of shape (n, D)
        Anchor projections (L2-normalised by the caller when cosine similarity is wanted);
        ``n = B`` but in data-parallel training, where they are this process's rows.
    positive : Tensor of shape (B, D)
        The positive of anchor ``i`` is row ``first_row + i``; every other row is an ordinary
        negative of it.
    disturbed : Tensor of shape (K, R, n, D)
        ``disturbed[k, r, i]`` is the positive of anchor ``i`` with its ``k``-th disturbed
        modality taken from another row (the ``r``-th derangement). ``K`` may be 0.
    alpha : Tensor or sequence of shape (K + 1,)
        Mixture weights: ordinary negatives first, then one per disturbed modality.
        Non-negative; weights of zero drop those negatives. Normalised here to sum to 1.
    temperature : float
        Softmax temperature :math:`\tau > 0`.
    disturbed_mask : bool Tensor of shape (K, R, B), default=None
        Which disturbed negatives exist: ``False`` drops ``disturbed[k, r, i]`` from the
        denominator. A k-disturbed tuple whose modality k is absent both in row ``i`` and
        in the row it came from equals its own positive, and must be dropped; so must one
        that only duplicates an ordinary negative. ``None`` keeps all.
    reduction : {"mean", "none"}, default="mean"
        ``"none"`` returns the per-anchor losses.
    first_row : int, default=0
        The row of ``positive`` that is anchor 0's positive. In data-parallel training each
        process holds the anchors of its share of the global batch and the positives of
        every process (gathered): its share starts at this
        row, and its losses are the single-process losses of those anchors.

    Returns
    -------
    loss : Tensor
        A scalar, or shape ``(n,)`` with ``reduction="none"``.

    Examples
    --------
    >>> import torch
    >>> from sktnce import tuple_infonce_loss
    >>> z = torch.nn.functional.normalize(torch.randn(4, 3, generator=torch.Generator().manual_seed(0)), dim=1)
    >>> disturbed = torch.empty(0, 1, 4, 3)
    >>> loss = tuple_infonce_loss(z, z, disturbed, alpha=[1.0], temperature=0.1)
    >>> bool(loss >= 0)
    True
    """
    if anchor.ndim != 2 or positive.ndim != 2 or positive.shape[1] != anchor.shape[1]:
        raise ValueError(
            f"anchor and positive must have shapes (n, D) and (B, D); got "
            f"{tuple(anchor.shape)} and {tuple(positive.shape)}."
        )
    n_rows = positive.shape[0]
    if n_rows < 2:
        raise ValueError(f"The loss needs a batch of at least 2 rows; got {n_rows}.")
    if not 0 <= first_row <= n_rows - anchor.shape[0]:
        raise ValueError(f"anchor and positive: anchor i's positive is row first_row + i, "
                         f"so rows {first_row} to {first_row + anchor.shape[0] - 1} must be "
                         f"rows of positive, which has {n_rows}.")
    if disturbed.ndim != 4 or disturbed.shape[2:] != anchor.shape:
        raise ValueError(
            f"disturbed must have shape (K, R, {anchor.shape[0]}, {anchor.shape[1]}); "
            f"got {tuple(disturbed.shape)}."
        )
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0; got {temperature}.")
    if reduction not in ("mean", "none"):
        raise ValueError(f"reduction must be 'mean' or 'none'; got {reduction!r}.")
    n_disturbed, n_derangements = disturbed.shape[:2]
    alpha = torch.as_tensor(alpha, dtype=anchor.dtype, device=anchor.device)
    if alpha.shape != (n_disturbed + 1,):
        raise ValueError(
            f"alpha must have {n_disturbed + 1} entries (ordinary, then one per disturbed "
            f"modality); got shape {tuple(alpha.shape)}."
        )
    if bool((alpha < 0).any()) or not bool(alpha.sum() > 0):
        raise ValueError("alpha must be non-negative and not all zero.")
    if disturbed_mask is not None and n_disturbed and disturbed_mask.shape != disturbed.shape[:3]:
        raise ValueError(
            f"disturbed_mask must have shape {tuple(disturbed.shape[:3])}; got "
            f"{tuple(disturbed_mask.shape)}."
        )
    loss = _unchecked_loss(anchor, positive, disturbed, alpha / alpha.sum(), temperature,
                           disturbed_mask, first_row)
    return loss.mean() if reduction == "mean" else loss


def _unchecked_loss(anchor, positive, disturbed, alpha, temperature, disturbed_mask,
                    first_row=0):
    """Per-anchor losses, shape (n,), from checked inputs and alpha normalised.

    Free of data-dependent control flow, so that :func:`torch.func.vmap` can map it over
    a leading dimension of candidate models.
    """
    n_anchors, n_rows = anchor.shape[0], positive.shape[0]
    n_disturbed, n_derangements = disturbed.shape[:2]
    pairwise = anchor @ positive.T / temperature
    positive_logit = pairwise[:, first_row:first_row + n_anchors].diagonal()
    # Each anchor's own positive is masked out of the ordinary block with -inf rather than
    # removed: boolean indexing would cost a nonzero() and a scatter per call.
    rows = torch.arange(n_rows, device=anchor.device)
    own = rows == rows[first_row:first_row + n_anchors].unsqueeze(1)
    ordinary = (pairwise + torch.log(alpha[0])).masked_fill(own, float("-inf"))

    terms = [positive_logit.unsqueeze(1), ordinary]
    if n_disturbed:
        # (K, R, B) similarity of each anchor with its own disturbed positives.
        disturbed_logit = torch.einsum("bd,krbd->bkr", anchor, disturbed) / temperature
        log_weight = torch.log(alpha[1:] * (n_rows - 1) / n_derangements)
        disturbed_logit = disturbed_logit + log_weight.view(1, -1, 1)
        if disturbed_mask is not None:
            disturbed_logit = disturbed_logit.masked_fill(
                ~disturbed_mask.permute(2, 0, 1), float("-inf")
            )
        terms.append(disturbed_logit.reshape(n_anchors, -1))
    # log(0) = -inf drops a zero-weight block exactly; logsumexp's gradient there is 0.
    return torch.logsumexp(torch.cat(terms, dim=1), dim=1) - positive_logit



def reconstruction_loss(reconstructed, target, block_widths, *, present=None, scale=None):
    r"""Mean squared reconstruction error of each modality, averaged over the modalities.

    For modality :math:`k` of width :math:`d_k`, measured in units of :math:`s_k`, over
    the :math:`n_k` rows that hold it::

        loss_k = sum_i ||(x^k_i - \hat x^k_i) / s_k||^2 / (n_k d_k)

    and the loss is the mean of ``loss_k`` over the modalities that some row holds. Every
    modality counts the same, however many columns it has, so the reconstruction cannot
    trade a narrow modality for a wide one. With ``s_k = 1`` the error is on the blocks'
    own scale, that of the preprocessing (standardised columns, one-hot codes, ...).

    Parameters
    ----------
    reconstructed : Tensor of shape (B, D)
        The reconstruction of ``target``.
    target : Tensor of shape (B, D)
        The modality blocks, side by side.
    block_widths : sequence of int
        Width of each modality's block, in order; they sum to ``D``.
    present : bool Tensor of shape (B, K), default=None
        Which rows hold each modality. ``None`` means all.
    scale : Tensor or sequence of shape (K,), default=None
        The positive unit in which each modality's errors are measured, for blocks on a
        larger scale than standardised columns. ``None`` means 1.

    Returns
    -------
    loss : Tensor
        A scalar, 0 where no row holds any modality.

    Examples
    --------
    >>> import torch
    >>> from sktnce import reconstruction_loss
    >>> x = torch.zeros(4, 3)
    >>> float(reconstruction_loss(x, x, [1, 2]))
    0.0
    >>> guess = torch.tensor([[1.0, 0.0, 0.0]]).expand(4, 3)
    >>> float(reconstruction_loss(guess, x, [1, 2]))  # modality 0 off by 1, modality 1 exact
    0.5
    """
    widths = [int(w) for w in block_widths]
    if reconstructed.shape != target.shape or target.ndim != 2:
        raise ValueError(
            f"reconstructed and target must both have shape (B, D); got "
            f"{tuple(reconstructed.shape)} and {tuple(target.shape)}."
        )
    if any(w < 1 for w in widths) or sum(widths) != target.shape[1]:
        raise ValueError(
            f"block_widths must be positive and sum to {target.shape[1]}; got {widths}."
        )
    if present is not None and present.shape != (target.shape[0], len(widths)):
        raise ValueError(
            f"present must have shape {(target.shape[0], len(widths))}; got "
            f"{tuple(present.shape)}."
        )
    if scale is not None:
        scale = torch.as_tensor(scale, dtype=target.dtype, device=target.device)
        if scale.shape != (len(widths),) or not bool((scale > 0).all()):
            raise ValueError(
                f"scale must hold {len(widths)} positive numbers; got {scale.tolist()}."
            )
    return _unchecked_reconstruction_loss(reconstructed, target, widths, present, scale)


def _unchecked_reconstruction_loss(reconstructed, target, block_widths, present, scale=None):
    """:func:`reconstruction_loss` from checked inputs, free of data-dependent control
    flow (for :func:`torch.func.vmap` over a leading dimension of reconstructions)."""
    widths = torch.as_tensor(block_widths, dtype=target.dtype, device=target.device)
    # (D, K): which modality each column belongs to.
    membership = torch.repeat_interleave(
        torch.eye(len(block_widths), dtype=target.dtype, device=target.device),
        torch.as_tensor(block_widths, device=target.device), dim=0,
    )
    difference = reconstructed - target
    if scale is not None:
        # Divided before squaring: a block on the scale of 1e30 must not overflow float32.
        difference = difference / (membership @ scale)
    squared = difference ** 2 @ membership  # (B, K): each block's error
    if present is None:
        n_present = target.new_full((len(block_widths),), target.shape[0])
    else:
        weight = present.to(target.dtype)
        squared = squared * weight
        n_present = weight.sum(dim=0)
    per_modality = squared.sum(dim=0) / (n_present.clamp(min=1) * widths)
    held = n_present > 0
    return (per_modality * held).sum() / held.sum().clamp(min=1)


def supervised_contrastive_loss(features, labels, temperature, *, reduction="mean"):
    r"""Supervised contrastive loss (Khosla et al., 2020, :math:`L^{sup}_{out}`) over
    the rows that have a label.

    For an anchor :math:`i` with a label and the set :math:`P(i)` of the other rows with
    its label, with logits :math:`s_{ij} = f_i \cdot f_j / \tau`::

        loss_i = -mean_{p in P(i)} (s_ip - logsumexp_{j != i} s_ij)

    Every other row, labelled or not, is in the denominator. Anchors without a label or
    without a positive contribute nothing; the mean is over those that do (0 if none).
    Stack two views of a batch, labels repeated, to make each row's other view a positive.

    Parameters
    ----------
    features : Tensor of shape (N, D)
        L2-normalised by the caller when cosine similarity is wanted.
    labels : int Tensor of shape (N,)
        Class codes ``0 .. C-1``; -1 marks a row without a label.
    temperature : float
        Softmax temperature :math:`\tau > 0`.
    reduction : {"mean", "none"}, default="mean"
        ``"none"`` returns each anchor's loss (0 for an anchor without a positive).

    Returns
    -------
    loss : Tensor
        A scalar, or shape ``(N,)`` with ``reduction="none"``.

    Examples
    --------
    >>> import torch
    >>> from sktnce import supervised_contrastive_loss
    >>> f = torch.nn.functional.normalize(torch.tensor([[1.0, 0.1], [1.0, -0.1], [-1.0, 0.0]]))
    >>> loss = supervised_contrastive_loss(f, torch.tensor([0, 0, -1]), temperature=0.5)
    >>> round(float(loss), 4)
    0.0191
    """
    if features.ndim != 2 or labels.shape != features.shape[:1]:
        raise ValueError(
            f"features must have shape (N, D) and labels shape (N,); got "
            f"{tuple(features.shape)} and {tuple(labels.shape)}."
        )
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0; got {temperature}.")
    if reduction not in ("mean", "none"):
        raise ValueError(f"reduction must be 'mean' or 'none'; got {reduction!r}.")
    per_anchor, has_positive = _unchecked_supervised_contrastive(features, labels, temperature)
    if reduction == "none":
        return per_anchor
    return per_anchor.sum() / has_positive.sum().clamp(min=1)


def _unchecked_supervised_contrastive(features, labels, temperature):
    """Each anchor's supervised contrastive loss (0 without a positive), and which anchors
    have one; no data-dependent control flow (:func:`torch.func.vmap`)."""
    n_rows = features.shape[0]
    logits = features @ features.T / temperature
    itself = torch.eye(n_rows, dtype=torch.bool, device=features.device)
    log_prob = logits - torch.logsumexp(logits.masked_fill(itself, float("-inf")), dim=1,
                                        keepdim=True)
    labelled = labels != UNLABELLED
    positive = (labels.unsqueeze(0) == labels.unsqueeze(1)) & labelled.unsqueeze(1) & ~itself
    n_positive = positive.sum(dim=1)
    # masked_fill, not a product: the diagonal's log_prob is finite, the zero weight exact.
    summed = log_prob.masked_fill(~positive, 0.0).sum(dim=1)
    per_anchor = -summed / n_positive.clamp(min=1)
    return per_anchor, n_positive > 0


def labelled_cross_entropy(logits, labels):
    """Mean cross-entropy of ``logits`` (N, C) over the rows whose label (N,) is not -1;
    0 when no row has one.

    Examples
    --------
    >>> import torch
    >>> from sktnce import labelled_cross_entropy
    >>> logits = torch.tensor([[0.0, 0.0], [5.0, -5.0]])
    >>> round(float(labelled_cross_entropy(logits, torch.tensor([1, -1]))), 4)
    0.6931
    """
    if logits.ndim != 2 or labels.shape != logits.shape[:1]:
        raise ValueError(
            f"logits must have shape (N, C) and labels shape (N,); got "
            f"{tuple(logits.shape)} and {tuple(labels.shape)}."
        )
    losses, labelled = _unchecked_cross_entropy(logits, labels)
    return losses.sum() / labelled.sum().clamp(min=1)


def _unchecked_cross_entropy(logits, labels):
    """Each row's cross-entropy, 0 for a row without a label; and which rows have one."""
    labelled = labels != UNLABELLED
    losses = F.cross_entropy(logits, labels.clamp(min=0), reduction="none")
    return losses.masked_fill(~labelled, 0.0), labelled


def labelled_squared_error(predictions, targets):
    """Mean squared error of ``predictions`` (N,) or (N, 1) over the rows whose target (N,)
    is not NaN; 0 when no row has one.

    Examples
    --------
    >>> import torch
    >>> from sktnce import labelled_squared_error
    >>> predictions = torch.tensor([1.0, 5.0, 2.0])
    >>> float(labelled_squared_error(predictions, torch.tensor([0.0, float("nan"), 4.0])))
    2.5
    """
    if predictions.ndim == 2 and predictions.shape[1] == 1:
        predictions = predictions[:, 0]
    if predictions.ndim != 1 or targets.shape != predictions.shape:
        raise ValueError(
            f"predictions must have shape (N,) or (N, 1) and targets shape (N,); got "
            f"{tuple(predictions.shape)} and {tuple(targets.shape)}."
        )
    losses, labelled = _unchecked_squared_error(predictions, targets)
    return losses.sum() / labelled.sum().clamp(min=1)


def _unchecked_squared_error(predictions, targets):
    """Each row's squared error, 0 for a row whose target is NaN; and which rows have one.
    The NaN are replaced before the difference: masking a NaN error afterwards would still
    send NaN gradients back (0 times NaN)."""
    labelled = ~torch.isnan(targets)
    errors = predictions.reshape(targets.shape) - torch.nan_to_num(targets, nan=0.0)
    return (errors ** 2).masked_fill(~labelled, 0.0), labelled


class SupervisionTerm(NamedTuple):
    """The supervised term of a target-aware fit: which loss, and its weight."""

    #: ``"cross_entropy"`` (a linear head on r to the class logits), ``"squared_error"``
    #: (a linear head on r to the standardised target) or ``"supcon"`` (on the projections
    #: z).
    kind: str
    weight: float


class ReconstructionTerm(NamedTuple):
    """The reconstruction term of a fit: its weight and the units of its modalities."""

    weight: float
    block_widths: list
    #: Each modality's unit (:func:`reconstruction_loss`'s ``scale``), or None for 1.
    block_scales: Optional[torch.Tensor] = None


def training_loss(outputs, alpha, temperature, reconstruction=None, supervision=None):
    """The training objective of one batch, from the training module's outputs.

    The symmetric TupleInfoNCE loss (each view the anchor of the other, averaged), plus
    ``reconstruction.weight`` times the views' mean :func:`reconstruction_loss` when a
    :class:`ReconstructionTerm` is given, plus ``supervision.weight`` times the supervised
    term when a :class:`SupervisionTerm` is given: each labelled row's
    :func:`labelled_cross_entropy` or :func:`labelled_squared_error` (each view's,
    averaged), or its
    :func:`supervised_contrastive_loss` over both views' z stacked, summed and divided by
    the number of rows in the batch, labelled or not. So a labelled row's term weighs
    against its own contrastive loss, and the term grows with the share of labelled rows:
    with 1% of them it barely moves the encoder (which could only memorise them), with
    all of them it is the cross-entropy itself. Inputs are the module's own, so nothing is
    checked (no device sync per batch), and there is no data-dependent control flow:
    :func:`torch.func.vmap` maps it over a leading dimension of candidate models.

    Parameters
    ----------
    outputs : TrainingOutputs
        ``z1, z2, disturbed1, disturbed2, mask1, mask2``, and the reconstruction's fields
        when ``reconstruction`` is given. Where ``candidates1`` and ``candidates2`` are
        given (data-parallel training), they are the positives of ``z2`` and ``z1``, whose
        own begin at row ``first_row``: the loss is then this process's share, the mean
        over its anchors.
    alpha : Tensor of shape (K' + 1,)
        Mixture weights, ordinary first; normalised here.
    temperature : float
    reconstruction : ReconstructionTerm, default=None
    supervision : SupervisionTerm, default=None
        Needs ``outputs.labels`` (and ``logits1``, ``logits2`` for a head's loss).

    Returns
    -------
    loss : Tensor
        A scalar.
    """
    alpha = alpha / alpha.sum()
    # In data-parallel training the positives are every process's rows (gathered).
    positives1 = outputs.z1 if outputs.candidates1 is None else outputs.candidates1
    positives2 = outputs.z2 if outputs.candidates2 is None else outputs.candidates2
    loss = 0.5 * (
        _unchecked_loss(outputs.z1, positives2, outputs.disturbed2, alpha, temperature,
                        outputs.mask2, outputs.first_row).mean()
        + _unchecked_loss(outputs.z2, positives1, outputs.disturbed1, alpha, temperature,
                          outputs.mask1, outputs.first_row).mean()
    )
    if reconstruction is not None:
        widths, scales = reconstruction.block_widths, reconstruction.block_scales
        loss = loss + reconstruction.weight * 0.5 * (
            _unchecked_reconstruction_loss(outputs.reconstructed1, outputs.target, widths,
                                           outputs.present, scales)
            + _unchecked_reconstruction_loss(outputs.reconstructed2, outputs.target, widths,
                                             outputs.present, scales)
        )
    if supervision is not None:
        loss = loss + supervision.weight * _supervised_term(outputs, supervision.kind,
                                                            temperature)
    return loss


#: The supervised terms of a head on r: each row's loss, 0 where the row has no label.
HEAD_LOSSES = {"cross_entropy": _unchecked_cross_entropy,
                "squared_error": _unchecked_squared_error}


def _supervised_term(outputs, kind, temperature):
    labels = outputs.labels
    if kind in HEAD_LOSSES:
        losses1, _ = HEAD_LOSSES[kind](outputs.logits1, labels)
        losses2, _ = HEAD_LOSSES[kind](outputs.logits2, labels)
        return 0.5 * (losses1 + losses2).sum() / labels.numel()
    per_anchor, _ = _unchecked_supervised_contrastive(
        torch.cat([outputs.z1, outputs.z2]), torch.cat([labels, labels]), temperature)
    return per_anchor.sum() / per_anchor.numel()
