"""Augmentations and random recombinations, each driven by an explicit torch Generator."""

import torch

__all__ = [
    "apply_corruption",
    "corrupt",
    "draw_corruption",
    "partial_views",
    "random_derangement",
]


def corrupt(x, rate, *, noise=0.0, generator=None):
    """SCARF corruption: replace each feature, with probability ``rate``, by another row's.

    The replacement of feature ``j`` of row ``i`` is feature ``j`` of a uniformly drawn
    row other than ``i``: a draw from that feature's empirical marginal in the batch.

    Parameters
    ----------
    x : Tensor of shape (B, d)
    rate : float in [0, 1)
    noise : float, default=0.0
        Standard deviation of Gaussian noise added after the corruption.
    generator : torch.Generator, optional

    Returns
    -------
    Tensor of shape (B, d), a new tensor; ``x`` is not modified.
    """
    draws = draw_corruption(x, corrupted=rate > 0, noise=noise, generator=generator)
    return apply_corruption(x, draws, rate, noise=noise)


def draw_corruption(x, *, corrupted, noise=0.0, generator=None):
    """The random draws of :func:`corrupt` on ``x``, apart from the rate they are used at.

    Returns ``(uniform, donor, gaussian)``, each of the shape of ``x`` or None where not
    drawn: ``uniform`` and ``donor`` (the donor row's values) when ``corrupted``,
    ``gaussian`` when ``noise > 0``. Models trained side by side with different rates
    share one draw, which :func:`apply_corruption` thresholds at each rate.
    """
    n_rows = x.shape[0]
    uniform = donor = gaussian = None
    if corrupted and n_rows > 1:
        uniform = torch.rand(x.shape, generator=generator, device=x.device)
        # A shift in [1, B-1] never lands on the row itself.
        shift = torch.randint(1, n_rows, x.shape, generator=generator, device=x.device)
        rows = torch.arange(n_rows, device=x.device).unsqueeze(1)
        donor = torch.gather(x, 0, (rows + shift) % n_rows)
    if noise > 0:
        gaussian = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return uniform, donor, gaussian


def apply_corruption(x, draws, rate, *, noise=0.0):
    """``x`` corrupted at ``rate`` with the draws of :func:`draw_corruption`.

    ``rate`` is a float, or a tensor of shape (C, 1, 1) of C models' rates: the result is
    then (C, B, d), each slice what :func:`corrupt` would give with that rate.
    """
    uniform, donor, gaussian = draws
    out = x
    if uniform is not None:
        out = torch.where(uniform < rate, donor, x)
    if gaussian is not None:
        out = out + noise * gaussian
    return out


def random_derangement(n, *, generator=None, device=None):
    """A random permutation of ``range(n)`` with no fixed point (``n >= 2``).

    Built as ``sigma^-1 o shift o sigma`` for a uniform permutation ``sigma`` and a
    uniform shift in ``[1, n - 1]``: every ``i`` maps to a uniformly drawn ``j != i``,
    in one pass with no rejection loop (the authors' plain permutation would give a
    row itself as its "negative" once in ``n``).
    """
    if n < 2:
        raise ValueError(f"A derangement needs n >= 2; got {n}.")
    sigma = torch.randperm(n, generator=generator, device=device)
    shift = torch.randint(1, n, (1,), generator=generator, device=device)
    positions = torch.arange(n, device=device)
    derangement = torch.empty_like(sigma)
    derangement[sigma] = sigma[(positions + shift) % n]
    return derangement


def partial_views(missing, k):
    """Absent masks of the two partial views of modality ``k``: ``k`` alone, and all but ``k``.

    ``missing`` (B, K) marks the modalities a row lacks; each mask also keeps those absent.
    These are the views of the cross-modal task: the query holds modality k alone, the key
    every other modality of the row.
    """
    alone = torch.ones_like(missing)
    alone[:, k] = False
    without = missing.clone()
    without[:, k] = True
    return missing | alone, without
