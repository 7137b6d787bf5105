"""TupleInfoNCESearch: learning alpha and beta by the paper's bilevel REINFORCE search."""

import copy
import math
import time
import warnings
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import torch
from joblib import Parallel, delayed
from scipy import sparse
from scipy.special import expit, logit, softmax
from sklearn.base import (
    BaseEstimator,
    MetaEstimatorMixin,
    TransformerMixin,
    _fit_context,
    clone,
)
from sklearn.utils import _safe_indexing, check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _num_samples, check_array, check_is_fitted

from ._batched import can_batch, train_candidate_batch
from ._fusion import TupleInfoNCEFusion, _restore_on_failure
from ._modalities import _is_dataframe
from ._reward import REWARDS, check_partial_labels, labelled_probe_score, rankme

__all__ = ["TupleInfoNCESearch"]

#: Upper bound of a searched corruption rate: beta_k = BETA_MAX * sigmoid(v_k) < 1.
BETA_MAX = 0.9
#: Floor of an initial alpha weight (or corruption ratio beta / BETA_MAX) before it is
#: mapped to the unconstrained scale, where 0 would be -inf.
_INIT_FLOOR = 0.01
#: torch threads of every candidate's training, whatever n_jobs is: float results can
#: depend on the thread count, and the search's result must not depend on n_jobs.
_CANDIDATE_THREADS = 1
_SEARCHABLE = ("alpha", "corruption")
_ADVANTAGE_EPS = 1e-8
#: Purposes of the seeds derived from random_state.
_SPLIT, _WEIGHTS, _POLICY, _CANDIDATE, _REWARD, _REFIT = range(6)


def _seed(*key):
    """A 31-bit seed derived from the integers ``key`` (base seed, purpose, round, ...)."""
    return int(np.random.SeedSequence([int(k) for k in key]).generate_state(1)[0] >> 1)


class _Parameterization:
    """The map between the policy's unconstrained theta and a setting (alpha, beta).

    theta holds ``u`` (alpha = softmax(u)) where alpha is searched, then ``v``
    (beta_k = BETA_MAX * sigmoid(v_k)) where corruption is; what is not searched stays at
    its initial value.
    """

    def __init__(self, names, alpha_init, corruption_init, searched):
        self.names = list(names)
        self.alpha_init = np.asarray(alpha_init, dtype=np.float64)
        self.corruption_init = dict(corruption_init)
        self.searched = [name for name in _SEARCHABLE if name in searched]

    def initial_mean(self):
        """theta of the initial setting (zero weights and rates floored at 0.01)."""
        parts = []
        if "alpha" in self.searched:
            u = np.log(np.maximum(self.alpha_init, _INIT_FLOOR))
            parts.append(u - u.mean())
        if "corruption" in self.searched:
            ratio = np.array(list(self.corruption_init.values())) / BETA_MAX
            parts.append(logit(np.clip(ratio, _INIT_FLOOR, 1 - _INIT_FLOOR)))
        return np.concatenate(parts)

    def decode(self, theta):
        """``(alpha, corruption)``: an array ordinary first, and a dict by modality."""
        alpha, corruption = self.alpha_init, dict(self.corruption_init)
        offset = 0
        if "alpha" in self.searched:
            alpha = softmax(theta[:len(self.names) + 1])
            offset = len(self.names) + 1
        if "corruption" in self.searched:
            rates = BETA_MAX * expit(theta[offset:offset + len(self.names)])
            corruption = dict(zip(self.names, rates.tolist()))
        return alpha, corruption


class _GaussianPolicy:
    """theta ~ N(mean, sigma^2 I), its mean moved by REINFORCE with Adam ascent.

    The gradient of the expected reward is estimated from one round's draws with the
    normalised advantage ``A_b = (R_b - mean R) / (std R + 1e-8)``:
    ``(1/B) sum_b A_b (theta_b - mean) / sigma^2``. torch's Adam takes the step, as in
    the authors' code.
    """

    def __init__(self, mean, *, sigma, learning_rate):
        self.sigma = float(sigma)
        self._mean = torch.tensor(np.asarray(mean, dtype=np.float64), requires_grad=True)
        self._optimizer = torch.optim.Adam([self._mean], lr=learning_rate, maximize=True)

    @property
    def mean(self):
        return self._mean.detach().numpy().copy()

    def sample(self, n_samples, rng):
        """``n_samples`` draws of theta, shape (n_samples, dim), from a NumPy generator."""
        return self.mean + self.sigma * rng.standard_normal((n_samples, len(self.mean)))

    def update(self, thetas, rewards):
        """One Adam ascent step of the mean from the draws ``thetas`` and their rewards."""
        rewards = np.asarray(rewards, dtype=np.float64)
        advantage = (rewards - rewards.mean()) / (rewards.std() + _ADVANTAGE_EPS)
        # grad_mean log N(theta_b; mean, sigma^2 I) = (theta_b - mean) / sigma^2
        gradient = (advantage[:, None] * (thetas - self.mean)).mean(axis=0) / self.sigma**2
        self._optimizer.zero_grad()
        self._mean.grad = torch.from_numpy(gradient)
        self._optimizer.step()


@contextmanager
def _candidate_threads():
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(_CANDIDATE_THREADS)
    try:
        yield
    finally:
        torch.set_num_threads(previous_threads)


def _train_candidate(start, alpha, corruption, *, epochs, random_state, X_train):
    """A copy of ``start`` (fitted, or initialised) trained ``epochs`` more epochs with one
    setting, warm-started from its weights and optimizer state."""
    candidate = copy.deepcopy(start).set_params(
        alpha=np.asarray(alpha).tolist(), corruption=dict(corruption), max_epochs=epochs,
        random_state=random_state, warm_start=True, verbose=0,
    )
    with warnings.catch_warnings():
        # A candidate's interruption must stop the search, not be rolled back quietly.
        warnings.filterwarnings("error", message="Training was interrupted")
        try:
            candidate.fit(X_train)
        except UserWarning as interrupted:
            raise KeyboardInterrupt(str(interrupted)) from None
    return candidate


def _score_candidate(candidate, *, X_validation, reward_seed, labelled=None, scoring=None):
    """Every reward of a trained candidate, as a dict (with the candidate as "estimator").

    ``labelled`` is ``(X_labelled, y_labelled)`` for the few-label reward. Runs with one
    torch thread, in a joblib worker or in the caller's process: its result depends only
    on its arguments.
    """
    started = time.perf_counter()
    with _candidate_threads():
        with warnings.catch_warnings():
            # Fewer validation rows than a candidate set: the search checks this where the
            # cross-modal scores are the reward; elsewhere they are only recorded.
            warnings.filterwarnings("ignore", message="Cross-modal discrimination on")
            accuracy, log_prob = candidate._discrimination(X_validation, seed=reward_seed)
        result = {
            "estimator": candidate,
            "accuracy": accuracy,
            "log_prob": log_prob,
            "rankme": rankme(candidate.transform(X_validation)),
            "probe": np.nan,
        }
        if labelled is not None:
            X_labelled, y_labelled = labelled
            result["probe"] = labelled_probe_score(
                candidate.transform(X_labelled), y_labelled, scoring=scoring,
                random_state=reward_seed)
    result["score_time"] = time.perf_counter() - started
    return result


def _fit_and_score_candidate(start, alpha, corruption, *, epochs, random_state, X_train,
                             X_validation, reward_seed, labelled=None, scoring=None):
    """Train one candidate (:func:`_train_candidate`) with one torch thread, and score it."""
    started = time.perf_counter()
    with _candidate_threads():
        candidate = _train_candidate(start, alpha, corruption, epochs=epochs,
                                     random_state=random_state, X_train=X_train)
    fit_time = time.perf_counter() - started
    result = _score_candidate(candidate, X_validation=X_validation, reward_seed=reward_seed,
                              labelled=labelled, scoring=scoring)
    result["fit_time"] = fit_time
    return result


class TupleInfoNCESearch(MetaEstimatorMixin, TransformerMixin, BaseEstimator):
    """Learn the negatives' mixture weights alpha and the corruption rates beta while training.

    The bilevel search of Liu et al. (ICCV 2021): maximise a reward on held-out rows over
    (alpha, beta), subject to the encoder minimising the TupleInfoNCE loss with them. A
    Gaussian policy over unconstrained parameters, ``alpha = softmax(u)`` and
    ``beta_k = BETA_MAX * sigmoid(v_k)`` (``BETA_MAX = 0.9``, so every sample is a valid
    setting), is moved by REINFORCE:

    - each round draws ``n_candidates`` settings ``theta_b ~ N(mu, sigma^2 I)``;
    - every candidate starts from the same current encoder weights and optimizer state
      (a warm start of the estimator), trains for ``epochs_per_round`` epochs with its
      setting, and is scored by the reward on the validation rows, which are never
      trained on; every candidate of a round is scored on the same candidate sets and
      query augmentations;
    - the policy mean takes one Adam ascent step (learning rate ``learning_rate``, as in
      the authors' code) along ``(1/B) sum_b A_b grad_mu log N(theta_b; mu, sigma^2)``
      with the normalised advantage ``A_b = (R_b - mean R) / (std R + 1e-8)``;
    - the best candidate's weights and optimizer state carry into the next round;
    - at the end (``refit=True``), the estimator is fitted on all rows with the learned
      setting, the policy's final mean.

    The modalities' preprocessing is fitted once, on all rows, as the refit fits it (it
    sees no labels; the reward's rows are held out of the encoder's training). A round's
    candidates share their seeds (derived from ``random_state`` and the round), so that
    they differ only by their setting. By default (``batch_candidates=True``) they train
    as one model whose weights are the candidates' weights stacked, one forward and
    backward pass per batch for all of them (:mod:`torch.func`), in this process; with
    ``batch_candidates=False`` each trains its own network, in parallel with joblib, on
    one torch thread. Either way the result does not depend on ``n_jobs`` or on the joblib
    backend, and the two ways agree up to float rounding.

    Parameters
    ----------
    estimator : TupleInfoNCEFusion
        Gives every setting the search does not learn: modalities, network sizes,
        temperature, batch size, lr, ``score_chunk_size`` and ``score_corruption`` (the
        reward's candidate sets and query augmentation, the same for every candidate), ...
        Its ``alpha`` and ``corruption`` are where the policy starts (a zero weight or rate
        starts at a floor of 0.01, since the unconstrained scale has no 0); a parameter left
        out of ``search`` stays at the estimator's value. Its ``max_epochs`` and
        ``random_state`` are those of the refit (``refit=True``; a ``random_state`` of None
        there takes one from the search's); its ``warm_start`` is not used.
    n_candidates : int, default=5
        Settings drawn and trained per round (B); at least 2.
    n_rounds : int, default=10
        Rounds of the search. The encoder trains ``n_rounds * epochs_per_round`` epochs
        along the path of best candidates.
    epochs_per_round : int, default=5
        Epochs each candidate trains per round (the authors use 6).
    search : tuple of {"alpha", "corruption"}, default=("alpha",)
        What the policy learns; both move at once when both are named. The corruption
        rates are not searched by default: on UCI Multiple Features the search lowered them
        (0.3 to 0.22-0.31) and uniform alpha with those rates lost 2 points of linear probe
        against the default 0.3 (``benchmarks/RESULTS.md``).
    sigma : float, default=0.35
        Standard deviation of the policy on the unconstrained scale (the authors' variance
        is 0.5, sigma ~ 0.71).
    learning_rate : float, default=0.05
        Adam learning rate of the policy mean (the authors use 0.25). With normalised
        advantages, Adam moves the mean by about ``learning_rate`` a round whatever the
        reward's signal, so over ``n_rounds`` rounds noise alone can move it
        ``n_rounds * learning_rate``: at 0.25 and 10 rounds, alpha drifted to weights of
        0.01 to 0.6 and the probe fell below uniform alpha's on UCI Multiple Features
        (``benchmarks/RESULTS.md``).
    reward : {"rankme", "log_prob", "accuracy", "probe"}, default="rankme"
        What a candidate is judged by, on the validation rows:

        - ``"log_prob"``: the paper's cross-modal discrimination, as the mean over
          modalities of the log-probability of retrieving the rest of a row from one
          modality, among ``score_chunk_size`` candidates; smooth where top-1 ties.
        - ``"accuracy"``: the same retrieval's top-1 accuracy, the paper's reward.
        - ``"rankme"``: the effective rank of the validation rows' embedding (Garrido et
          al., ICML 2023), a label-free measure of how many directions it uses.
        - ``"probe"``: the few-label reward. ``fit(X, y)`` takes labels for some rows
          and -1 for the others (scikit-learn's semi-supervised convention); the reward
          is a linear probe's 3-fold cross-validated ``scoring`` on the labelled rows.

        Only ``"probe"`` reads ``y``; the others ignore it, so a search inside a
        :class:`~sklearn.pipeline.Pipeline` stays unsupervised unless this says otherwise.
        ``benchmarks/RESULTS.md`` measures how each ranks settings against a linear probe.
    refit : bool, default=True
        After the search, fit a fresh copy of ``estimator`` on all rows with the learned
        ``alpha_`` and ``corruption_`` and make it ``best_estimator_``, as
        :class:`~sklearn.model_selection.GridSearchCV` refits its best parameters. It
        costs one more fit of the estimator's ``max_epochs``. Measured on UCI Multiple
        Features, the refit's linear probe beat the search's own last candidate (trained on
        80% of the rows, its setting changing every round) by 2.5 and 2.7 points on two
        seeds (``benchmarks/RESULTS.md``). With False, ``best_estimator_`` is that last
        candidate.
    batch_candidates : bool, default=True
        Train a round's candidates as one stacked model (see above), on torch's threads
        in this process (``torch.get_num_threads()``; float results depend on that count,
        as a fit's do). Measured with 5 candidates against one fit of the same epochs, it
        cost 2.7x on a GPU (one by one: 5.4x), 3.2x on 16 CPU cores (5.1x) and 4.1x on 2
        CPU cores (6.2x; one by one with ``n_jobs=2``, 3.5x) (``benchmarks/RESULTS.md``).
        A setting that cannot share the stacked model (a zero weight or corruption rate
        for some candidates only, or a subclass's own training module) trains one by one.
        False spreads the candidates over ``n_jobs`` processes, or over a cluster through
        joblib's Dask or Ray backend (the user guide's "Scaling out").
    scoring : str, callable or None, default=None
        The few-label reward's score, as in :class:`~sklearn.model_selection.GridSearchCV`
        (None: accuracy). Used only with ``reward="probe"``.
    validation_fraction : float, default=0.2
        Share of the rows held out for the reward. The cross-modal rewards need at least
        ``score_chunk_size`` validation rows, and training at least 2.
    n_jobs : int, default=None
        With ``batch_candidates=False``, candidates trained in parallel, as in joblib (on
        a GPU use 1). Not used with True: the stacked model trains, and its candidates are
        scored, in this process (scoring them in worker processes measured slower).
    random_state : int, RandomState instance or None, default=None
        Seeds the split, the initial weights, the policy's draws, every candidate's
        training and the reward's candidate sets and augmentations.
    verbose : int, default=0
        Above 0, one line per round with its best reward and the current alpha.

    Attributes
    ----------
    best_estimator_ : TupleInfoNCEFusion
        With ``refit=True``, the estimator fitted on all rows with ``alpha_`` and
        ``corruption_``. With ``refit=False``, the last round's best candidate:
        preprocessing fitted on all rows, the final weights, and as ``alpha`` and
        ``corruption`` the setting those final weights trained with in the last round (the
        lineage's earlier rounds trained with earlier rounds' best settings); its
        ``loss_curve_`` and ``n_iter_`` cover the whole lineage. Either way its ``alpha``
        and ``corruption`` are the setting its weights trained with.
    alpha_ : dict of str to float
        The learned mixture weights: the final policy mean (``softmax`` of it), keyed by
        ``"ordinary"`` and modality names.
    corruption_ : dict of str to float
        The learned corruption rate of each modality (the final policy mean).
    search_results_ : dict of str to list
        One entry per candidate of every round, readable by ``pandas.DataFrame``:
        ``round``, ``candidate``, ``param_alpha`` and ``param_corruption`` (dicts),
        ``reward``, ``rank_in_round`` (1 is the round's best, whose weights carried on),
        ``accuracy_<name>`` and ``log_prob_<name>`` per modality, ``rankme``, ``probe``
        (NaN unless ``reward="probe"``), ``fit_time`` (with ``batch_candidates``, the round's
        training time shared equally) and ``score_time`` in seconds.
    history_ : dict of str to list
        One entry per round, readable by ``pandas.DataFrame``: ``round``;
        ``alpha_<key>`` and ``corruption_<name>``, the policy mean the round's candidates
        were drawn around; ``candidate_alpha``, ``candidate_corruption`` and
        ``candidate_reward``, a list over candidates; ``best_candidate``,
        ``reward_best`` and ``reward_mean``; ``accuracy_<name>`` and ``log_prob_<name>``,
        the best candidate's per-modality accuracy and log-probability.
    n_features_in_ : int
        Number of columns seen in fit.

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

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "transform"])],
        "n_candidates": [Interval(Integral, 2, None, closed="left")],
        "n_rounds": [Interval(Integral, 1, None, closed="left")],
        "epochs_per_round": [Interval(Integral, 1, None, closed="left")],
        "search": [tuple, list],
        "sigma": [Interval(Real, 0, None, closed="neither")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "reward": [StrOptions(set(REWARDS))],
        "refit": ["boolean"],
        "batch_candidates": ["boolean"],
        "scoring": [str, callable, None],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

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
        refit=True,
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
        self.refit = refit
        self.batch_candidates = batch_candidates
        self.scoring = scoring
        self.validation_fraction = validation_fraction
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # --------------------------------------------------------------- checks
    def _check_search(self):
        if not isinstance(self.estimator, TupleInfoNCEFusion):
            raise TypeError(
                "estimator must be a TupleInfoNCEFusion; got "
                f"{type(self.estimator).__name__}."
            )
        search = list(self.search)
        unknown = [name for name in search if name not in _SEARCHABLE]
        if unknown:
            raise ValueError(
                f"search has unknown names {unknown}; choose among {list(_SEARCHABLE)}."
            )
        if not search:
            raise ValueError(f"search is empty; give some of {list(_SEARCHABLE)}.")
        if len(set(search)) != len(search):
            raise ValueError(f"search names a parameter twice: {search}.")
        return set(search)

    def _split(self, n_samples, chunk_size):
        n_validation = math.ceil(self.validation_fraction * n_samples)
        n_train = n_samples - n_validation
        if n_validation < 2 or n_train < 2:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} splits {n_samples} rows into "
                f"{n_train} for training and {n_validation} for the reward; each side needs "
                "at least 2."
            )
        if self.reward in ("log_prob", "accuracy") and n_validation < chunk_size:
            raise ValueError(
                f"reward={self.reward!r} ranks each validation row among the estimator's "
                f"score_chunk_size={chunk_size} candidates, but validation_fraction="
                f"{self.validation_fraction} holds out {n_validation} of {n_samples} rows. "
                "Lower score_chunk_size or raise validation_fraction."
            )
        return n_validation

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Search alpha and beta while training the encoder, then refit the learned setting.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            The table.
        y : array-like of shape (n_samples,), default=None
            Used only with ``reward="probe"``: labels, with -1 for unlabelled rows.
            Ignored otherwise.

        Returns
        -------
        self : TupleInfoNCESearch
        """
        if sparse.issparse(X):
            raise TypeError(
                f"{type(self).__name__} does not take a sparse X; pass a dense array or a "
                "DataFrame (a modality's transformer may output sparse blocks)."
            )
        if not _is_dataframe(X):
            # An array-like becomes an array before its rows are split.
            X = check_array(X, dtype=None, ensure_all_finite=False, ensure_min_samples=2,
                            estimator=self)
        searched = self._check_search()
        template = clone(self.estimator)
        template._validate_params()
        _, names, alpha, corruption = template._check_setting()
        parameterization = _Parameterization(names, alpha, corruption, searched)
        n_samples = _num_samples(X)
        n_validation = self._split(n_samples, template.score_chunk_size)
        if self.reward == "probe":
            y = check_partial_labels(y, n_samples)

        base = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        with _restore_on_failure(self):
            # The preprocessing is fitted once, on all rows, as the refit would fit it: the
            # candidates train on the training rows' tensors and the refit on all of them,
            # with no second pass over X and no copy of its rows.
            start = template.set_params(verbose=0, random_state=_seed(base, _WEIGHTS))
            features, missing = start._initialize(X)
            best, policy = self._search_rounds(X, y, start, features, missing, parameterization,
                                               base, n_validation)
            alpha, corruption = parameterization.decode(policy.mean)
            self.alpha_ = dict(zip(["ordinary", *names], np.asarray(alpha).tolist()))
            self.corruption_ = dict(corruption)
            if self.refit:
                # What clone(estimator).set_params(alpha=..., corruption=...).fit(X) gives,
                # on the tensors already at hand.
                refit_state = self.estimator.random_state
                best = start.set_params(
                    alpha=dict(self.alpha_), corruption=dict(self.corruption_),
                    max_epochs=self.estimator.max_epochs, verbose=self.estimator.verbose,
                    random_state=_seed(base, _REFIT) if refit_state is None else refit_state,
                )
                _, _, alpha, corruption = best._check_setting(list(best.output_indices_))
                best._train(features, missing, alpha, corruption)
            self.best_estimator_ = best.set_params(
                alpha=dict(best.alpha_), corruption=dict(best.corruption_),
                max_epochs=self.estimator.max_epochs, warm_start=self.estimator.warm_start,
                random_state=self.estimator.random_state, verbose=self.estimator.verbose,
            )
        return self

    def _search_rounds(self, X, y, start, features, missing, parameterization, base,
                       n_validation):
        """Split the rows and run the rounds from the initialised ``start``, whose
        preprocessed tensors of X are ``features`` and ``missing``; return the last round's
        best candidate and the policy."""
        n_samples = _num_samples(X)
        order = np.random.default_rng(_seed(base, _SPLIT)).permutation(n_samples)
        validation_rows, train_rows = np.sort(order[:n_validation]), np.sort(order[n_validation:])
        X_validation = _safe_indexing(X, validation_rows)
        labelled = None
        if self.reward == "probe":
            # The encoder never sees labels, so every labelled row can judge it, as the
            # user's probe will, trained on rows the encoder trained on.
            rows = np.flatnonzero(y != -1)
            labelled = (_safe_indexing(X, rows), y[rows])
        batched = self.batch_candidates and can_batch(start)
        # Stacked candidates train on the training rows of the tensors, read in place; the
        # rows of X are copied out only for a round that trains one by one, and only once.
        X_train = None
        scoring_args = {"X_validation": X_validation, "labelled": labelled,
                        "scoring": self.scoring}

        def evaluate_candidates(thetas, round_index, start):
            nonlocal X_train
            settings = [parameterization.decode(theta) for theta in thetas]
            random_state = _seed(base, _CANDIDATE, round_index)
            reward_seed = _seed(base, _REWARD, round_index)
            if not (batched and can_batch(start, settings)):
                if X_train is None:
                    X_train = _safe_indexing(X, train_rows)
                return Parallel(n_jobs=self.n_jobs)(
                    delayed(_fit_and_score_candidate)(
                        start, alpha, corruption, epochs=self.epochs_per_round,
                        random_state=random_state, X_train=X_train,
                        reward_seed=reward_seed, **scoring_args,
                    )
                    for alpha, corruption in settings
                ), settings
            started = time.perf_counter()
            candidates = train_candidate_batch(
                start, settings, epochs=self.epochs_per_round, random_state=random_state,
                features=features, missing=missing, rows=train_rows,
            )
            fit_time = (time.perf_counter() - started) / len(candidates)
            # Scored here: shipping the candidates to workers cost more than it saved.
            results = [_score_candidate(candidate, reward_seed=reward_seed, **scoring_args)
                       for candidate in candidates]
            for result in results:
                result["fit_time"] = fit_time
            return results, settings

        policy = _GaussianPolicy(parameterization.initial_mean(), sigma=self.sigma,
                                 learning_rate=self.learning_rate)
        best = self._run_search(evaluate_candidates, policy, start,
                                np.random.default_rng(_seed(base, _POLICY)),
                                parameterization)
        return best, policy

    def _run_search(self, evaluate_candidates, policy, start, rng, parameterization):
        """The round loop: draw, evaluate, keep the best, move the policy. Returns the best."""
        self.search_results_, self.history_ = {}, {}
        for round_index in range(self.n_rounds):
            mean = policy.mean
            thetas = policy.sample(self.n_candidates, rng)
            results, settings = evaluate_candidates(thetas, round_index, start)
            rewards = self._rewards(results)
            best = int(np.argmax(rewards))
            start = results[best]["estimator"]
            self._record(round_index, parameterization, mean, settings, results, rewards, best)
            policy.update(thetas, rewards)
            if self.verbose > 0:
                alpha, _ = parameterization.decode(policy.mean)
                keys = ["ordinary", *parameterization.names]
                print(
                    f"[TupleInfoNCESearch] round {round_index + 1}/{self.n_rounds}: best "
                    f"reward {rewards[best]:.4f}; alpha "
                    + ", ".join(f"{k}={a:.3f}" for k, a in zip(keys, alpha)),
                    flush=True,
                )
        return start

    def _rewards(self, results):
        if self.reward in ("log_prob", "accuracy"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN: checked below
                rewards = np.array([np.nanmean(r[self.reward]) for r in results])
        else:
            rewards = np.array([r[self.reward] for r in results], dtype=np.float64)
        if not np.isfinite(rewards).all():
            raise ValueError(
                f"The {self.reward!r} reward is not finite: no validation row has any "
                "modality present, or the embedding is degenerate."
            )
        return rewards

    def _record(self, round_index, parameterization, mean, settings, results, rewards, best):
        """Append the round's candidates to ``search_results_`` and its summary to
        ``history_``."""
        names = parameterization.names
        keys = ["ordinary", *names]
        ranks = np.empty(len(rewards), dtype=int)
        ranks[np.argsort(-rewards, kind="stable")] = np.arange(1, len(rewards) + 1)
        for index, ((alpha, corruption), result) in enumerate(zip(settings, results)):
            row = {
                "round": round_index,
                "candidate": index,
                "param_alpha": dict(zip(keys, np.asarray(alpha).tolist())),
                "param_corruption": dict(corruption),
                "reward": float(rewards[index]),
                "rank_in_round": int(ranks[index]),
            }
            row.update({f"accuracy_{n}": float(a) for n, a in zip(names, result["accuracy"])})
            row.update({f"log_prob_{n}": float(p) for n, p in zip(names, result["log_prob"])})
            row.update({key: float(result[key])
                        for key in ("rankme", "probe", "fit_time", "score_time")})
            for key, value in row.items():
                self.search_results_.setdefault(key, []).append(value)

        mean_alpha, mean_corruption = parameterization.decode(mean)
        row = {"round": round_index}
        row.update({f"alpha_{key}": float(a) for key, a in zip(keys, mean_alpha)})
        row.update({f"corruption_{name}": float(mean_corruption[name]) for name in names})
        row["candidate_alpha"] = [dict(zip(keys, np.asarray(a).tolist())) for a, _ in settings]
        row["candidate_corruption"] = [dict(c) for _, c in settings]
        row["candidate_reward"] = rewards.tolist()
        row["best_candidate"] = best
        row["reward_best"] = float(rewards[best])
        row["reward_mean"] = float(rewards.mean())
        row.update({f"accuracy_{n}": float(a) for n, a in zip(names, results[best]["accuracy"])})
        row.update({f"log_prob_{n}": float(p) for n, p in zip(names, results[best]["log_prob"])})
        for key, value in row.items():
            self.history_.setdefault(key, []).append(value)

    # ------------------------------------------------------------ delegation
    @property
    def n_features_in_(self):
        """Number of columns seen in fit."""
        check_is_fitted(self)
        return self.best_estimator_.n_features_in_

    @property
    def feature_names_in_(self):
        """Column names seen in fit, when X had string column names."""
        check_is_fitted(self)
        return self.best_estimator_.feature_names_in_

    def __sklearn_is_fitted__(self):
        return hasattr(self, "best_estimator_")

    def transform(self, X):
        """The fused representation of each row, by ``best_estimator_``.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components), float32
        """
        check_is_fitted(self)
        return self.best_estimator_.transform(X)

    def score(self, X, y=None):
        """Mean cross-modal discrimination accuracy of ``best_estimator_``, in [0, 1].

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        return self.best_estimator_.score(X)

    def cross_modal_accuracy(self, X):
        """Each modality's cross-modal discrimination accuracy, by ``best_estimator_``.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        accuracy : dict of str to float
        """
        check_is_fitted(self)
        return self.best_estimator_.cross_modal_accuracy(X)

    def get_feature_names_out(self, input_features=None):
        """Names of the output features, by ``best_estimator_``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None

        Returns
        -------
        feature_names_out : ndarray of str
        """
        check_is_fitted(self)
        return self.best_estimator_.get_feature_names_out(input_features)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.string = inner.input_tags.string
        if tags.transformer_tags is not None and inner.transformer_tags is not None:
            tags.transformer_tags.preserves_dtype = list(inner.transformer_tags.preserves_dtype)
        return tags
