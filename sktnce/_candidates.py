"""One round's candidates of the search: trained from where the round starts, then scored.

A candidate is a copy of the fusion a round starts from whose parameters are its setting,
trained a round's epochs more on the round's rows. Candidates train one by one
(:func:`fit_and_score_candidate`, a joblib task) or stacked into one model
(:func:`train_stacked_candidates`); either way a result is a dict with named keys, as
scikit-learn's ``_fit_and_score`` returns. A candidate is scored from rows the search
encoded once, never through the modalities' transformers again.
"""

import time
from contextlib import contextmanager
from typing import NamedTuple, Optional

import numpy as np
import torch
from sklearn.base import clone

from ._batched import train_stacked
from ._discrimination import score_cross_modal
from ._modalities import EncodedTable
from ._reward import labelled_probe_score, rankme
from ._setting import FitSeeds
from ._training import TrainingConfig, represent, train

__all__ = ["CandidateRound", "ScoringData", "continue_training", "fit_and_score_candidate",
           "score_candidate", "train_stacked_candidates"]

#: torch threads of every candidate's training, whatever n_jobs is: float results can
#: depend on the thread count, and the search's result must not depend on n_jobs.
_CANDIDATE_THREADS = 1


@contextmanager
def candidate_threads():
    """Run the block on ``_CANDIDATE_THREADS`` torch threads, then restore the count."""
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(_CANDIDATE_THREADS)
    try:
        yield
    finally:
        torch.set_num_threads(previous_threads)


class CandidateRound(NamedTuple):
    """What a round's candidates share: the table, the training rows, the seeds."""

    encoded: EncodedTable
    #: Rows of ``encoded`` to train on; None: all of them.
    train_rows: Optional[np.ndarray]
    epochs: int
    #: The candidates' ``random_state``: the same batches and draws for all of them.
    random_state: int
    #: A target-aware estimator's labels (:class:`~sktnce._labels.Labels`), or None.
    labels: Optional[object] = None


class ScoringData(NamedTuple):
    """What a candidate is scored on: the validation rows and the few-label reward's
    labelled rows, both encoded by the search's fitted preprocessing."""

    validation: EncodedTable
    #: Whether a representation holds each modality's embedding after r (the
    #: estimator's ``output="fused_and_modalities"``), as its ``transform`` would.
    with_embeddings: bool
    reward_seed: int
    #: ``(encoded labelled rows, their labels)``, or None without the few-label reward.
    labelled: Optional[tuple] = None
    scoring: object = None


def _warm_copy(start, setting, round_):
    """An unfitted copy of ``start`` whose parameters are the candidate's (its setting, the
    round's epochs and random_state), with the columns ``start`` was fitted on.

    Its fitted state comes from :meth:`~sktnce.TupleInfoNCEFusion._set_state`: the fitted
    preprocessing is shared with ``start`` (no fit changes it again), the net is new.
    """
    candidate = clone(start)
    for name in ("n_features_in_", "feature_names_in_"):
        if hasattr(start, name):
            setattr(candidate, name, getattr(start, name))
    return candidate.set_params(
        alpha=setting.alpha.tolist(), corruption=dict(setting.corruption),
        max_epochs=round_.epochs, random_state=round_.random_state, warm_start=True,
        verbose=0,
    )


def _train_candidate(start, setting, round_):
    """One candidate trained from ``start``'s weights and Adam state, on one torch thread."""
    with candidate_threads():
        return continue_training(start, setting, round_)


def continue_training(start, setting, round_):
    """A copy of ``start`` trained ``round_.epochs`` more epochs on ``round_.train_rows``
    with ``setting``, from its weights and Adam state, on this process's torch threads (as
    a fit): a search's lineage, or one candidate."""
    state = start._get_state()
    candidate = _warm_copy(start, setting, round_)
    training = train(
        TrainingConfig.from_estimator(candidate), round_.encoded, setting,
        FitSeeds.draw(round_.random_state), widths=state.preprocessing.widths,
        start=state.training, rows=round_.train_rows, on_interrupt="raise",
        labels=round_.labels,
    )
    return candidate._set_state(state._replace(setting=setting, training=training))


def train_stacked_candidates(start, settings, round_):
    """Every setting's candidate, trained from ``start`` as one stacked model, on torch's
    threads in this process; equal to :func:`_train_candidate` up to float rounding."""
    state = start._get_state()
    candidates = [_warm_copy(start, setting, round_) for setting in settings]
    trained = train_stacked(
        TrainingConfig.from_estimator(candidates[0]), state.training, settings,
        FitSeeds.draw(round_.random_state), round_.encoded,
        widths=state.preprocessing.widths, epochs=round_.epochs, rows=round_.train_rows,
    )
    return [candidate._set_state(state._replace(setting=setting, training=training))
            for candidate, setting, training in zip(candidates, settings, trained)]


def score_candidate(candidate, data):
    """Every reward of a trained candidate, as a dict (the candidate as "estimator"), from
    its representation of ``data``'s encoded rows (what its ``transform`` would return).

    Runs with one torch thread, in a joblib worker or in the caller's process: its result
    depends only on its arguments.
    """
    started = time.perf_counter()
    encoder = candidate.net_.module_.encoder
    with candidate_threads():
        embedding = represent(encoder, data.validation, with_embeddings=data.with_embeddings)
        if not np.isfinite(embedding).all():
            raise FloatingPointError(
                "A candidate's representation of the validation rows is not finite: its "
                "training diverged. Try a lower lr or a higher temperature.")
        scores = score_cross_modal(candidate, data.validation, seed=data.reward_seed)
        result = {
            "estimator": candidate,
            "accuracy": scores.accuracy,
            "log_prob": scores.log_prob,
            "rankme": rankme(embedding),
            "probe": np.nan,
        }
        if data.labelled is not None:
            labelled, y_labelled = data.labelled
            result["probe"] = labelled_probe_score(
                represent(encoder, labelled, with_embeddings=data.with_embeddings),
                y_labelled, scoring=data.scoring, random_state=data.reward_seed)
    result["score_time"] = time.perf_counter() - started
    return result


def fit_and_score_candidate(start, setting, round_, data):
    """Train one candidate from ``start`` and score it: one joblib task."""
    started = time.perf_counter()
    candidate = _train_candidate(start, setting, round_)
    fit_time = time.perf_counter() - started
    return {**score_candidate(candidate, data), "fit_time": fit_time}
