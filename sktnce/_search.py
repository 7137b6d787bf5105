"""TupleInfoNCESearch: learning alpha and beta by the paper's bilevel REINFORCE search."""

import math
import warnings
from numbers import Integral, Real

import numpy as np
import torch
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

from ._discrimination import cross_modal_discrimination
from ._fusion import TupleInfoNCEFusion, _resolve_device, resolve_alpha, resolve_corruption
from ._modalities import check_modalities

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
_ADAM = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
_ADVANTAGE_EPS = 1e-8


def _seed(*key):
    """A 31-bit seed derived from the integers ``key`` (base seed, purpose, round, ...)."""
    return int(np.random.SeedSequence([int(k) for k in key]).generate_state(1)[0] >> 1)


def _softmax(u):
    e = np.exp(u - u.max())
    return e / e.sum()


def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def _as_tensor(data, device):
    if isinstance(data, torch.Tensor):
        return data
    with warnings.catch_warnings():
        # A memory-mapped worker input is read-only; training never writes to it.
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(data).to(device)


def _train_candidate(template, alpha, corruption, *, weight_seed, augment_seed, shuffle_seed,
                     epochs, initial_state, train, validation, reward_seed):
    """Train one candidate from ``initial_state``; score it on the validation rows.

    Runs in a joblib worker or in the caller's process; everything it depends on comes in
    as arguments, so its result does not depend on where it runs.
    """
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(_CANDIDATE_THREADS)
    try:
        device = _resolve_device(template.device)
        features, missing = (_as_tensor(t, device) for t in train)
        val_features, val_missing = (_as_tensor(t, device) for t in validation)
        net = template._build_net(
            alpha, corruption, weight_seed=weight_seed, augment_seed=augment_seed,
            shuffle_seed=shuffle_seed, max_epochs=epochs, initial_state=initial_state,
        )
        net.fit({"x": features, "missing": missing}, None)
        loss_curve = [float(row["train_loss"]) for row in net.history if "train_loss" in row]
        if len(loss_curve) < epochs:
            # skorch ends fit quietly on KeyboardInterrupt; the search must stop, not go on.
            raise KeyboardInterrupt("TupleInfoNCESearch: a candidate's training was interrupted.")
        encoder = net.module_.encoder.eval()
        generator = torch.Generator(device=val_features.device).manual_seed(reward_seed)
        accuracy, log_prob = cross_modal_discrimination(
            encoder,
            val_features,
            val_missing,
            corruption=list(corruption.values()),
            chunk_size=template.score_chunk_size,
            temperature=template.temperature,
            generator=generator,
        )
        state = {key: value.detach().cpu().clone() for key, value in encoder.state_dict().items()}
    finally:
        torch.set_num_threads(previous_threads)
    return state, loss_curve, accuracy, log_prob


class _Adam:
    """Adam ascent on the policy mean (the authors' update), in NumPy."""

    def __init__(self, size, learning_rate):
        self.learning_rate = learning_rate
        self.m = np.zeros(size)
        self.v = np.zeros(size)
        self.t = 0

    def step(self, gradient):
        b1, b2, eps = _ADAM["beta1"], _ADAM["beta2"], _ADAM["eps"]
        self.t += 1
        self.m = b1 * self.m + (1 - b1) * gradient
        self.v = b2 * self.v + (1 - b2) * gradient**2
        m_hat = self.m / (1 - b1**self.t)
        v_hat = self.v / (1 - b2**self.t)
        return self.learning_rate * m_hat / (np.sqrt(v_hat) + eps)


class TupleInfoNCESearch(MetaEstimatorMixin, TransformerMixin, BaseEstimator):
    """Learn the negatives' mixture weights alpha and the corruption rates beta while training.

    The bilevel search of Liu et al. (ICCV 2021): maximise the cross-modal discrimination
    reward on held-out rows over (alpha, beta), subject to the encoder minimising the
    TupleInfoNCE loss with them. A Gaussian policy over unconstrained parameters,
    ``alpha = softmax(u)`` and ``beta_k = BETA_MAX * sigmoid(v_k)`` (``BETA_MAX = 0.9``, so
    every sample is a valid setting), is moved by REINFORCE:

    - each round draws ``n_candidates`` settings ``theta_b ~ N(mu, sigma^2 I)``;
    - every candidate starts from the same current encoder weights, trains for
      ``epochs_per_round`` epochs with its setting, and is scored by the reward on the
      validation rows, which are never trained on; every candidate of a round is scored on
      the same query augmentations;
    - the policy mean takes one Adam ascent step (learning rate ``learning_rate``, as in
      the authors' code) along ``(1/B) sum_b A_b grad_mu log N(theta_b; mu, sigma^2)``
      with the normalised advantage ``A_b = (R_b - mean R) / (std R + 1e-8)``;
    - the best candidate's weights carry into the next round.

    The modalities' preprocessing is fitted once, on the training rows. Candidates of a
    round train in parallel with joblib; each trains with one torch thread and seeds
    derived from ``random_state`` and its round and index only, so the result does not
    depend on ``n_jobs``.

    Parameters
    ----------
    estimator : TupleInfoNCEFusion
        Gives every setting the search does not learn: modalities, network sizes,
        temperature, batch size, lr, ... Its ``alpha`` and ``corruption`` are where the
        policy starts (a zero weight or rate starts at a floor of 0.01, since the
        unconstrained scale has no 0); a parameter left out of ``search`` stays at the
        estimator's value. Its ``max_epochs`` and ``random_state`` are not used:
        ``epochs_per_round`` and the search's ``random_state`` take their place.
    n_candidates : int, default=5
        Settings drawn and trained per round (B); at least 2.
    n_rounds : int, default=10
        Rounds of the search. The encoder trains ``n_rounds * epochs_per_round`` epochs
        along the path of best candidates.
    epochs_per_round : int, default=5
        Epochs each candidate trains per round (the authors use 6).
    search : tuple of {"alpha", "corruption"}, default=("alpha", "corruption")
        What the policy learns; both move at once.
    sigma : float, default=0.7
        Standard deviation of the policy on the unconstrained scale (the authors' variance
        is 0.5, sigma ~ 0.71).
    learning_rate : float, default=0.25
        Adam learning rate of the policy mean (the authors' value).
    reward : {"log_prob", "accuracy"}, default="log_prob"
        The validation reward, averaged over modalities: the mean log-probability of the
        right match, or top-1 accuracy A^k. Top-1 accuracy on a validation split of a few
        dozen rows moves in steps of ``1 / n_rows`` and often ties between candidates,
        which leaves REINFORCE no signal; the log-probability from the same softmax is
        smooth.
    validation_fraction : float, default=0.2
        Share of the rows held out for the reward; at least 2 rows must be on each side.
    n_jobs : int, default=None
        Candidates trained in parallel, as in joblib. On a GPU use 1.
    random_state : int, RandomState instance or None, default=None
        Seeds the split, the initial weights, the policy's draws, every candidate's
        training and the reward's augmentations.
    verbose : int, default=0
        Above 0, one line per round with its best reward and the current alpha.

    Attributes
    ----------
    best_estimator_ : TupleInfoNCEFusion
        Fitted: preprocessing fitted on the training rows, the final weights (those of the
        last round's best candidate), and its ``alpha`` and ``corruption`` parameters set to
        the learned values. ``loss_curve_`` and ``n_iter_`` cover the whole path of best
        candidates.
    alpha_ : dict of str to float
        The learned mixture weights (``softmax`` of the final policy mean), keyed by
        ``"ordinary"`` and modality names.
    corruption_ : dict of str to float
        The learned corruption rate of each modality.
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
    ...     n_components=8, embedding_dim=8, hidden_dim=16)
    >>> search = TupleInfoNCESearch(fusion, n_candidates=2, n_rounds=2, epochs_per_round=1,
    ...                             random_state=0).fit(X)
    >>> search.transform(X).shape
    (100, 8)
    >>> sorted(search.alpha_)
    ['medium', 'ordinary', 'strong', 'weak']
    >>> len(search.history_["reward_best"])
    2
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "transform"])],
        "n_candidates": [Interval(Integral, 2, None, closed="left")],
        "n_rounds": [Interval(Integral, 1, None, closed="left")],
        "epochs_per_round": [Interval(Integral, 1, None, closed="left")],
        "search": [tuple, list],
        "sigma": [Interval(Real, 0, None, closed="neither")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "reward": [StrOptions({"log_prob", "accuracy"})],
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
        search=("alpha", "corruption"),
        sigma=0.7,
        learning_rate=0.25,
        reward="log_prob",
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

    def _split(self, n_samples):
        n_validation = math.ceil(self.validation_fraction * n_samples)
        n_train = n_samples - n_validation
        if n_validation < 2 or n_train < 2:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} splits {n_samples} rows into "
                f"{n_train} for training and {n_validation} for the reward; each side needs "
                "at least 2."
            )
        return n_validation

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Search alpha and beta while training the encoder; keep the best weights.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            The table.
        y : None
            Ignored.

        Returns
        -------
        self : TupleInfoNCESearch
        """
        searched = self._check_search()
        template = clone(self.estimator).set_params(verbose=0)
        template._validate_params()
        specs = check_modalities(template.modalities)
        names = [spec[0] for spec in specs]
        keys = ["ordinary", *names]
        alpha_init = resolve_alpha(template.alpha, names)
        corruption_init = resolve_corruption(template.corruption, names)
        device = _resolve_device(template.device)
        n_samples = _num_samples(X)
        n_validation = self._split(n_samples)

        base = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        order = np.random.default_rng(_seed(base, 0)).permutation(n_samples)
        validation_rows, train_rows = np.sort(order[:n_validation]), np.sort(order[n_validation:])

        # Preprocessing is fitted once; every candidate reuses these tensors.
        features, missing = template._fit_preprocessing(
            specs, _safe_indexing(X, train_rows), device
        )
        X_validation = template._validate_input(_safe_indexing(X, validation_rows), reset=False)
        val_features, val_missing = template._encode_input(X_validation, device=device)
        if device.type == "cpu":  # NumPy views: joblib memory-maps them for its workers
            train = (features.numpy(), missing.numpy())
            validation = (val_features.numpy(), val_missing.numpy())
        else:
            train, validation = (features, missing), (val_features, val_missing)
        # What a worker needs to build a net: the parameters and the modality widths.
        worker_template = clone(template)
        worker_template.output_indices_ = template.output_indices_

        # The policy: mu over u (alpha = softmax(u)) and v (beta = BETA_MAX * sigmoid(v)).
        u0 = np.log(np.maximum(alpha_init, _INIT_FLOOR))
        ratio = np.clip(np.array(list(corruption_init.values())) / BETA_MAX,
                        _INIT_FLOOR, 1 - _INIT_FLOOR)
        v0 = np.log(ratio) - np.log1p(-ratio)
        parts = [(name, init) for name, init in (("alpha", u0 - u0.mean()), ("corruption", v0))
                 if name in searched]
        sizes = [len(init) for _, init in parts]
        mu = np.concatenate([init for _, init in parts])
        adam = _Adam(len(mu), self.learning_rate)

        def decode(theta):
            pieces = dict(zip([name for name, _ in parts], np.split(theta, np.cumsum(sizes)[:-1])))
            alpha = _softmax(pieces["alpha"]) if "alpha" in pieces else alpha_init
            if "corruption" in pieces:
                corruption = dict(zip(names, (BETA_MAX * _sigmoid(pieces["corruption"])).tolist()))
            else:
                corruption = dict(corruption_init)
            return alpha, corruption

        weight_seed = _seed(base, 1)
        state, lineage_loss = None, []
        history = {"round": []}
        for r in range(self.n_rounds):
            noise = np.random.default_rng(_seed(base, 2, r)).standard_normal(
                (self.n_candidates, len(mu))
            )
            thetas = mu + self.sigma * noise
            settings = [decode(theta) for theta in thetas]
            reward_seed = _seed(base, 4, r)
            results = Parallel(n_jobs=self.n_jobs)(
                delayed(_train_candidate)(
                    worker_template, alpha, corruption,
                    weight_seed=weight_seed,
                    augment_seed=_seed(base, 3, r, 0),
                    shuffle_seed=_seed(base, 3, r, 1),
                    epochs=self.epochs_per_round,
                    initial_state=state,
                    train=train,
                    validation=validation,
                    reward_seed=reward_seed,
                )
                for alpha, corruption in settings
            )
            accuracy = np.array([result[2] for result in results])
            log_prob = np.array([result[3] for result in results])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN: checked below
                rewards = np.nanmean(accuracy if self.reward == "accuracy" else log_prob, axis=1)
            if not np.isfinite(rewards).all():
                raise ValueError(
                    "The reward is not finite: no validation row has any modality present."
                )
            best = int(np.argmax(rewards))
            state = results[best][0]
            lineage_loss += results[best][1]

            mean_alpha, mean_corruption = decode(mu)
            self._record(history, r, keys, names, mean_alpha, mean_corruption, settings,
                         rewards, best, accuracy[best], log_prob[best])

            advantage = (rewards - rewards.mean()) / (rewards.std() + _ADVANTAGE_EPS)
            # grad_mu log N(theta_b; mu, sigma^2 I) = (theta_b - mu) / sigma^2
            gradient = (advantage[:, None] * (thetas - mu)).mean(axis=0) / self.sigma**2
            mu = mu + adam.step(gradient)
            if self.verbose > 0:
                alpha_now, _ = decode(mu)
                print(
                    f"[TupleInfoNCESearch] round {r + 1}/{self.n_rounds}: best reward "
                    f"{rewards[best]:.4f}; alpha "
                    + ", ".join(f"{k}={a:.3f}" for k, a in zip(keys, alpha_now)),
                    flush=True,
                )

        alpha, corruption = decode(mu)
        # The final weights, in a net of the learned setting: a "fit" of 0 epochs sets up
        # the net (and its callbacks) exactly as a completed training does.
        net = template._build_net(
            alpha, corruption, weight_seed=weight_seed, augment_seed=_seed(base, 5, 0),
            shuffle_seed=_seed(base, 5, 1), max_epochs=0, initial_state=state,
        )
        net.fit({"x": features, "missing": missing}, None)
        template._set_trained(net, alpha, corruption)
        template.loss_curve_ = lineage_loss
        template.n_iter_ = len(lineage_loss)
        template._eval_seed = _seed(base, 5, 2)
        template.set_params(alpha=dict(template.alpha_), corruption=dict(corruption),
                            verbose=self.estimator.verbose)
        self.best_estimator_ = template
        self.alpha_ = dict(template.alpha_)
        self.corruption_ = dict(template.corruption_)
        self.history_ = history
        return self

    @staticmethod
    def _record(history, r, keys, names, alpha, corruption, settings, rewards, best,
                accuracy, log_prob):
        row = {"round": r}
        row.update({f"alpha_{key}": float(a) for key, a in zip(keys, alpha)})
        row.update({f"corruption_{name}": float(corruption[name]) for name in names})
        row["candidate_alpha"] = [dict(zip(keys, np.asarray(a).tolist())) for a, _ in settings]
        row["candidate_corruption"] = [dict(c) for _, c in settings]
        row["candidate_reward"] = rewards.tolist()
        row["best_candidate"] = best
        row["reward_best"] = float(rewards[best])
        row["reward_mean"] = float(rewards.mean())
        row.update({f"accuracy_{name}": float(a) for name, a in zip(names, accuracy)})
        row.update({f"log_prob_{name}": float(p) for name, p in zip(names, log_prob)})
        for key, value in row.items():
            history.setdefault(key, []).append(value)

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
