"""The search's results table: one row per candidate, and the round summaries derived from it."""

import numpy as np

__all__ = ["SearchResults"]


class SearchResults:
    """``search_results_`` (one entry per candidate of every round) and ``history_`` (one
    per round, derived from its candidates' rows), as dicts of lists that
    ``pandas.DataFrame`` reads."""

    def __init__(self, names):
        self.names = list(names)
        self.candidates = {}
        self.history = {}

    def add_round(self, round_index, mean, settings, results, rewards, best):
        """Record a round: the policy ``mean`` its candidates were drawn around (a Setting),
        their ``settings``, ``results`` (dicts of scores and times) and ``rewards``, and
        the index of the ``best`` candidate."""
        ranks = np.empty(len(rewards), dtype=int)
        ranks[np.argsort(-rewards, kind="stable")] = np.arange(1, len(rewards) + 1)
        rows = [self._candidate_row(round_index, index, setting, result, rewards[index],
                                    ranks[index])
                for index, (setting, result) in enumerate(zip(settings, results))]
        for row in rows:
            _append(self.candidates, row)
        _append(self.history, self._round_row(round_index, mean, rows, rewards, best))

    def _per_modality(self, prefix, values):
        return {f"{prefix}_{name}": float(value) for name, value in zip(self.names, values)}

    def _candidate_row(self, round_index, index, setting, result, reward, rank):
        return {
            "round": round_index,
            "candidate": index,
            "param_alpha": setting.alpha_by_name,
            "param_corruption": dict(setting.corruption),
            "reward": float(reward),
            "rank_in_round": int(rank),
            **self._per_modality("accuracy", result["accuracy"]),
            **self._per_modality("log_prob", result["log_prob"]),
            **{key: float(result[key]) for key in ("rankme", "probe", "fit_time", "score_time")},
        }

    def _round_row(self, round_index, mean, rows, rewards, best):
        return {
            "round": round_index,
            **{f"alpha_{key}": weight for key, weight in mean.alpha_by_name.items()},
            **{f"corruption_{name}": rate for name, rate in mean.corruption.items()},
            "candidate_alpha": [row["param_alpha"] for row in rows],
            "candidate_corruption": [row["param_corruption"] for row in rows],
            "candidate_reward": [row["reward"] for row in rows],
            "best_candidate": best,
            "reward_best": rows[best]["reward"],
            "reward_mean": float(rewards.mean()),
            **{key: value for key, value in rows[best].items()
               if key.startswith(("accuracy_", "log_prob_"))},
        }


def _append(table, row):
    for key, value in row.items():
        table.setdefault(key, []).append(value)
