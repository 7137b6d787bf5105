"""Golden results: fixed-seed fits and searches, against values written before a refactor.

Code that moves between modules must not change what a fixed ``random_state`` gives. The
values in ``tests/data/golden.npz`` were written by this file's ``--write`` (see the end),
first on the commit before the modules were split (which kept them bit for bit), again when
the search gained its lineage and the cross-modal scores were batched (which moved the
searches' rewards by float rounding); ``--compare`` reports, case by case, whether the
current code gives them bit for bit, which is how a refactor is checked on the machine
that wrote them. Write them anew only with a change that means to change results, and say
so in its commit.

The test itself allows float rounding: another CPU may order float sums differently (a
fresh clone on another 2-core machine differed in the last bits), and a few epochs of
training carry such a difference only to about 1e-6 here. A change of behaviour (another
seed, another batch order, another loss) moves these values by far more.
"""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sktnce import TupleInfoNCEFusion, TupleInfoNCESearch
from sktnce.datasets import make_multimodal_classification

GOLDEN = Path(__file__).parent / "data" / "golden.npz"
RTOL, ATOL = 1e-4, 1e-5

SMALL = {"n_components": 8, "embedding_dim": 8, "hidden_dim": 16, "batch_size": 64,
         "max_epochs": 3, "score_chunk_size": 16, "random_state": 0}


def _table():
    X, y, columns = make_multimodal_classification(n_samples=200, random_state=0)
    X = X.copy()
    # Rows that lack a modality, and a categorical block, reach every code path.
    X[:12, columns["weak"]] = np.nan
    category = (X[:, columns["medium"][0]] > 0).astype(float)[:, None]
    X = np.hstack([X, category])
    modalities = [
        ("strong", StandardScaler(), columns["strong"]),
        ("medium", StandardScaler(), columns["medium"]),
        ("weak", StandardScaler(), columns["weak"]),
        ("kind", OneHotEncoder(sparse_output=False), [X.shape[1] - 1]),
    ]
    return X, y, modalities


def _fusion(modalities, **params):
    return TupleInfoNCEFusion(modalities=modalities, **{**SMALL, **params})


def _fusion_case(**params):
    def run():
        X, _, modalities = _table()
        fusion = _fusion(modalities, **params).fit(X)
        values = {"transform": fusion.transform(X), "loss_curve": np.array(fusion.loss_curve_),
                  "cross_modal": np.array(list(fusion.cross_modal_accuracy(X).values()))}
        if params.get("warm_start"):
            fusion.set_params(max_epochs=2, alpha=[0.4, 0.3, 0.1, 0.1, 0.1]).fit(X)
            values["warm_transform"] = fusion.transform(X)
            values["warm_loss_curve"] = np.array(fusion.loss_curve_)
        return values
    return run


def _search_case(**params):
    def run():
        X, y, modalities = _table()
        fit_y = None
        if params.get("reward") == "probe":
            fit_y = np.where(np.arange(len(y)) % 4 == 0, y, -1)
        found = TupleInfoNCESearch(
            _fusion(modalities, max_epochs=2),
            **{"n_candidates": 3, "n_rounds": 2, "epochs_per_round": 1, "random_state": 0,
               "search": ("alpha", "corruption"), "branch_fraction": None, "refit": True,
               **params},
        ).fit(X, fit_y)
        best = found.best_estimator_
        return {
            "transform": found.transform(X),
            "alpha": np.array(list(found.alpha_.values())),
            "corruption": np.array(list(found.corruption_.values())),
            "reward": np.array(found.search_results_["reward"]),
            "best_loss_curve": np.array(best.loss_curve_),
        }
    return run


CASES = {
    "fusion_default": _fusion_case(),
    "fusion_paper_loss": _fusion_case(reconstruction=0.0, alpha=[0.5, 0.2, 0.1, 0.1, 0.1]),
    "fusion_modalities_out": _fusion_case(output="fused_and_modalities", partial_share=0.5,
                                          lr_schedule="one_cycle", n_derangements=2),
    "fusion_warm_start": _fusion_case(warm_start=True),
    "search_batched": _search_case(),
    "search_one_by_one": _search_case(batch_candidates=False, n_jobs=1),
    "search_no_refit": _search_case(refit=False, reward="log_prob"),
    "search_probe": _search_case(reward="probe"),
    "search_lineage": _search_case(branch_fraction=0.25, refit=False),
    "search_lineage_one_by_one": _search_case(branch_fraction=0.25, refit=False,
                                              batch_candidates=False, n_jobs=1),
}


def _run_case(name):
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return CASES[name]()
    finally:
        torch.set_num_threads(previous)


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name):
    golden = np.load(GOLDEN)
    values = _run_case(name)
    for key, value in values.items():
        expected = golden[f"{name}/{key}"]
        assert value.shape == expected.shape, key
        np.testing.assert_allclose(value, expected, rtol=RTOL, atol=ATOL, err_msg=key)


def _main(mode):
    if mode == "--write":
        values = {f"{name}/{key}": value for name in CASES
                  for key, value in _run_case(name).items()}
        GOLDEN.parent.mkdir(exist_ok=True)
        np.savez_compressed(GOLDEN, **values)
        print(f"wrote {len(values)} arrays to {GOLDEN}")
        return 0
    golden = np.load(GOLDEN)
    differing = 0
    for name in CASES:
        for key, value in _run_case(name).items():
            expected = golden[f"{name}/{key}"]
            exact = value.shape == expected.shape and np.array_equal(value, expected)
            gap = np.abs(value - expected).max() if value.shape == expected.shape else np.inf
            differing += not exact
            print(f"{name}/{key}: {'identical' if exact else f'differs, max gap {gap:.3g}'}")
    return 1 if differing else 0


if __name__ == "__main__":  # python tests/test_golden.py --write | --compare
    sys.exit(_main(sys.argv[1] if len(sys.argv) > 1 else "--compare"))
