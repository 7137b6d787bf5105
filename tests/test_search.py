import pickle
from typing import NamedTuple

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sktnce._candidates
import sktnce._discrimination
import sktnce._fusion
import sktnce._search
from sktnce import TupleInfoNCEFusion, TupleInfoNCESearch
from sktnce._policy import BETA_MAX
from sktnce.datasets import make_multimodal_classification

from .conftest import FAST

TINY = {"n_candidates": 2, "n_rounds": 2, "epochs_per_round": 1, "random_state": 0}


def fusion(modalities, **params):
    return TupleInfoNCEFusion(**{**FAST, "modalities": modalities, "score_chunk_size": 16,
                                 **params})


def search(modalities, **params):
    return TupleInfoNCESearch(fusion(modalities), **{**TINY, **params})


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    # The candidates train with one thread each; so do the baselines here, which keeps
    # the module fast on a small shared machine.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def fitted():
    X, _, columns = make_multimodal_classification(n_samples=160, random_state=0)
    modalities = [(name, StandardScaler(), cols) for name, cols in columns.items()]
    return X, search(modalities, refit=True).fit(X)


def test_search_loop_climbs_a_known_reward(data, modalities, monkeypatch):
    # The round loop with a reward that grows with alpha["weak"] and falls with
    # beta["strong"]: the policy mean must move that way.
    X, _, _ = data

    def scored_by_setting(start, setting, round_, data):
        reward = setting.alpha[3] - setting.corruption["strong"]
        return {"estimator": start, "accuracy": np.full(3, 0.5), "log_prob": np.full(3, 0.5),
                "rankme": reward, "probe": np.nan, "fit_time": 0.0, "score_time": 0.0}

    monkeypatch.setattr(sktnce._search, "fit_and_score_candidate", scored_by_setting)
    found = search(modalities, n_candidates=5, n_rounds=8, learning_rate=0.25,
                   search=("alpha", "corruption"), batch_candidates=False).fit(X)
    weak, strong = found.history_["alpha_weak"], found.history_["corruption_strong"]
    assert weak[0] == pytest.approx(0.25) and strong[0] == pytest.approx(0.3)
    assert found.alpha_["weak"] > weak[len(weak) // 2] > weak[0]
    assert found.corruption_["strong"] < strong[len(strong) // 2] < strong[0]
    assert found.alpha_["weak"] == max(found.alpha_.values())  # max returns one of them


def test_search_helps_the_weak_modality_against_whole_tuple_contrast():
    # A dominant modality (many private factors, little noise) and a weak one (few
    # columns, much noise). The search starts at uniform alpha and may only move alpha;
    # whole-tuple contrast, alpha = (1, 0, 0, 0), trains as many epochs as the search's path.
    X, _, columns = make_multimodal_classification(
        n_samples=700, noise=(0.05, 0.3, 0.6), n_nuisance=(10, 2, 1), random_state=0
    )
    X_train, X_test = X[:300], X[300:]
    modalities = [(name, StandardScaler(), cols) for name, cols in columns.items()]
    params = {"modalities": modalities, "n_components": 16, "embedding_dim": 16,
              "hidden_dim": 32, "batch_size": 32, "lr": 3e-3, "score_chunk_size": 16}
    n_rounds, epochs = 6, 2
    found = TupleInfoNCESearch(
        TupleInfoNCEFusion(**params), n_candidates=4, n_rounds=n_rounds,
        epochs_per_round=epochs, search=("alpha",), reward="log_prob", refit=False,
        random_state=0,
    ).fit(X_train)
    whole_tuple = TupleInfoNCEFusion(
        **params, alpha=(1, 0, 0, 0), max_epochs=n_rounds * epochs, random_state=0
    ).fit(X_train)

    assert found.alpha_ != pytest.approx({key: 0.25 for key in found.alpha_})
    # On rows neither saw, the weak modality's mean log-probability of retrieving the rest
    # of its row (the smooth reward) beats whole-tuple contrast's: measured 5 of 5 seeds.
    # Neither the direction of alpha["weak"] (up in 2 of 5 seeds) nor top-1 accuracy
    # (lower in 4 of 5) is reliable at this size, so neither is asserted.
    _, log_prob_found = found.best_estimator_._cross_modal_scores(X_test)
    _, log_prob_whole = whole_tuple._cross_modal_scores(X_test)
    weak = list(columns).index("weak")
    assert log_prob_found[weak] > log_prob_whole[weak]
    # The weak modality is used: top-1 well above chance, 1 / score_chunk_size.
    assert found.cross_modal_accuracy(X_test)["weak"] > 1.0 / 16


@pytest.mark.parametrize("batch_candidates", [True, False])
def test_same_random_state_same_history_whatever_n_jobs(data, modalities, batch_candidates):
    X, _, _ = data
    a = search(modalities, n_jobs=1, batch_candidates=batch_candidates).fit(X)
    b = search(modalities, n_jobs=1, batch_candidates=batch_candidates).fit(X)
    c = search(modalities, n_jobs=2, batch_candidates=batch_candidates).fit(X)
    d = search(modalities, n_jobs=1, random_state=1, batch_candidates=batch_candidates).fit(X)
    # Exact: n_jobs changes only the process a candidate runs in, not its path. Every
    # candidate trains and is scored on one torch thread (_CANDIDATE_THREADS) wherever it
    # runs, and the refit and transform run here, on this module's one thread.
    assert a.history_ == b.history_ == c.history_
    assert np.array_equal(a.transform(X), b.transform(X))
    assert np.array_equal(a.transform(X), c.transform(X))
    assert a.history_ != d.history_


def test_fitted_attributes(fitted):
    X, found = fitted
    pd = pytest.importorskip("pandas")
    best = found.best_estimator_
    assert isinstance(best, TupleInfoNCEFusion)
    assert sum(found.alpha_.values()) == pytest.approx(1.0)
    assert list(found.alpha_) == ["ordinary", "strong", "medium", "weak"]
    assert all(0 < rate < BETA_MAX for rate in found.corruption_.values())
    # The refit: the estimator's own epochs on all rows, with the learned setting.
    # Exact: one source, the decoded policy mean; the refit's alpha_ is its alpha_by_name,
    # and best.alpha a dict copy of it.
    assert best.alpha == best.alpha_ == found.alpha_
    assert best.corruption == best.corruption_ == found.corruption_
    assert best.n_iter_ == found.estimator.max_epochs
    assert best.modalities_[0][1].n_samples_seen_ == len(X)
    # The refit is the estimator's own fit (its random_state too) with the learned setting.
    again = clone(found.estimator).set_params(alpha=found.alpha_,
                                              corruption=found.corruption_).fit(X)
    # Exact: one path. Both train with _training.train on Preprocessing.fit's tensors of X,
    # and resolving the learned alpha again gives it back bit for bit (resolve_alpha keeps
    # weights that already sum to 1).
    assert np.array_equal(found.transform(X), again.transform(X))
    assert found.n_features_in_ == X.shape[1]
    results = pd.DataFrame(found.search_results_)
    assert len(results) == 4  # n_rounds * n_candidates
    assert {"reward", "accuracy_weak", "log_prob_weak", "rankme", "probe", "fit_time",
            "param_corruption"} <= set(results.columns)
    table = pd.DataFrame(found.history_)
    assert len(table) == 2
    assert {"round", "alpha_weak", "corruption_weak", "reward_best", "reward_mean",
            "candidate_reward", "candidate_alpha", "accuracy_weak"} <= set(table.columns)
    # Exact: history_ copies its rewards from the same candidate rows as search_results_.
    for row, (_, group) in zip(table.itertuples(), results.groupby("round")):
        assert row.candidate_reward == group["reward"].tolist()
        assert row.best_candidate == int(group["reward"].argmax())
        assert row.reward_best == group["reward"].max()
    # Round 0 is drawn around the estimator's own setting.
    assert table["alpha_ordinary"][0] == pytest.approx(0.25)
    assert table["corruption_weak"][0] == pytest.approx(0.3)


def test_by_default_the_best_estimator_is_the_lineage(data, modalities):
    X, _, _ = data
    found = search(modalities).fit(X)
    best = found.best_estimator_
    # The lineage's last epochs trained with the policy's final mean: exactly alpha_.
    assert best.alpha == best.alpha_ == found.alpha_
    assert best.corruption == best.corruption_ == found.corruption_
    assert best.n_iter_ == len(best.loss_curve_) == 2  # n_rounds * epochs_per_round
    assert best.modalities_[0][1].n_samples_seen_ == 160  # fitted once, on all rows
    assert not best.warm_start and best.max_epochs == best.n_iter_
    # The candidates branched off it: n_candidates per round, each scored.
    assert len(found.search_results_["reward"]) == 4


def test_without_branches_or_refit_the_best_estimator_is_the_last_best_candidate(
        data, modalities):
    pd = pytest.importorskip("pandas")
    X, _, _ = data
    found = search(modalities, branch_fraction=None, refit=False).fit(X)
    best = found.best_estimator_
    # best_estimator_ carries the setting its final weights trained with: the last
    # round's best candidate's; alpha_ and corruption_ are the policy's final mean.
    # best.alpha == best.alpha_ is exact: alpha is a dict copy of alpha_.
    results = pd.DataFrame(found.search_results_)
    last_best = results[(results["round"] == 1) & (results["rank_in_round"] == 1)].iloc[0]
    assert best.alpha == best.alpha_ == pytest.approx(last_best["param_alpha"])
    assert best.corruption == best.corruption_ == pytest.approx(last_best["param_corruption"])
    assert found.alpha_ != pytest.approx(best.alpha_)
    assert best.n_iter_ == len(best.loss_curve_) == 2  # n_rounds * epochs_per_round
    assert best.modalities_[0][1].n_samples_seen_ == 160  # fitted once, on all rows
    assert not best.warm_start and best.max_epochs == best.n_iter_


def test_delegates_to_best_estimator(fitted):
    X, found = fitted
    best = found.best_estimator_
    assert np.array_equal(found.transform(X), best.transform(X))
    assert found.transform(X).shape == (len(X), 8)
    assert found.score(X) == best.score(X)
    assert 0 <= found.score(X) <= 1
    assert found.cross_modal_accuracy(X) == best.cross_modal_accuracy(X)
    assert list(found.get_feature_names_out()) == list(best.get_feature_names_out())


def test_pickle_and_clone_round_trip(fitted, modalities):
    X, found = fitted
    restored = pickle.loads(pickle.dumps(found))
    assert np.array_equal(restored.transform(X), found.transform(X))
    refitted = clone(found).fit(X)
    assert np.array_equal(refitted.transform(X), found.transform(X))
    assert refitted.history_ == found.history_


def test_pipeline_and_cross_val_score(data, modalities):
    X, y, _ = data
    pipe = make_pipeline(search(modalities), LogisticRegression(max_iter=200))
    scores = cross_val_score(pipe, X, y, cv=2)
    assert scores.shape == (2,) and np.isfinite(scores).all()


def test_searching_one_parameter_keeps_the_other(data, modalities):
    X, _, _ = data
    only_alpha = search(modalities, search=("alpha",)).fit(X)
    # Exact: an unsearched rate is the estimator's 0.3 passed through, never computed.
    assert only_alpha.corruption_ == {name: 0.3 for name, *_ in modalities}
    assert all(c == only_alpha.corruption_ for row in only_alpha.history_["candidate_corruption"]
               for c in row)
    only_beta = search(modalities, search=["corruption"]).fit(X)
    assert only_beta.alpha_ == pytest.approx({k: 0.25 for k in only_beta.alpha_})
    assert only_beta.corruption_ != only_alpha.corruption_


def test_verbose_prints_one_line_per_round(data, modalities, capsys):
    X, _, _ = data
    search(modalities, verbose=1).fit(X)
    lines = [line for line in capsys.readouterr().out.splitlines() if "TupleInfoNCESearch" in line]
    assert len(lines) == 2
    assert "round 2/2" in lines[1] and "best reward" in lines[1] and "weak=" in lines[1]


def test_not_fitted(modalities, data):
    X, _, _ = data
    with pytest.raises(NotFittedError):
        search(modalities).transform(X)


@pytest.mark.parametrize(
    "params, error, message",
    [
        ({"n_candidates": 1}, ValueError, "n_candidates"),
        ({"sigma": 0.0}, ValueError, "sigma"),
        ({"sigma": -1.0}, ValueError, "sigma"),
        ({"search": ("alpha", "temperature")}, ValueError, "temperature"),
        ({"search": ()}, ValueError, "empty"),
        ({"validation_fraction": 0.1}, ValueError, "at least 2"),  # 1 row of 8
        ({"validation_fraction": 0.8}, ValueError, "at least 2"),  # 1 row of 8 left
        ({"validation_fraction": 1.0}, ValueError, "validation_fraction"),
        ({"reward": "top5"}, ValueError, "reward"),
        ({"estimator": StandardScaler()}, TypeError, "TupleInfoNCEFusion"),
        ({"estimator": "fusion"}, TypeError, "estimator"),
        ({"estimator": TupleInfoNCEFusion(temperature=-1)}, ValueError, "temperature"),
        ({"estimator": TupleInfoNCEFusion(alpha=(1, 0, 0))}, ValueError, "alpha"),
        ({"reward": "probe"}, ValueError, "pass y"),
        ({"validation_fraction": 0.3, "reward": "log_prob"}, ValueError,
         "score_chunk_size=16"),  # 3 of 8 rows
        ({"scoring": 3}, ValueError, "scoring"),
        ({"estimator": TupleInfoNCEFusion(lr_schedule="one_cycle")}, ValueError, "one_cycle"),
        ({"estimator": TupleInfoNCEFusion(n_processes=2)}, ValueError, "n_processes=1"),
    ],
)
def test_bad_parameters_fail_before_training(data, modalities, monkeypatch, params, error,
                                             message):
    X = data[0][:8]

    def no_work(*args, **kwargs):
        pytest.fail("training or preprocessing started despite a bad parameter")

    monkeypatch.setattr(sktnce._search, "fit_and_score_candidate", no_work)
    monkeypatch.setattr(sktnce._search, "_evaluate_stacked", no_work)
    monkeypatch.setattr(sktnce._search, "fit_input", no_work)
    estimator = params.pop("estimator", fusion(modalities))
    with pytest.raises(error, match=message):
        TupleInfoNCESearch(estimator, **{**TINY, **params}).fit(X)


def test_mixed_dtype_dataframe_with_text(frame):
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import OneHotEncoder

    mods = [
        ("numeric", StandardScaler(), ["age", "income"]),
        ("department", OneHotEncoder(handle_unknown="ignore"), ["department"]),
        ("review", make_pipeline(TfidfVectorizer(), TruncatedSVD(4, random_state=0)), "review"),
    ]
    found = search(mods, refit=False).fit(frame)
    assert list(found.feature_names_in_) == list(frame.columns)
    assert found.transform(frame.iloc[:5]).shape == (5, 8)
    assert set(found.corruption_) == {"numeric", "department", "review"}
    # Preprocessing was fitted once, on all 120 rows, as the refit's would be.
    assert found.best_estimator_.modalities_[0][1].n_samples_seen_ == 120


def test_every_candidate_is_scored_on_the_same_query_augmentation(data, modalities,
                                                                   monkeypatch):
    # Each candidate trains with its own beta, but the reward's queries are corrupted at
    # the estimator's score_corruption, so that all candidates face the same task.
    X, _, _ = data
    seen = []
    original = sktnce._discrimination.cross_modal_discrimination

    def spy(*args, corruption, **kwargs):
        seen.append(list(corruption))
        return original(*args, corruption=corruption, **kwargs)

    monkeypatch.setattr(sktnce._discrimination, "cross_modal_discrimination", spy)
    found = search(modalities, search=("corruption",)).fit(X)
    trained_with = {rate for row in found.history_["candidate_corruption"]
                    for c in row for rate in c.values()}
    assert len(trained_with) > 1
    assert len(seen) == 4 and all(c == [0.3] * 3 for c in seen)
    found.set_params(estimator=fusion(modalities, score_corruption=0.1))
    seen.clear()
    found.fit(X)
    assert all(c == [0.1] * 3 for c in seen)


def test_labels_are_ignored_unless_the_reward_names_them(data, modalities):
    X, y, _ = data
    unsupervised = search(modalities).fit(X)
    with_labels = search(modalities).fit(X, y)
    assert unsupervised.history_ == with_labels.history_
    assert np.isnan(with_labels.search_results_["probe"]).all()


def _spy_on_probe_rewards(monkeypatch):
    """A list that gets ``(embedding rows, labels)`` of every probe reward computed."""
    seen = []
    original = sktnce._candidates.labelled_probe_score

    def spy(embedding, labels, **kwargs):
        seen.append((len(embedding), labels.copy()))
        return original(embedding, labels, **kwargs)

    monkeypatch.setattr(sktnce._candidates, "labelled_probe_score", spy)
    return seen


def test_few_label_reward_scores_a_probe_on_the_labelled_rows(data, modalities, monkeypatch):
    X, y, _ = data
    y_partial = np.where(np.arange(len(y)) % 4 == 0, y, -1)
    seen = _spy_on_probe_rewards(monkeypatch)
    found = search(modalities, reward="probe").fit(X, y_partial)
    assert len(seen) == 4
    assert all(n == 40 and np.array_equal(labels, y[::4]) for n, labels in seen)
    # Exact: the reward is the probe score itself, copied into both tables.
    assert found.history_["candidate_reward"][0] == found.search_results_["probe"][:2]
    assert all(0 <= p <= 1 for p in found.search_results_["probe"])
    with pytest.raises(ValueError, match="at least 2 rows"):
        search(modalities, reward="probe").fit(X, np.where(np.arange(len(y)) < 4, y, -1))
    balanced = search(modalities, reward="probe", scoring="balanced_accuracy").fit(X, y_partial)
    assert balanced.search_results_["probe"] != found.search_results_["probe"]


def test_few_label_reward_in_a_grid_search_sees_only_each_folds_labels(data, modalities,
                                                                       monkeypatch):
    from sklearn.model_selection import GridSearchCV, PredefinedSplit

    X, y, _ = data
    y_partial = np.where(np.arange(len(y)) % 2 == 0, y % 2, -1)
    folds = np.arange(len(y)) % 4 // 2  # rows 0, 1 in fold 0; 2, 3 in fold 1; ...
    seen = _spy_on_probe_rewards(monkeypatch)
    pipe = make_pipeline(search(modalities, reward="probe"), LogisticRegression(max_iter=200))
    # The probe behind the search must see the labels too; -1 rows form a class of their
    # own for it, which is fine for this test of what the search reads.
    grid = GridSearchCV(pipe, {"tupleinfoncesearch__sigma": [0.7]}, cv=PredefinedSplit(folds),
                        refit=False)
    grid.fit(X, y_partial)
    # Each fold trains on 80 rows, 40 of them labelled; never the other fold's labels.
    assert [len(labels) for _, labels in seen] == [40] * 8


def test_search_on_validation_rows_fewer_than_a_candidate_set_fails_before_training(
        data, modalities, monkeypatch):
    X, _, _ = data

    def no_work(*args, **kwargs):
        pytest.fail("training started")

    monkeypatch.setattr(sktnce._search, "fit_and_score_candidate", no_work)
    monkeypatch.setattr(sktnce._search, "_evaluate_stacked", no_work)
    for reward in ("log_prob", "accuracy"):
        with pytest.raises(ValueError, match="score_chunk_size=64.*holds out 32"):
            TupleInfoNCESearch(fusion(modalities, score_chunk_size=64), reward=reward,
                               **TINY).fit(X)
    # The label-free rankme reward has no candidate sets.
    monkeypatch.undo()
    found = TupleInfoNCESearch(fusion(modalities, score_chunk_size=64), reward="rankme",
                               **TINY).fit(X)
    # Exact: the reward is the rankme value itself, copied into both tables.
    assert found.history_["candidate_reward"][0] == found.search_results_["rankme"][:2]


def test_sparse_input_is_refused_before_training(data, modalities):
    from scipy import sparse

    X, _, _ = data
    with pytest.raises(TypeError, match="sparse"):
        search(modalities).fit(sparse.csr_matrix(X))


def test_a_failed_search_does_not_look_fitted(data, modalities):
    X, _, _ = data
    found = search(modalities).fit(X)
    state = dict(vars(found))
    with pytest.raises(FloatingPointError):
        found.set_params(estimator=fusion(modalities, lr=1e20)).fit(X)
    assert all(vars(found)[key] is value for key, value in state.items() if key != "estimator")
    with pytest.raises(FloatingPointError):
        TupleInfoNCESearch(fusion(modalities, lr=1e20), **TINY).fit(X)


def test_the_refit_is_a_fresh_fit_of_the_learned_setting(data, modalities):
    X, _, _ = data
    found = search(modalities, batch_candidates=True, refit=True).fit(X)
    fresh = fusion(modalities).set_params(alpha=found.alpha_,
                                          corruption=found.corruption_).fit(X)
    # Exact: one path (see test_fitted_attributes), whatever trained the candidates.
    assert found.best_estimator_.loss_curve_ == fresh.loss_curve_
    assert np.array_equal(found.transform(X), fresh.transform(X))
    assert found.best_estimator_.get_params()["max_epochs"] == fresh.max_epochs


def test_by_default_the_search_trains_on_about_as_many_rows_as_one_fit(data, modalities,
                                                                        monkeypatch):
    # The arithmetic of the design, counted (never timed): the lineage trains
    # n_rounds * epochs_per_round epochs, on the training rows but in its last round, and
    # every round each candidate branches off it for one pass over a quarter of them.
    from sktnce._network import TupleInfoNCEModule

    X, _, _ = data
    trained = []
    original = TupleInfoNCEModule.forward

    def counting(self, x, missing):
        trained.append(len(x) * getattr(self, "n_candidates", 1))
        return original(self, x, missing)

    monkeypatch.setattr(TupleInfoNCEModule, "forward", counting)
    rounds = {"n_candidates": 5, "n_rounds": 2, "epochs_per_round": 5}
    estimator = fusion(modalities, max_epochs=10)

    def rows_trained(model):
        trained.clear()
        model.fit(X)
        return sum(trained)

    one_fit = rows_trained(estimator)
    assert one_fit == 10 * 160
    lineage = rows_trained(TupleInfoNCESearch(estimator, **{**TINY, **rounds}))
    # 5 epochs of the 128 training rows, 5 of all 160, and 2 rounds of 5 branches of 32
    # of the 128 training rows.
    assert lineage == 5 * 128 + 5 * 160 + 2 * 5 * 32 == one_fit * 11 // 10
    rounds_and_refit = rows_trained(TupleInfoNCESearch(
        estimator, **{**TINY, **rounds, "branch_fraction": None, "refit": True}))
    assert rounds_and_refit == 2 * 5 * 5 * 128 + one_fit  # 5 times one fit


# --------------------------------------------------------------------------- target-aware
def _validation_rows(searched, n_samples):
    """The rows a fitted search held out for its reward (its own split, re-derived)."""
    from sklearn.utils import check_random_state

    base = int(check_random_state(searched.random_state).randint(np.iinfo(np.int32).max))
    return sktnce._search._split(
        n_samples, searched.validation_fraction, sktnce._search.REWARDS[searched.reward],
        searched.estimator.score_chunk_size,
        sktnce._search.derive_seed(base, sktnce._search._SPLIT)).validation


def test_validation_rows_train_only_after_the_last_reward(data, modalities):
    # A target-aware lineage with the label-free reward: the validation rows' labels
    # reach neither a reward nor a candidate (the same history, bit for bit), but the
    # lineage's last round, after the last reward, trains on them.
    X, y, _ = data
    aware = TupleInfoNCESearch(fusion(modalities, label_weight=1.0), **TINY)
    found = clone(aware).fit(X, y)
    np.testing.assert_array_equal(found.best_estimator_.classes_, np.unique(y))
    validation = _validation_rows(found, len(X))
    relabelled = y.copy()
    relabelled[validation] = np.random.default_rng(0).permutation(y[validation])
    other = clone(aware).fit(X, relabelled)
    assert other.history_ == found.history_
    assert not np.array_equal(found.transform(X), other.transform(X))
    relabelled = y.copy()
    train = np.setdiff1d(np.arange(len(X)), validation)
    relabelled[train] = np.random.default_rng(0).permutation(y[train])
    assert clone(aware).fit(X, relabelled).history_ != found.history_


def test_target_aware_refit_trains_on_every_label_and_the_probe_reads_held_out_ones(
        data, modalities, monkeypatch):
    X, y, _ = data
    seen = _spy_on_probe_rewards(monkeypatch)
    refit = _spy_on_training(monkeypatch, sktnce._search)
    aware = TupleInfoNCESearch(fusion(modalities, label_weight=1.0), **TINY, reward="probe",
                               validation_fraction=0.5, refit=True)
    found = aware.fit(X, y)
    assert {len(labels) for _, labels in seen} == {len(_validation_rows(found, len(X)))}
    # The refit, the one training of the search module itself, trains on every label.
    assert len(refit) == 1 and refit[0].rows is None
    np.testing.assert_array_equal(refit[0].codes, np.searchsorted(np.unique(y), y))
    assert found.best_estimator_.n_iter_ == FAST["max_epochs"]
    with pytest.raises(ValueError, match="among the validation rows"):
        clone(aware).set_params(validation_fraction=0.05).fit(X, y)


# ------------------------------------------------------------------ scoring and labels
class CountingScaler(StandardScaler):
    """A StandardScaler that counts its ``transform`` calls (in a class-level list, which
    clones share)."""

    calls = []

    def transform(self, X, copy=None):
        CountingScaler.calls.append(len(X))
        return super().transform(X, copy=copy)


def test_search_fits_under_pandas_output(data, modalities):
    pd = pytest.importorskip("pandas")
    from sklearn import config_context

    X, _, _ = data
    with config_context(transform_output="pandas"):
        found = search(modalities).fit(X)
        assert isinstance(found.transform(X), pd.DataFrame)
    plain = search(modalities).fit(X)
    # Exact: the output container changes no number of the search.
    assert found.history_ == plain.history_
    on_the_estimator = TupleInfoNCESearch(fusion(modalities).set_output(transform="pandas"),
                                          **TINY).fit(X)
    assert on_the_estimator.history_ == plain.history_


def test_candidates_are_scored_without_preprocessing_again(data):
    # The search encodes the validation and labelled rows once; a candidate is scored from
    # them, never through the modalities' transformers.
    X, y, columns = data
    y_partial = np.where(np.arange(len(y)) % 4 == 0, y, -1)
    modalities = [(name, CountingScaler(), cols) for name, cols in columns.items()]
    CountingScaler.calls.clear()
    search(modalities, reward="probe", n_candidates=3, n_rounds=3).fit(X, y_partial)
    # Per modality: fit_transform on all rows, then the validation and labelled rows.
    assert sorted(CountingScaler.calls) == sorted([160, 32, 40] * len(modalities))


class Trained(NamedTuple):
    """What one ``train`` call trained on: its rows (None: all) and label codes (or None)."""

    rows: object
    codes: object


def _spy_on_training(monkeypatch, module):
    """A list that gets the :class:`Trained` of every ``train`` call made by ``module``
    (``_candidates``: the lineage and the one-by-one candidates; ``_search``: the refit)."""
    seen = []
    original = module.train

    def spy(*args, rows=None, labels=None, **kwargs):
        seen.append(Trained(rows, None if labels is None else labels.codes.numpy().copy()))
        return original(*args, rows=rows, labels=labels, **kwargs)

    monkeypatch.setattr(module, "train", spy)
    return seen


@pytest.mark.parametrize("reward", ["rankme", "probe"])
def test_target_aware_search_hides_validation_labels_only_from_a_reward_reading_them(
        data, modalities, monkeypatch, reward):
    X, y, _ = data
    seen = _spy_on_training(monkeypatch, sktnce._candidates)
    found = TupleInfoNCESearch(fusion(modalities, label_weight=1.0), **TINY,
                               reward=reward).fit(X, y)
    validation = _validation_rows(found, len(X))
    train = np.setdiff1d(np.arange(len(X)), validation)
    codes = np.searchsorted(np.unique(y), y)
    # Round by round: the 2 candidates (one by one: a target-aware model cannot be
    # stacked), then the lineage; its last round trains on every row.
    assert len(seen) == 2 * (2 + 1) and seen[-1].rows is None
    for trained in seen:
        np.testing.assert_array_equal(trained.codes[train], codes[train])
        if reward == "probe":  # the reward reads them: no training does
            assert (trained.codes[validation] == -1).all()
        else:  # nothing reads them: the lineage's last round trains on them
            np.testing.assert_array_equal(trained.codes[validation], codes[validation])


def test_target_aware_search_needs_two_classes_among_the_training_labels(
        data, modalities, monkeypatch):
    X, y, _ = data
    found = TupleInfoNCESearch(fusion(modalities, label_weight=1.0), **TINY, reward="probe")
    validation = _validation_rows(found, len(X))
    one_class = np.zeros(len(y), dtype=int)  # every training row in class 0
    one_class[validation] = np.arange(len(validation)) % 2  # 2 classes to score the probe

    def no_work(*args, **kwargs):
        pytest.fail("training started")

    monkeypatch.setattr(sktnce._search, "fit_and_score_candidate", no_work)
    monkeypatch.setattr(sktnce._search, "_evaluate_stacked", no_work)
    with pytest.raises(ValueError, match="validation_fraction"):
        found.fit(X, one_class)


@pytest.mark.parametrize("params", [
    {"refit": False},  # the lineage
    {"refit": False, "branch_fraction": None},  # the last round's best candidate
    {"refit": True},
])
def test_best_estimator_records_the_epochs_its_weights_trained(data, modalities, params):
    X, _, _ = data
    # 2 rounds of 2 epochs, against the estimator's 3: the numbers cannot coincide.
    found = TupleInfoNCESearch(fusion(modalities, max_epochs=3), **{
        **TINY, "epochs_per_round": 2, **params}).fit(X)
    best = found.best_estimator_
    epochs = 3 if params["refit"] else 4
    assert best.max_epochs == best.n_iter_ == len(best.loss_curve_) == epochs
    assert found.estimator.max_epochs == 3
    # A clone refits as many epochs, with the setting its weights last trained with.
    again = clone(best).fit(X)
    assert again.n_iter_ == epochs and again.alpha_ == best.alpha_
    if params["refit"]:  # the refit is a plain fit: its clone gives it back
        assert np.array_equal(again.transform(X), best.transform(X))


@pytest.mark.parametrize("batch_candidates", [True, False])
def test_nothing_trains_on_the_validation_rows_before_the_last_reward(
        data, modalities, monkeypatch, batch_candidates):
    X, _, _ = data
    seen = _spy_on_training(monkeypatch, sktnce._candidates)
    stacked = []
    original = sktnce._candidates.train_stacked

    def spy(*args, rows=None, **kwargs):
        stacked.append(rows)
        return original(*args, rows=rows, **kwargs)

    monkeypatch.setattr(sktnce._candidates, "train_stacked", spy)
    found = search(modalities, n_rounds=3, batch_candidates=batch_candidates).fit(X)
    train = np.setdiff1d(np.arange(len(X)), _validation_rows(found, len(X)))
    rows = [trained.rows for trained in seen] + stacked
    # Every candidate and the lineage's first rounds train on training rows alone; the
    # lineage's last round, after the last reward, on all rows.
    assert len(rows) == 3 * (1 if batch_candidates else 2) + 3 and seen[-1].rows is None
    assert sum(r is None for r in rows) == 1
    assert all(np.isin(r, train).all() for r in rows if r is not None)
    paper = search(modalities, n_rounds=3, branch_fraction=None,
                   batch_candidates=batch_candidates)
    seen.clear(), stacked.clear()
    paper.fit(X)
    assert all(np.array_equal(r, train) for r in [t.rows for t in seen] + stacked)


def test_a_target_aware_fusion_on_a_number_is_not_searched(data, modalities, monkeypatch):
    X, y, _ = data

    def no_work(*args, **kwargs):
        pytest.fail("training started")

    monkeypatch.setattr(sktnce._search, "fit_and_score_candidate", no_work)
    monkeypatch.setattr(sktnce._search, "_evaluate_stacked", no_work)
    found = TupleInfoNCESearch(fusion(modalities, label_weight=1.0,
                                      label_loss="squared_error"), **TINY)
    with pytest.raises(ValueError, match="label_weight=0, then fit"):
        found.fit(X, y.astype(float))
