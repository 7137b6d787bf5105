"""Cross-modal discrimination: the evaluation, the search's reward and ``score``."""

import warnings
from typing import NamedTuple

import numpy as np
import torch

from ._augment import corrupt, partial_views
from ._modalities import encode_input
from ._training import CHUNK_ROWS

__all__ = ["CrossModalScoringMixin", "CrossModalScores", "cross_modal_discrimination",
           "score_cross_modal"]


def _candidate_sets(order, chunk_size, generator):
    """Candidate sets of exactly ``chunk_size`` rows each, as ``(rows, n_queries)`` pairs.

    ``order`` (a shuffled ``range(n)``) is cut into ``n // chunk_size`` sets; the ``r``
    rows left over form one more set, filled up to ``chunk_size`` with rows drawn from the
    others. Only its first ``r`` rows are queries, so every row is queried once and top-1
    is always among exactly ``chunk_size`` candidates. With fewer rows than ``chunk_size``
    there is one set of all rows; the caller warns.
    """
    n_rows = len(order)
    if n_rows <= chunk_size:
        return [(order, n_rows)]
    n_full = n_rows // chunk_size
    sets = [(order[i * chunk_size:(i + 1) * chunk_size], chunk_size) for i in range(n_full)]
    leftover = order[n_full * chunk_size:]
    if len(leftover):
        others = order[:n_full * chunk_size]
        pick = torch.randperm(len(others), generator=generator)[:chunk_size - len(leftover)]
        sets.append((np.concatenate([leftover, others[pick.numpy()]]), len(leftover)))
    return sets


@torch.no_grad()
def cross_modal_discrimination(encoder, x, missing, *, corruption, chunk_size, temperature,
                               generator):
    """Per-modality top-1 retrieval accuracy A^k and mean log-probability of the right match.

    For modality k, on each chunk of rows: the query of row n is g(augmented v^k_n with
    every other modality absent); the key of row l is g(every modality of l but k, with k
    absent); g is the L2-normalised projection the loss was trained on. With one modality,
    the query is an augmented view of the row and the key its clean self.

    Rows whose modality k is missing are not queries for k (they stay candidates).

    Parameters
    ----------
    encoder : TupleEncoder
    x : Tensor of shape (n, D)
        Preprocessed features.
    missing : bool Tensor of shape (n, K)
        Rows where a modality is wholly missing.
    corruption : sequence of float
        Corruption rate of each modality, applied to the queries: the evaluation's own
        augmentation, the same whatever the model was trained with.
    chunk_size : int
        Candidate-set size M: every query is ranked among exactly M rows (all rows, when
        there are fewer).
    temperature : float
        Temperature of the softmax behind the log-probabilities.
    generator : torch.Generator
        On ``x``'s device; drives the chunking and the query augmentation.

    Returns
    -------
    accuracy, log_prob : ndarray of shape (K,)
        NaN for a modality that no row can query.
    """
    n_rows, n_modalities = missing.shape
    device = x.device
    order = torch.randperm(n_rows, generator=generator, device=device).cpu().numpy()
    # The filler rows of a last, short set are drawn on the host.
    host_seed = int(torch.randint(2**62, (1,), generator=generator, device=device))
    host_generator = torch.Generator().manual_seed(host_seed)
    sets = _candidate_sets(order, chunk_size, host_generator)
    size = len(sets[0][0])
    hits = np.zeros(n_modalities)
    log_prob = np.zeros(n_modalities)
    counted = np.zeros(n_modalities)
    # Candidate sets in groups, each group's rows through the encoder at once: a few large
    # passes instead of two small ones per set and modality.
    per_group = max(1, CHUNK_ROWS // size)
    for first in range(0, len(sets), per_group):
        group = sets[first:first + per_group]
        index = torch.as_tensor(np.concatenate([rows for rows, _ in group]), device=device)
        xg, mg = x[index], missing[index]
        blocks = encoder.blocks(xg)
        # Drawn set by set, block by block: the draws do not depend on the grouping.
        augmented = [torch.cat(parts) for parts in zip(*[
            [corrupt(block[j * size:(j + 1) * size], rate, generator=generator)
             for block, rate in zip(blocks, corruption)]
            for j in range(len(group))])]
        n_queries = torch.as_tensor([n for _, n in group], device=device)
        is_query = torch.arange(size, device=device) < n_queries[:, None]  # (G, M)
        diagonal = torch.arange(size, device=device)
        for k in range(n_modalities):
            if n_modalities == 1:
                query_absent = key_absent = mg
            else:
                query_absent, key_absent = partial_views(mg, k)
            queries = encoder.project(encoder.fuse(encoder.embed(augmented, query_absent)))
            keys = encoder.project(encoder.fuse(encoder.embed(blocks, key_absent)))
            queries, keys = queries.view(len(group), size, -1), keys.view(len(group), size, -1)
            logits = queries @ keys.transpose(1, 2) / temperature  # (G, M, M)
            valid = ~mg[:, k].view(len(group), size) & is_query
            correct = logits.argmax(dim=2) == diagonal
            right = torch.log_softmax(logits, dim=2)[:, diagonal, diagonal]
            totals = torch.stack([correct[valid].sum(), right[valid].sum(), valid.sum()])
            group_hits, group_log_prob, group_counted = totals.double().tolist()
            hits[k] += group_hits
            log_prob[k] += group_log_prob
            counted[k] += group_counted
    with np.errstate(invalid="ignore", divide="ignore"):
        return hits / counted, log_prob / counted


class CrossModalScores(NamedTuple):
    """Per-modality results of :func:`cross_modal_discrimination`, shape (K,) each."""

    accuracy: np.ndarray
    log_prob: np.ndarray


def score_cross_modal(estimator, encoded, *, seed):
    """:func:`cross_modal_discrimination` of a fitted fusion on an encoded table, with the
    estimator's own evaluation parameters and the candidate sets and query augmentations
    drawn from ``seed``."""
    generator = torch.Generator(device=encoded.features.device).manual_seed(seed)
    accuracy, log_prob = cross_modal_discrimination(
        estimator.net_.module_.encoder,
        encoded.features,
        encoded.missing,
        corruption=[estimator.score_corruption] * len(estimator.output_indices_),
        chunk_size=estimator.score_chunk_size,
        temperature=estimator.temperature,
        generator=generator,
    )
    return CrossModalScores(accuracy, log_prob)


class CrossModalScoringMixin:
    """:meth:`cross_modal_accuracy` and :meth:`score` of a fusion, read through its state
    hook ``_get_state`` (:class:`~sktnce._fusion.FusionState`)."""

    def _cross_modal_scores(self, X):
        state = self._get_state()  # checks that the estimator is fitted
        encoded = encode_input(self, state.preprocessing, X,
                               state.training.net.module_.encoder.absent.device)
        n_rows = len(encoded.features)
        if n_rows < 2:
            raise ValueError("Cross-modal discrimination needs at least 2 rows.")
        if n_rows < self.score_chunk_size:
            warnings.warn(
                f"Cross-modal discrimination on {n_rows} rows, fewer than score_chunk_size="
                f"{self.score_chunk_size}: rows are ranked among {n_rows} candidates (chance "
                f"1/{n_rows}), a score that does not compare with scores on more rows.",
                UserWarning, stacklevel=3,
            )
        return score_cross_modal(self, encoded, seed=state.training.eval_seed)

    def cross_modal_accuracy(self, X):
        """Each modality's cross-modal discrimination accuracy A^k on ``X``.

        For modality k, the share of rows whose modality k alone, corrupted at
        ``score_corruption``, retrieves the rest of its own row (all modalities but k)
        among ``score_chunk_size`` candidates. A modality the encoder ignores scores near
        chance, ``1 / score_chunk_size``. With one modality it is instance discrimination:
        an augmented view of a row retrieves the clean row.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Held-out rows, at least 2.

        Returns
        -------
        accuracy : dict of str to float
            A^k by modality name, in [0, 1]; NaN where no row has the modality.
        """
        return dict(zip(self.output_indices_, self._cross_modal_scores(X).accuracy.tolist()))

    def score(self, X, y=None):
        """Mean cross-modal discrimination accuracy over modalities, in [0, 1].

        The paper's reward (the sum of the A^k) divided by K, so that it does not grow
        with the number of modalities; :class:`~sklearn.model_selection.GridSearchCV`
        without ``y`` selects by it.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        score : float
        """
        return float(np.nanmean(self._cross_modal_scores(X).accuracy))
