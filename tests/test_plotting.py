import sys

import pytest
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler

from sktnce import TupleInfoNCEFusion, TupleInfoNCESearch
from sktnce.plotting import plot_search_history

from .conftest import FAST


@pytest.fixture(scope="module")
def fitted_search():
    from sktnce.datasets import make_multimodal_classification

    X, _, columns = make_multimodal_classification(n_samples=80, random_state=0)
    modalities = [(name, StandardScaler(), cols) for name, cols in columns.items()]
    fusion = TupleInfoNCEFusion(**{**FAST, "modalities": modalities, "score_chunk_size": 8})
    return TupleInfoNCESearch(fusion, n_candidates=2, n_rounds=3, epochs_per_round=1,
                              random_state=0).fit(X)


def test_plot_search_history_draws_labelled_trajectories(fitted_search):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    fig = plot_search_history(fitted_search)
    try:
        assert isinstance(fig, Figure)
        ax_alpha, ax_beta, ax_reward = fig.axes
        assert all(ax.get_ylabel() for ax in fig.axes)
        assert ax_reward.get_xlabel() == "round"
        alpha_labels = ax_alpha.get_legend_handles_labels()[1]
        assert alpha_labels == ["ordinary", "strong (disturbed)", "medium (disturbed)",
                                "weak (disturbed)"]
        assert ax_beta.get_legend_handles_labels()[1] == ["strong", "medium", "weak"]
        # Start plus one point after each of the 3 rounds.
        assert all(len(line.get_xdata()) == 4 for line in ax_alpha.get_lines())
        assert "reward" in ax_reward.get_ylabel()
    finally:
        plt.close(fig)


def test_plot_search_history_needs_a_fitted_search():
    pytest.importorskip("matplotlib")
    with pytest.raises(NotFittedError):
        plot_search_history(TupleInfoNCESearch(TupleInfoNCEFusion()))


def test_plot_search_history_without_matplotlib_explains(fitted_search, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        plot_search_history(fitted_search)
