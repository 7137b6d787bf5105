"""Cross-modal discrimination: the evaluation, the search's reward and ``score``."""

import numpy as np
import torch

from ._augment import corrupt

__all__ = ["cross_modal_discrimination"]


def _chunks(order, chunk_size):
    """Split ``order`` into ``max(1, n // chunk_size)`` near-equal chunks.

    Every chunk holds at least ``chunk_size`` rows (when there are that many), so top-1
    among a chunk's candidates is no easier for a data set's last few rows.
    """
    n_chunks = max(1, len(order) // chunk_size)
    return np.array_split(order, n_chunks)


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
        Corruption rate of each modality, applied to the queries.
    chunk_size : int
        Candidate-set size M.
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
    hits = np.zeros(n_modalities)
    log_prob = np.zeros(n_modalities)
    counted = np.zeros(n_modalities)
    for chunk in _chunks(order, chunk_size):
        index = torch.as_tensor(chunk, device=device)
        xc, mc = x[index], missing[index]
        blocks = encoder.blocks(xc)
        augmented = [corrupt(b, rate, generator=generator) for b, rate in zip(blocks, corruption)]
        for k in range(n_modalities):
            if n_modalities == 1:
                query_absent = key_absent = mc
            else:
                only_k = torch.ones_like(mc)
                only_k[:, k] = False
                query_absent = mc | only_k
                key_absent = mc.clone()
                key_absent[:, k] = True
            queries = encoder.project(encoder.fuse(encoder.embed(augmented, query_absent)))
            keys = encoder.project(encoder.fuse(encoder.embed(blocks, key_absent)))
            logits = queries @ keys.T / temperature
            valid = ~mc[:, k]
            rows = torch.arange(len(chunk), device=device)
            correct = logits.argmax(dim=1) == rows
            log_softmax = torch.log_softmax(logits, dim=1)[rows, rows]
            hits[k] += correct[valid].sum().item()
            log_prob[k] += log_softmax[valid].sum().item()
            counted[k] += valid.sum().item()
    with np.errstate(invalid="ignore", divide="ignore"):
        return hits / counted, log_prob / counted
