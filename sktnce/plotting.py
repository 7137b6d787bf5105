"""Plots of a fitted search. Needs matplotlib: ``pip install sktnce[plot]``."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = ["plot_search_history"]


def _import_pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(
            "plot_search_history needs matplotlib, an optional dependency of sktnce; "
            "install it with `pip install matplotlib` or `pip install sktnce[plot]`."
        ) from error
    return plt


def plot_search_history(search, *, figsize=(6.4, 7.2)):
    """Draw a fitted search's alpha and beta trajectories and its reward per round.

    One figure with three panels sharing the round axis: the policy mean of every mixture
    weight alpha (ordinary negatives and each modality's disturbed negatives), the policy
    mean of every modality's corruption rate beta, and the reward (the best candidate's,
    the candidates' mean, and every candidate as a dot). The trajectories run from the
    starting point (round 0) to the learned values after the last round.

    Parameters
    ----------
    search : TupleInfoNCESearch
        A fitted search.
    figsize : tuple of float, default=(6.4, 7.2)
        Size of the figure, in inches.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sktnce import TupleInfoNCEFusion, TupleInfoNCESearch
    >>> from sktnce.datasets import make_multimodal_classification
    >>> from sktnce.plotting import plot_search_history
    >>> X, y, columns = make_multimodal_classification(n_samples=60, random_state=0)
    >>> fusion = TupleInfoNCEFusion(
    ...     modalities=[(name, StandardScaler(), cols) for name, cols in columns.items()],
    ...     n_components=4, embedding_dim=4, hidden_dim=8, max_epochs=2)
    >>> search = TupleInfoNCESearch(fusion, n_candidates=2, n_rounds=2, epochs_per_round=1,
    ...                             random_state=0).fit(X)
    >>> fig = plot_search_history(search)
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['alpha (mixture weight)', 'corruption (beta)', 'reward (rankme)']
    >>> import matplotlib.pyplot as plt
    >>> plt.close(fig)
    """
    check_is_fitted(search, "history_")
    plt = _import_pyplot()
    history = search.history_
    rounds = np.asarray(history["round"])
    steps = np.append(rounds, rounds[-1] + 1 if len(rounds) else 0)

    fig, (ax_alpha, ax_beta, ax_reward) = plt.subplots(3, 1, sharex=True, figsize=figsize,
                                                       layout="constrained")
    for key, final in search.alpha_.items():
        label = "ordinary" if key == "ordinary" else f"{key} (disturbed)"
        ax_alpha.plot(steps, [*history[f"alpha_{key}"], final], marker="o", label=label)
    ax_alpha.set_ylabel("alpha (mixture weight)")
    ax_alpha.set_title("Policy mean per round")
    ax_alpha.legend(title="negatives", fontsize="small")

    for name, final in search.corruption_.items():
        ax_beta.plot(steps, [*history[f"corruption_{name}"], final], marker="o", label=name)
    ax_beta.set_ylabel("corruption (beta)")
    ax_beta.legend(title="modality", fontsize="small")

    for r, rewards in zip(rounds, history["candidate_reward"]):
        ax_reward.scatter(np.full(len(rewards), r), rewards, color="0.6", s=12,
                          label="candidates" if r == rounds[0] else None)
    ax_reward.plot(rounds, history["reward_best"], marker="o", label="best candidate")
    ax_reward.plot(rounds, history["reward_mean"], linestyle="--", label="candidates' mean")
    ax_reward.set_ylabel(f"reward ({search.reward})")
    ax_reward.set_xlabel("round")
    ax_reward.legend(fontsize="small")
    return fig
