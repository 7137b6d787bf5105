"""Cross-modal discrimination: the evaluation, the search's reward and ``score``."""

import numpy as np
import torch

from ._augment import corrupt, partial_views

__all__ = ["cross_modal_discrimination"]


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
    hits = np.zeros(n_modalities)
    log_prob = np.zeros(n_modalities)
    counted = np.zeros(n_modalities)
    for chunk, n_queries in _candidate_sets(order, chunk_size, host_generator):
        index = torch.as_tensor(chunk, device=device)
        xc, mc = x[index], missing[index]
        blocks = encoder.blocks(xc)
        augmented = [corrupt(b, rate, generator=generator) for b, rate in zip(blocks, corruption)]
        for k in range(n_modalities):
            if n_modalities == 1:
                query_absent = key_absent = mc
            else:
                query_absent, key_absent = partial_views(mc, k)
            queries = encoder.project(encoder.fuse(encoder.embed(augmented, query_absent)))
            keys = encoder.project(encoder.fuse(encoder.embed(blocks, key_absent)))
            logits = queries @ keys.T / temperature
            valid = ~mc[:, k]
            valid[n_queries:] = False
            rows = torch.arange(len(chunk), device=device)
            correct = logits.argmax(dim=1) == rows
            log_softmax = torch.log_softmax(logits, dim=1)[rows, rows]
            hits[k] += correct[valid].sum().item()
            log_prob[k] += log_softmax[valid].sum().item()
            counted[k] += valid.sum().item()
    with np.errstate(invalid="ignore", divide="ignore"):
        return hits / counted, log_prob / counted
