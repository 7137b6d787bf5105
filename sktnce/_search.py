"""TupleInfoNCESearch: learning alpha and beta by the paper's bilevel REINFORCE search.

The meta-estimator: parameter checks, a short ``fit``, the round loop, and the search's two
designs (the lineage, and the paper's rounds), each of which only trains a round's
candidates and advances. The policy lives in :mod:`sktnce._policy`, one candidate's
training and scoring in :mod:`sktnce._candidates`, and the results table in
:mod:`sktnce._search_results`.
"""

import math
import time
from numbers import Integral, Real
from typing import NamedTuple, Optional

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import (
    BaseEstimator,
    MetaEstimatorMixin,
    TransformerMixin,
    _fit_context,
    clone,
)
from sklearn.utils import _safe_indexing, check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _num_samples, check_is_fitted

from ._batched import can_batch
from ._candidates import (
    CandidateRound,
    ScoringData,
    continue_training,
    fit_and_score_candidate,
    score_candidate,
    train_stacked_candidates,
)
from ._fusion import FusionState, TupleInfoNCEFusion, restore_on_failure
from ._labels import encode_labels, unlabelled_mask
from ._modalities import check_modalities, check_table, encode_input, fit_input
from ._policy import SEARCHABLE, GaussianPolicy, Parameterization
from ._reward import REWARDS, check_partial_labels
from ._search_results import SearchResults
from ._setting import FitSeeds, derive_seed, resolve_setting
from ._training import TrainingConfig, bins_reference, initial_state, train

__all__ = ["TupleInfoNCESearch"]

#: Purposes of the seeds derived from random_state.
_SPLIT, _WEIGHTS, _POLICY, _CANDIDATE, _REWARD, _REFIT, _BRANCH, _LINEAGE = range(8)


def _check_search(search, estimator):
    """The searched parameters, as a set; the estimator checked to be a fusion that can
    train in rounds."""
    if not isinstance(estimator, TupleInfoNCEFusion):
        raise TypeError(
            f"estimator must be a TupleInfoNCEFusion; got {type(estimator).__name__}."
        )
    if estimator.lr_schedule == "one_cycle":
        # Every round's training is a fit of its own, so each would run a cycle of its own.
        raise ValueError(
            "The search trains in rounds, and lr_schedule='one_cycle' anneals over one "
            "fit's epochs: each round would start a new cycle. Search with "
            "lr_schedule='constant'; to train with one cycle, fit "
            "clone(search.best_estimator_).set_params(lr_schedule='one_cycle') afterwards."
        )
    search = list(search)
    unknown = [name for name in search if name not in SEARCHABLE]
    if unknown:
        raise ValueError(f"search has unknown names {unknown}; choose among {list(SEARCHABLE)}.")
    if not search:
        raise ValueError(f"search is empty; give some of {list(SEARCHABLE)}.")
    if len(set(search)) != len(search):
        raise ValueError(f"search names a parameter twice: {search}.")
    return set(search)


class _Split(NamedTuple):
    """The search's rows. The reward reads ``validation``; the candidates train on
    ``train``, and so does the lineage in every round but its last, which trains on all
    rows once no reward is left to read them."""

    train: np.ndarray
    validation: np.ndarray


def _split(n_samples, validation_fraction, reward, chunk_size, seed):
    """The :class:`_Split` of the rows, each side sorted and large enough for its use."""
    n_validation = math.ceil(validation_fraction * n_samples)
    n_train = n_samples - n_validation
    if n_validation < 2 or n_train < 2:
        raise ValueError(
            f"validation_fraction={validation_fraction} splits {n_samples} rows into "
            f"{n_train} for training and {n_validation} for the reward; each side needs "
            "at least 2."
        )
    if reward.cross_modal and n_validation < chunk_size:
        raise ValueError(
            f"reward={reward.name!r} ranks each validation row among the estimator's "
            f"score_chunk_size={chunk_size} candidates, but validation_fraction="
            f"{validation_fraction} holds out {n_validation} of {n_samples} rows. "
            "Lower score_chunk_size or raise validation_fraction."
        )
    order = np.random.default_rng(seed).permutation(n_samples)
    return _Split(train=np.sort(order[n_validation:]), validation=np.sort(order[:n_validation]))


class _SearchLabels(NamedTuple):
    """A target-aware estimator's labels (:class:`~sktnce._labels.Labels`)."""

    #: Every row's: the refit's.
    all_rows: object
    #: The lineage's and the candidates': without the validation rows' where the reward
    #: reads labels, so that no label it reads trains the encoder it judges.
    training: object


def _search_labels(template, X, y, rows, reward, validation_fraction):
    """The :class:`_SearchLabels` of a target-aware ``template``; None without
    ``label_weight``."""
    config = TrainingConfig.from_estimator(template)
    if config.supervision is None:
        return None
    if config.label_loss == "squared_error":
        raise ValueError(
            "TupleInfoNCESearch searches a target-aware fusion on classes; this one's "
            "label_loss='squared_error' trains on a number, which the search's rewards do "
            "not score. Search with label_weight=0, then fit the target-aware fusion with "
            "the alpha and beta it learns.")
    labels = encode_labels(y, _num_samples(X), owner=type(template).__name__,
                           device=config.device)
    if not reward.reads_labels:
        return _SearchLabels(labels, labels)
    training = labels.hide(rows.validation)
    codes = training.codes.cpu().numpy()
    n_classes = len(np.unique(codes[codes >= 0]))
    if n_classes < 2:
        raise ValueError(
            f"reward={reward.name!r} reads the labels of the validation rows, so the "
            f"encoder trains on the other rows' labels alone (validation_fraction="
            f"{validation_fraction} hides the rest), and those hold {n_classes} class(es); "
            "the supervised term needs at least 2. Label rows of another class, or lower "
            "validation_fraction."
        )
    return _SearchLabels(labels, training)


def _probe_rows(reward, y, rows, target_aware):
    """The rows whose labels the ``"probe"`` reward reads (None for another reward): every
    labelled row, as the user's probe will; with a target-aware estimator, the labelled
    validation rows alone, whose labels it never trains on."""
    if not reward.reads_labels:
        return None
    labelled = np.flatnonzero(~unlabelled_mask(y))
    if target_aware:
        labelled = np.intersect1d(labelled, rows.validation)
        check_partial_labels(y[labelled], len(labelled), where=(
            " among the validation rows (with label_weight > 0, the only labels the "
            "encoder never trains on)"))
    return labelled


class _SearchInputs(NamedTuple):
    """What :meth:`TupleInfoNCESearch.fit` checked before any preprocessing or training."""

    template: TupleInfoNCEFusion
    specs: list
    setting: object
    searched: set
    base: int
    rows: _Split
    labels: Optional[_SearchLabels]
    probe_rows: Optional[np.ndarray]
    y: object


def _checked_inputs(search, X, y):
    """The :class:`_SearchInputs` of ``search.fit(X, y)``: every parameter, the split and
    the labels checked, nothing fitted."""
    reward = REWARDS[search.reward]
    searched = _check_search(search.search, search.estimator)
    template = clone(search.estimator)
    template._validate_params()
    if template.n_processes != 1:
        raise ValueError("TupleInfoNCESearch trains each candidate in one process (its "
                         "n_jobs and backend spread the candidates): set the estimator's "
                         f"n_processes=1 (got {template.n_processes!r}).")
    specs = check_modalities(template.modalities)
    setting = resolve_setting(template.alpha, template.corruption, [s[0] for s in specs])
    base = int(check_random_state(search.random_state).randint(np.iinfo(np.int32).max))
    rows = _split(_num_samples(X), search.validation_fraction, reward,
                  template.score_chunk_size, derive_seed(base, _SPLIT))
    if reward.reads_labels:
        y = check_partial_labels(y, _num_samples(X))
    labels = _search_labels(template, X, y, rows, reward, search.validation_fraction)
    probe_rows = _probe_rows(reward, y, rows, target_aware=labels is not None)
    return _SearchInputs(template, specs, setting, searched, base, rows, labels, probe_rows, y)


def _initialized(template, specs, X, setting, random_state, labels=None, *, train_rows=None):
    """``template`` with its modalities ``specs`` fitted on all rows of ``X`` and seeded,
    untrained weights (where the first round's candidates start; numeric embeddings' bins
    from the ``train_rows``, default all, never the validation rows), and ``X`` encoded."""
    start = template.set_params(verbose=0, random_state=random_state)
    config = TrainingConfig.from_estimator(start)
    preprocessing, encoded = fit_input(start, specs, X, config.device)
    n_classes, classes = (0, None) if labels is None else (labels.n_classes, labels.classes)
    training = initial_state(config, preprocessing.widths, setting,
                             FitSeeds.draw(random_state), n_classes,
                             bins_reference(config, encoded, train_rows))
    return start._set_state(FusionState(preprocessing, setting, training, classes)), encoded


def _scoring_data(start, X, inputs, scoring):
    """The :class:`~sktnce._candidates.ScoringData` of every round (its ``reward_seed``
    set per round): the validation rows and the probe's labelled rows, encoded once by
    ``start``'s fitted preprocessing."""
    preprocessing = start._get_state().preprocessing
    device = start.net_.module_.encoder.absent.device

    def encoded(rows):
        return encode_input(start, preprocessing, _safe_indexing(X, rows), device)

    labelled = None
    if inputs.probe_rows is not None:
        labelled = (encoded(inputs.probe_rows), inputs.y[inputs.probe_rows])
    return ScoringData(encoded(inputs.rows.validation),
                       with_embeddings=start.output == "fused_and_modalities",
                       reward_seed=None, labelled=labelled, scoring=scoring)


def _refitted(start, setting, encoded, params, labels):
    """``start`` with ``params`` (its refit's epochs and random_state) fitted anew on all
    rows of ``encoded`` with ``setting``: ``clone(estimator).set_params(...).fit(X)``, on
    the tensors already at hand."""
    refit = start.set_params(alpha=setting.alpha_by_name, corruption=dict(setting.corruption),
                             **params)
    state = refit._get_state()
    training = train(TrainingConfig.from_estimator(refit), encoded, setting,
                     FitSeeds.draw(refit.random_state), widths=state.preprocessing.widths,
                     labels=labels)
    return refit._set_state(state._replace(setting=setting, training=training))


def _best_estimator(search, design, start, learned, inputs):
    """``best_estimator_``: where the ``design`` ended, or the refit of the ``learned``
    setting from ``start``; its parameters set to what its weights trained (as many
    epochs as they did, with the setting of their last epochs)."""
    random_state, result = search.estimator.random_state, design.current
    if search.refit:
        if random_state is None:
            random_state = derive_seed(inputs.base, _REFIT)
        result = _refitted(start, learned, design.data.encoded, {
            "max_epochs": search.estimator.max_epochs, "random_state": random_state},
            None if inputs.labels is None else inputs.labels.all_rows)
    return result.set_params(
        alpha=dict(result.alpha_), corruption=dict(result.corruption_),
        max_epochs=result.n_iter_, random_state=random_state,
        warm_start=search.estimator.warm_start, verbose=search.estimator.verbose)


def _evaluate_stacked(start, settings, round_, data):
    """A round's candidates trained as one stacked model here, then scored one by one
    (shipping them to workers cost more than it saved)."""
    started = time.perf_counter()
    candidates = train_stacked_candidates(start, settings, round_)
    fit_time = (time.perf_counter() - started) / len(candidates)
    return [{**score_candidate(candidate, data), "fit_time": fit_time}
            for candidate in candidates]


class _SearchData(NamedTuple):
    """What every round of a search reads: the table encoded, its split, the training
    labels (None without ``label_weight``), the scoring data and the base seed."""

    encoded: object
    rows: _Split
    labels: object
    scoring: ScoringData
    base: int


class _Design:
    """One design of the search: what a round's candidates train on, and where the next
    round starts.

    ``current`` is the fusion the next round's candidates start from (its weights and
    Adam state); after the last round, the search's result unless it refits.
    """

    def __init__(self, search, start, data):
        self.search = search
        self.current = start
        self.data = data
        # Read once: whether a round's candidates can be stacked depends on it.
        self._config = TrainingConfig.from_estimator(start)

    def _candidate_training(self, round_index):
        """``(rows, epochs)``: what a round's candidates train on."""
        raise NotImplementedError

    def evaluate(self, settings, round_index):
        """A result dict (:func:`~sktnce._candidates.score_candidate`) per setting: its
        candidate trained from ``current`` and scored on the validation rows."""
        train_rows, epochs = self._candidate_training(round_index)
        base = self.data.base
        round_ = CandidateRound(self.data.encoded, train_rows, epochs,
                                derive_seed(base, _CANDIDATE, round_index), self.data.labels)
        scoring = self.data.scoring._replace(reward_seed=derive_seed(base, _REWARD, round_index))
        if self.search.batch_candidates and can_batch(self._config, settings):
            return _evaluate_stacked(self.current, settings, round_, scoring)
        return Parallel(n_jobs=self.search.n_jobs)(
            delayed(fit_and_score_candidate)(self.current, setting, round_, scoring)
            for setting in settings)

    def advance(self, mean, results, best, round_index):
        """Move ``current`` to where the next round starts, given the policy's new
        ``mean``, the round's ``results`` and the index of its ``best`` candidate."""
        raise NotImplementedError


class _Lineage(_Design):
    """The default design: one model, the lineage, trains ``epochs_per_round`` epochs a
    round with the policy's mean; each round's candidates branch off it for one pass over
    ``branch_fraction`` of the training rows, drawn anew each round."""

    def _candidate_training(self, round_index):
        train_rows = self.data.rows.train
        size = max(2, round(self.search.branch_fraction * len(train_rows)))
        rng = np.random.default_rng(derive_seed(self.data.base, _BRANCH, round_index))
        return np.sort(rng.choice(train_rows, size=size, replace=False)), 1

    def advance(self, mean, results, best, round_index):
        # The validation rows stay out while a reward is still to read them; the last
        # round, after the last reward, trains on every row, as a fit would.
        last = round_index == self.search.n_rounds - 1
        round_ = CandidateRound(self.data.encoded, None if last else self.data.rows.train,
                                self.search.epochs_per_round,
                                derive_seed(self.data.base, _LINEAGE, round_index),
                                self.data.labels)
        self.current = continue_training(self.current, mean, round_)


class _PaperRounds(_Design):
    """The paper's design (``branch_fraction=None``): every candidate trains
    ``epochs_per_round`` epochs on the training rows, and the best one carries on."""

    def _candidate_training(self, round_index):
        return self.data.rows.train, self.search.epochs_per_round

    def advance(self, mean, results, best, round_index):
        self.current = results[best]["estimator"]


def _report_round(round_index, n_rounds, best_reward, mean):
    """The verbose line of a round: its best reward, and the policy's new mean alpha."""
    alpha = ", ".join(f"{key}={value:.3f}" for key, value in mean.alpha_by_name.items())
    print(f"[TupleInfoNCESearch] round {round_index + 1}/{n_rounds}: best reward "
          f"{best_reward:.4f}; alpha {alpha}", flush=True)


_PARAMETER_CONSTRAINTS = {
    "estimator": [HasMethods(["fit", "transform"])],
    "n_candidates": [Interval(Integral, 2, None, closed="left")],
    "n_rounds": [Interval(Integral, 1, None, closed="left")],
    "epochs_per_round": [Interval(Integral, 1, None, closed="left")],
    "search": [tuple, list],
    "sigma": [Interval(Real, 0, None, closed="neither")],
    "learning_rate": [Interval(Real, 0, None, closed="neither")],
    "reward": [StrOptions(set(REWARDS))],
    "branch_fraction": [Interval(Real, 0, 1, closed="right"), None],
    "refit": ["boolean"],
    "batch_candidates": ["boolean"],
    "scoring": [str, callable, None],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "n_jobs": [Integral, None],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}


class TupleInfoNCESearch(MetaEstimatorMixin, TransformerMixin, BaseEstimator):
    """Learn the negatives' mixture weights alpha and the corruption rates beta while training.

    The bilevel search of Liu et al. (ICCV 2021): maximise a reward on held-out rows over
    (alpha, beta), subject to the encoder minimising the TupleInfoNCE loss with them. A
    Gaussian policy over ``alpha = softmax(u)`` and ``beta_k = 0.9 * sigmoid(v_k)`` (every
    sample a valid setting) is moved by REINFORCE:

    - each round draws ``n_candidates`` settings ``theta_b ~ N(mu, sigma^2 I)``;
    - every candidate branches off the lineage (its weights and Adam state), trains one
      pass over ``branch_fraction`` of the training rows with its setting, and is scored
      by the reward on the validation rows, all on the same batches, candidate sets and
      augmentations;
    - the policy mean takes one Adam ascent step along
      ``(1/B) sum_b A_b grad_mu log N(theta_b; mu, sigma^2)``, with the normalised
      advantage ``A_b = (R_b - mean R) / (std R + 1e-8)``, as in the authors' code;
    - the lineage trains ``epochs_per_round`` epochs with the new mean: on the training
      rows, except in the last round, which follows the last reward and trains on every
      row. After it, the lineage is ``best_estimator_``.

    With ``branch_fraction=None`` it runs as in the paper instead: every candidate trains
    ``epochs_per_round`` epochs on the training rows and the best carries on
    (``0.8 * n_candidates`` fits); no training but a refit reads the validation rows.

    The preprocessing is fitted once, on all rows. The result does not depend on ``n_jobs``
    or the joblib backend. The user guide gives what the search costs and finds.

    Parameters
    ----------
    estimator : TupleInfoNCEFusion
        Gives every setting the search does not learn. Its ``alpha`` and ``corruption`` are
        where the policy starts (0 at a floor of 0.01); its ``max_epochs`` and
        ``random_state`` are the refit's (None: one from the search's), unused without
        one. Its ``lr_schedule`` must be ``"constant"``: every round trains as a fit.
    n_candidates : int, default=5
        Settings drawn and trained per round (B); at least 2.
    n_rounds : int, default=10
        Rounds: ``n_rounds * epochs_per_round`` epochs along the lineage (or the chain of
        each round's best candidate).
    epochs_per_round : int, default=5
        Epochs the lineage (``branch_fraction=None``: each candidate) trains per round.
    search : tuple of {"alpha", "corruption"}, default=("alpha",)
        What the policy learns; both move at once when both are named.
    sigma : float, default=0.35
        Standard deviation of the policy on the unconstrained scale (the authors' ~0.71).
    learning_rate : float, default=0.05
        Adam learning rate of the policy mean (the authors' 0.25: the user guide).
    reward : {"rankme", "log_prob", "accuracy", "probe"}, default="rankme"
        A candidate's score on the validation rows: the embedding's effective rank
        (Garrido et al., 2023); the mean log-probability or top-1 accuracy (the paper's) of
        retrieving the rest of a row from one modality among ``score_chunk_size``; a
        linear probe's 3-fold ``scoring`` on the rows ``fit(X, y)`` labels (with a
        target-aware estimator, the validation rows among them, whose labels then train
        nothing but a refit).
    branch_fraction : float in (0, 1] or None, default=0.25
        Share of the training rows (drawn anew each round) a candidate trains one pass on.
    refit : bool, default=False
        Fit a fresh copy of ``estimator`` on all rows with ``alpha_`` and ``corruption_``
        (one more fit) as ``best_estimator_``, as GridSearchCV does. False keeps the
        lineage (or, with ``branch_fraction=None``, the last round's best candidate).
    batch_candidates : bool, default=True
        Train a round's candidates as one stacked model (:mod:`torch.func`) here, or else
        one by one with joblib, on one torch thread each (equal up to float rounding).
        Settings that cannot share a model (a zero weight for some only), and a
        target-aware estimator's, go one by one.
    scoring : str, callable or None, default=None
        The ``"probe"`` reward's score, as in GridSearchCV (None: accuracy).
    validation_fraction : float, default=0.2
        Rows held out for the reward (the cross-modal ones need ``score_chunk_size``).
    n_jobs : int, default=None
        With ``batch_candidates=False``, candidates trained in parallel by joblib (also on
        Dask or Ray: the user guide's "Scaling out").
    random_state : int, RandomState instance or None, default=None
        Seeds the split, the initial weights, the policy, the candidates and the reward.
    verbose : int, default=0
        Above 0, one line per round with its best reward and the current alpha.

    Attributes
    ----------
    best_estimator_ : TupleInfoNCEFusion
        The lineage, the refit (``refit=True``) or the last round's best candidate. Its
        parameters say what its weights trained: ``max_epochs`` equals ``n_iter_``
        (``n_rounds * epochs_per_round`` without a refit), and ``alpha`` and
        ``corruption`` are the setting of its last epochs. ``clone(best_estimator_).fit(X)``
        gives the refit back; without one, it trains as many epochs with the final setting
        throughout, another model than the search's, whose earlier rounds trained with
        earlier settings and other seeds.
    alpha_ : dict of str to float
        The learned mixture weights (the final policy mean), by ``"ordinary"`` and modality.
    corruption_ : dict of str to float
        The learned corruption rate of each modality (the final policy mean).
    search_results_ : dict of str to list
        One entry per candidate of every round, for ``pandas.DataFrame``: ``round``,
        ``candidate``, ``param_alpha``, ``param_corruption``, ``reward``, ``rank_in_round``,
        ``accuracy_<name>``, ``log_prob_<name>``, ``rankme``, ``probe``, times.
    history_ : dict of str to list
        One entry per round: the policy mean (``alpha_<key>``, ``corruption_<name>``), the
        candidates' ``candidate_*`` lists, ``best_candidate``, ``reward_best``,
        ``reward_mean``, and the best one's ``accuracy_<name>`` and ``log_prob_<name>``.

    See Also
    --------
    TupleInfoNCEFusion : The estimator whose alpha and corruption are searched.
    sktnce.plotting.plot_search_history : The trajectories and rewards, drawn.

    Examples
    --------
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sktnce import TupleInfoNCEFusion, TupleInfoNCESearch
    >>> from sktnce.datasets import make_multimodal_classification
    >>> X, y, columns = make_multimodal_classification(n_samples=100, random_state=0)
    >>> fusion = TupleInfoNCEFusion(
    ...     modalities=[(name, StandardScaler(), cols) for name, cols in columns.items()],
    ...     n_components=8, embedding_dim=8, hidden_dim=16, max_epochs=2)
    >>> search = TupleInfoNCESearch(fusion, n_candidates=2, n_rounds=2, epochs_per_round=1,
    ...                             random_state=0).fit(X)
    >>> search.transform(X).shape
    (100, 8)
    >>> sorted(search.alpha_)
    ['medium', 'ordinary', 'strong', 'weak']
    >>> len(search.history_["reward_best"]), len(search.search_results_["reward"])
    (2, 4)
    """

    _parameter_constraints = _PARAMETER_CONSTRAINTS

    def __init__(
        self,
        estimator,
        *,
        n_candidates=5,
        n_rounds=10,
        epochs_per_round=5,
        search=("alpha",),
        sigma=0.35,
        learning_rate=0.05,
        reward="rankme",
        branch_fraction=0.25,
        refit=False,
        batch_candidates=True,
        scoring=None,
        validation_fraction=0.2,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.estimator = estimator
        self.n_candidates = n_candidates
        self.n_rounds = n_rounds
        self.epochs_per_round = epochs_per_round
        self.search = search
        self.sigma = sigma
        self.learning_rate = learning_rate
        self.reward = reward
        self.branch_fraction = branch_fraction
        self.refit = refit
        self.batch_candidates = batch_candidates
        self.scoring = scoring
        self.validation_fraction = validation_fraction
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Search alpha and beta while training the encoder (and refit, if asked).

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), default=None
            Labels, -1 for unlabelled rows: read by ``reward="probe"`` and by a target-aware
            estimator (``label_weight > 0``), which trains on every row's labels except the
            validation rows' when the reward reads those (the refit trains on all).

        Returns
        -------
        self : TupleInfoNCESearch
        """
        X = check_table(X, estimator=self, min_rows=2)  # rows are split from an array
        inputs = _checked_inputs(self, X, y)
        training_labels = None if inputs.labels is None else inputs.labels.training
        with restore_on_failure(self):
            start, encoded = _initialized(inputs.template, inputs.specs, X, inputs.setting,
                                          derive_seed(inputs.base, _WEIGHTS), training_labels,
                                          train_rows=inputs.rows.train)
            data = _SearchData(encoded, inputs.rows, training_labels,
                               _scoring_data(start, X, inputs, self.scoring), inputs.base)
            design = (_PaperRounds if self.branch_fraction is None else _Lineage)(
                self, start, data)
            parameterization = Parameterization(inputs.setting, inputs.searched)
            policy = GaussianPolicy(parameterization.initial_mean(), sigma=self.sigma,
                                    learning_rate=self.learning_rate)
            self._run_search(design, policy, parameterization,
                             np.random.default_rng(derive_seed(inputs.base, _POLICY)))
            learned = parameterization.decode(policy.mean)
            self.alpha_, self.corruption_ = learned.alpha_by_name, dict(learned.corruption)
            self.best_estimator_ = _best_estimator(self, design, start, learned, inputs)
        return self

    def _run_search(self, design, policy, parameterization, rng):
        """The round loop: draw settings, ``design.evaluate`` them, move the policy,
        ``design.advance``."""
        record = SearchResults(parameterization.names)
        mean = parameterization.decode(policy.mean)
        for round_index in range(self.n_rounds):
            thetas = policy.sample(self.n_candidates, rng)
            settings = [parameterization.decode(theta) for theta in thetas]
            results = design.evaluate(settings, round_index)
            rewards = REWARDS[self.reward].values(results)
            best = int(np.argmax(rewards))
            record.add_round(round_index, mean, settings, results, rewards, best)
            policy.update(thetas, rewards)
            mean = parameterization.decode(policy.mean)
            design.advance(mean, results, best, round_index)
            if self.verbose > 0:
                _report_round(round_index, self.n_rounds, rewards[best], mean)
        self.search_results_, self.history_ = record.candidates, record.history

    def _fitted_best(self):
        check_is_fitted(self)
        return self.best_estimator_

    @property
    def n_features_in_(self):
        """Number of columns seen in fit."""
        return self._fitted_best().n_features_in_

    @property
    def feature_names_in_(self):
        """Column names seen in fit, when X had string column names."""
        return self._fitted_best().feature_names_in_

    def __sklearn_is_fitted__(self):
        return hasattr(self, "best_estimator_")

    def transform(self, X):
        """The fused representation of each row, by ``best_estimator_``.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_out), float32
        """
        return self._fitted_best().transform(X)

    def score(self, X, y=None):
        """Mean cross-modal discrimination accuracy of ``best_estimator_``, in [0, 1].

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
        y : None

        Returns
        -------
        score : float
        """
        return self._fitted_best().score(X)

    def cross_modal_accuracy(self, X):
        """Each modality's cross-modal discrimination accuracy, by ``best_estimator_``.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        accuracy : dict of str to float
        """
        return self._fitted_best().cross_modal_accuracy(X)

    def get_feature_names_out(self, input_features=None):
        """Names of the output features, by ``best_estimator_``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None

        Returns
        -------
        feature_names_out : ndarray of str
        """
        return self._fitted_best().get_feature_names_out(input_features)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.string = inner.input_tags.string
        if tags.transformer_tags is not None and inner.transformer_tags is not None:
            tags.transformer_tags.preserves_dtype = list(inner.transformer_tags.preserves_dtype)
        return tags
