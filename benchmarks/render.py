"""Render the README's results table and ``benchmarks/RESULTS.md`` from the result files.

Every figure comes from a JSON file under ``benchmarks/results/``: the label-efficiency
scores that ``bench_label_efficiency.py --json`` writes, the defaults and target-aware
studies' files, and the ``results_io`` files (``command``, ``defaults``, ``tables``) of the
other benchmarks. Which file feeds which row is written out below (``LABEL_EFFICIENCY``,
``SECTIONS``); a file measured under other defaults than ``TODAY`` feeds only tables that say
so.

    python benchmarks/render.py            # write README.md's table and RESULTS.md
    python benchmarks/render.py --check    # exit 1 where either differs from the rendering
"""

import argparse
import difflib
import json
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import comparison  # noqa: E402
from comparison import paired  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

RESULTS_DIR = HERE / "results"
RESULTS_MD = HERE / "RESULTS.md"
README = HERE.parent / "README.md"
TABLE_MARKERS = ("<!-- results-table: start -->", "<!-- results-table: end -->")
DEMO_MARKERS = ("<!-- demo-figures: start -->", "<!-- demo-figures: end -->")

#: The library's defaults that the current tables were measured under (tests check them
#: against TupleInfoNCEFusion's: a change of default means measuring again).
TODAY = {"max_epochs": 50, "batch_size": 256, "n_components": 32, "corruption": 0.3,
         "modality_dropout": 0.2, "temperature": 0.1, "reconstruction": 3.0, "lr": 0.001,
         "score_chunk_size": 32}
#: The ensemble's default members' boosted-tree parameters that the ensemble's tables were
#: measured under (tests check them against sktnce's).
TODAY_TREES = {"max_iter": 25, "learning_rate": 0.4}
#: The same, in words.
TODAY_TREES_IN_WORDS = "a quarter of scikit-learn's rounds at four times its learning rate"


def trees_label(params):
    """``"max_iter=50, learning_rate=0.2"``: tree parameters as the study's rows name them
    (``methods.trees_label``, which render does not import: it would bring torch)."""
    return ", ".join(f"{key}={value}" for key, value in params.items())


TODAY_TREES_LABEL = trees_label(TODAY_TREES)
#: Above this many preprocessed columns the default members' trees take this many bins, not
#: 255 (tests check them against sktnce's).
TODAY_WIDE_COLUMNS, TODAY_WIDE_BINS = 256, 63
TODAY_WIDE_LABEL = f"`max_bins={TODAY_WIDE_BINS}` on more than {TODAY_WIDE_COLUMNS} columns"
MACHINE = ("the project's 2-core AMD EPYC, 24 GiB, no GPU; Python 3.11.7, torch 2.13.0+cpu, "
           "scikit-learn 1.9.1, skorch 1.4.0, numpy 2.4.6")

#: (key, short name, README name), in the study's order.
DATASETS = [
    ("generated", "generated", "generated (strong, medium, weak modality)"),
    ("multiple_features", "Multiple Features", "UCI Multiple Features (6 views)"),
    ("clothing_tfidf", "clothing, TF-IDF", "clothing reviews (numbers, categories, TF-IDF text)"),
    ("movielens", "MovieLens", "MovieLens ratings (user, movie, title)"),
    ("adult", "Adult", "UCI Adult (4 column groups)"),
    ("trump_tweets", "Trump tweets", "Trump's campaign tweets (text, time, engagement)"),
    ("election_tweets", "election tweets", "2016 election tweets (text, metadata, engagement)"),
    ("lending_club", "Lending Club", "Lending Club loans (job title, applicant, credit, loan)"),
    ("telco_churn", "Telco churn", "Telco churn (demographics, services, account)"),
]
SHORT = {key: short for key, short, _ in DATASETS}
REAL = [key for key, _, _ in DATASETS if key != "generated"]
README_ORDER = ["multiple_features", "adult", "movielens", "clothing_tfidf", "generated",
                "trump_tweets", "election_tweets", "lending_club", "telco_churn"]
FRACTIONS = (0.01, 0.05, 0.1, 0.25, 1.0)
LE = "OMP_NUM_THREADS=1 python benchmarks/bench_label_efficiency.py"
RAW, PCA, WHOLE, TNCE, AWARE, MLP = ("raw features", "PCA", "whole-tuple contrast",
                                     "TupleInfoNCE", "TupleInfoNCE, target-aware",
                                     "supervised MLP (reference)")
LABELLED = {AWARE, MLP}


@dataclass(frozen=True)
class Source:
    """``methods`` of the label-efficiency file ``file``, as ``command`` wrote them.
    ``extends``: more fits of rows an earlier source gave (their scores are appended);
    ``optional``: skipped where the file is absent; ``stale``: measured under earlier
    defaults, used only for the 1% and 10% cells that no other source gives, each marked
    with a dagger."""

    file: str
    methods: tuple
    command: str
    extends: bool = False
    optional: bool = False
    stale: bool = False


#: The sources of the label-efficiency table under today's defaults, in order. Raw
#: features, PCA and the MLP do not depend on the fusion's parameters.
NEW_SETS = "--datasets trump_tweets election_tweets lending_club telco_churn "


def _raw_and_mlp(file, datasets, methods):
    """The raw-feature, PCA and MLP rows of ``file``: the first two from its ``--json`` run
    of ``methods``, the MLP's from a run merged into it."""
    return [Source(file, (RAW, PCA),
                   f"{LE} {datasets}{methods}--fit-seeds 3 --json benchmarks/results/{file}"),
            Source(file, (MLP,),
                   f'{LE} {datasets}--methods "TupleInfoNCE, target-aware" "supervised MLP '
                   f'(reference)", merged into {file}')]


LABEL_EFFICIENCY = [
    *_raw_and_mlp("label_efficiency.json", "", ""),
    *_raw_and_mlp("label_efficiency_new_sets.json", NEW_SETS,
                  '--methods "raw features" "PCA" "whole-tuple contrast" "TupleInfoNCE" '),
    Source("label_efficiency_dropout_0.2.json", (WHOLE, TNCE),
           f'{LE} --methods "whole-tuple contrast" "TupleInfoNCE" --fit-seeds 3 --json '
           "benchmarks/results/label_efficiency_dropout_0.2.json (two processes of four and "
           "five sets, merged)"),
    Source("label_efficiency_target_aware.json", (AWARE,),
           f'{LE} --methods "TupleInfoNCE, target-aware" --fractions 0.01 0.1 --json '
           "benchmarks/results/label_efficiency_target_aware.json"),
    Source("label_efficiency_target_aware_fits_1_2.json", (AWARE,),
           f'{LE} --methods "TupleInfoNCE, target-aware" --fractions 0.01 0.1 --fit-seeds 2 '
           "--first-fit 1 --json benchmarks/results/label_efficiency_target_aware_fits_1_2.json",
           extends=True),
]
#: {(data set, method): file} of the cells that a stale source filled.
STALE = {}
METHOD_ORDER = [RAW, PCA, WHOLE, TNCE, AWARE, MLP]


# -- reading ---------------------------------------------------------------------------------

#: The result files read since the module was loaded.
READ = set()


def load(name):
    READ.add(name)
    with open(RESULTS_DIR / name, encoding="utf-8") as f:
        return json.load(f)


def label_efficiency(sources=LABEL_EFFICIENCY):
    """``{dataset: {method: {fraction: [scores]}}}`` merged from ``sources``, in order;
    ``STALE`` holds the cells that a stale source filled."""
    table = {}
    STALE.clear()
    for source in sources:
        if source.optional and not (RESULTS_DIR / source.file).exists():
            continue
        for name, rows in load(source.file).items():
            for method in source.methods:
                if method not in rows:
                    continue
                if source.stale:
                    if method in table.get(name, {}):
                        continue
                    STALE[name, method] = source.file
                    table.setdefault(name, {})[method] = {
                        f: rows[method]["scores"][str(f)] for f in (0.01, 0.1)}
                    continue
                cell = table.setdefault(name, {}).setdefault(method, {})
                for key, scores in rows[method]["scores"].items():
                    fraction = float(key)
                    if source.extends:
                        cell[fraction] = cell[fraction] + list(scores)
                    elif fraction in cell:
                        raise ValueError(f"{source.file}: {name} {method} {key} has a source")
                    else:
                        cell[fraction] = list(scores)
    return table


def used_sources(sources=LABEL_EFFICIENCY):
    """The sources that feed a cell."""
    return [s for s in sources
            if not (s.optional and not (RESULTS_DIR / s.file).exists())
            and not (s.stale and not any(file == s.file and method in s.methods
                                         for (_, method), file in STALE.items()))]


DAGGER = "†"
STALE_NOTE = (f"{DAGGER}: measured under `modality_dropout=0.1`, not yet under today's "
              "defaults.")


def mark(name, method):
    return DAGGER if (name, method) in STALE else ""


# -- formatting ------------------------------------------------------------------------------

def md_table(columns, rows):
    return ["| " + " | ".join(columns) + " |", "|---" * len(columns) + "|",
            *("| " + " | ".join(str(c) for c in row) + " |" for row in rows)]


def defaults_text(defaults):
    """``today's defaults``, or which parameters differ from ``TODAY``."""
    changed = [f"`{k}={v}`" for k, v in defaults.items() if k in TODAY and v != TODAY[k]]
    if not changed:
        return "today's defaults"
    return "today's defaults but " + ", ".join(changed)


def cell(scores):
    return f"{np.mean(scores):.3f} ± {np.std(scores):.3f}"


def paired_cell(a, b):
    mean, sd = paired(a, b)
    mark = " (above)" if mean > sd else " (below)" if -mean > sd else ""
    return f"{mean:+.3f} ± {sd:.3f}{mark}"


def fits(scores, seeds=5):
    """``"3 × 5"``: fits × splits of a cell."""
    return f"{len(scores) // seeds} × {seeds}"


# -- the README ------------------------------------------------------------------------------

README_COLUMNS = [  # (method, fraction, header)
    (RAW, 0.01, "raw 1%"), (TNCE, 0.01, "TupleInfoNCE 1%"), (AWARE, 0.01, "target-aware 1%"),
    (RAW, 0.1, "raw 10%"), (WHOLE, 0.1, "whole-tuple 10%"), (TNCE, 0.1, "TupleInfoNCE 10%"),
    (AWARE, 0.1, "target-aware 10%"), (MLP, 0.1, "MLP 10%"), (RAW, 1.0, "raw 100%"),
    (TNCE, 1.0, "TupleInfoNCE 100%"),
]


def _fit_counts(table, method, fraction):
    """How many fits × splits a column's cells hold, e.g. ``3 fits × 5 splits``."""
    counts = sorted({len(table[name][method][fraction]) for name in README_ORDER})
    text = " or ".join(f"{n // 5} fit{'s' if n // 5 > 1 else ''}" for n in counts)
    return f"{text} × 5 splits"


def _fit_flag(table, method):
    """``--fit-seeds N`` for the most fits a method's cells hold (none for one)."""
    n = max(len(table[name][method][0.1]) for name in README_ORDER) // 5
    return f" --fit-seeds {n}" if n > 1 else ""


def paired_counts(table, a, b, fraction, datasets=REAL):
    """``(above, below)``: the data sets where ``a - b`` is beyond one sd either way."""
    above, below = [], []
    for name in datasets:
        mean, sd = paired(table[name][a][fraction], table[name][b][fraction])
        if mean > sd:
            above.append(SHORT[name])
        elif -mean > sd:
            below.append(SHORT[name])
    return above, below


def _listed(names):
    return f" ({', '.join(names)})" if names else ""


def readme_block(table):
    """The README's table with its caption, between ``TABLE_MARKERS``."""
    defaults = ", ".join(f"{k}={v}" for k, v in TODAY.items() if k != "score_chunk_size")
    caption = (
        "Linear-probe test accuracy (StandardScaler + LogisticRegression) with 1%, 10% and "
        "100% of the training rows labelled, mean over 5 paired stratified 70/30 splits, the "
        "best of each share in bold; every column under today's defaults "
        f"(`{defaults}`){' but the cells marked ' + DAGGER if STALE else ''}. "
        "TupleInfoNCE and whole-tuple contrast (the same model with ordinary "
        f"negatives only): {_fit_counts(table, TNCE, 0.1)}, `bench_label_efficiency.py "
        "--methods \"whole-tuple contrast\" TupleInfoNCE --fit-seeds 3`. Target-aware: the "
        "fusion with `label_weight=3`, fitted with the probe's labelled rows labelled, "
        f"{_fit_counts(table, AWARE, 0.1)}, `bench_label_efficiency.py --methods "
        f"\"TupleInfoNCE, target-aware\" --fractions 0.01 0.1{_fit_flag(table, AWARE)}`. Raw: the "
        "standardised columns (deterministic); MLP: a supervised `MLPClassifier` of the "
        "fusion's widths on the same labelled rows, one fit per split; both "
        "`bench_label_efficiency.py --methods \"raw features\" \"supervised MLP (reference)\"`. "
        "Rendered by `python benchmarks/render.py` from `benchmarks/results/`; full tables, "
        "sources and commands in [benchmarks/RESULTS.md](benchmarks/RESULTS.md).")
    rows = []
    for name in README_ORDER:
        means = [round(float(np.mean(table[name][m][f])), 3) for m, f, _ in README_COLUMNS]
        best = {f: max(v for (_, g, _), v in zip(README_COLUMNS, means) if g == f)
                for f in (0.01, 0.1, 1.0)}
        cells = [(f"**{v:.3f}**" if v == best[f] else f"{v:.3f}") + mark(name, m)
                 for (m, f, _), v in zip(README_COLUMNS, means)]
        rows.append([dict((k, long) for k, _, long in DATASETS)[name], *cells])
    above, below = paired_counts(table, TNCE, WHOLE, 0.1)
    aware_above, aware_below = paired_counts(table, AWARE, TNCE, 0.1)
    summary = (
        f"At 10% of the labels, paired over fits and splits (RESULTS \"Paired differences\"), "
        "TupleInfoNCE is above whole-tuple contrast by more than one standard deviation on "
        f"{len(above)} of the {len(REAL)} real sets{_listed(above)} and below it on "
        f"{len(below)}{_listed(below)}; the target-aware fusion is above TupleInfoNCE on "
        f"{len(aware_above)}{_listed(aware_above)} and below it on "
        f"{len(aware_below)}{_listed(aware_below)}.")
    note = [wrap(STALE_NOTE), ""] if STALE else []
    return "\n".join([TABLE_MARKERS[0], wrap(caption), "",
                      *md_table(["data set", *(h for _, _, h in README_COLUMNS)], rows), "",
                      *note, wrap(summary), TABLE_MARKERS[1]])


DEMO_NAMES = {"raw features": "the raw features",
              "TupleInfoNCE (uniform alpha)": "the fused embedding",
              "whole-tuple contrast (alpha=(1,0,0,0))": "whole-tuple contrast"}
DEMO_METHODS = {"raw features": RAW, "TupleInfoNCE (uniform alpha)": TNCE,
                "whole-tuple contrast (alpha=(1,0,0,0))": WHOLE}


def _order(values):
    return [name for name, _ in sorted(values.items(), key=lambda item: -item[1])]


def demo_sentence():
    """The README's sentences on the demo's figures, from ``demo.json`` and the demo
    generator's fits × splits."""
    [demo] = load("demo.json")["tables"]
    column = {c: i for i, c in enumerate(demo["columns"])}
    printed = {row[0]: row for row in demo["rows"]}
    study = load("label_efficiency_demo_generator.json")["generated"]
    once, over = [], []
    for share, fraction in (("1%", 0.01), ("10%", 0.1)):
        values = {name: float(row[column[f"probe {share}"]]) for name, row in printed.items()}
        once.append(f"with {share} of the labels " + ", ".join(
            f"{DEMO_NAMES[name]} {values[name]:.3f}" for name in _order(values)))
        means = {name: float(np.mean(study[DEMO_METHODS[name]]["scores"][str(fraction)]))
                 for name in printed}
        over.append(f"with {share} " + ", ".join(
            f"{DEMO_NAMES[name]} {means[name]:.3f}" for name in _order(means)))
    count = fits(study[TNCE]["scores"]["0.1"]).replace(" × ", " fits × ")
    return wrap(f"On its one split it prints, {once[0]}; {once[1]}. Over {count} splits of "
                f"the same generator, {over[0]}; {over[1]} (RESULTS \"The demo's generator\").")


#: Stands for a space where no line may break: before a "+", "-" or "*" and its space, which
#: would begin a Markdown list item if they began a line.
_GLUE = "\x00"


def wrap(text, width=95):
    """``text`` wrapped at spaces into lines of at most ``width`` characters, none of them
    beginning with a list marker."""
    glued = re.sub(r" (?=[-+*] )", _GLUE, text)
    return textwrap.fill(glued, width, break_long_words=False,
                         break_on_hyphens=False).replace(_GLUE, " ")


def render_readme(text, table, users):
    """README.md's ``text`` with its rendered blocks: the comparison of ``users`` (the
    rows of ``comparison_rows``) and the advice drawn from it, the probe ``table`` and the
    demo's figures."""
    for (start, end), block in ((COMPARISON_MARKERS, comparison_block(users)),
                                (REGRESSION_MARKERS, regression_block(regression_rows())),
                                (TABLE_MARKERS, readme_block(table)),
                                (ADVICE_MARKERS, advice_block(users)),
                                (DEMO_MARKERS, None)):
        head, found, rest = text.partition(start)
        if not found:
            raise ValueError(f"README.md has no {start}")
        _, found, tail = rest.partition(end)
        if not found:
            raise ValueError(f"README.md has no {end}")
        if block is None:  # inline: the markers stay inside their paragraph
            block = f"{start}\n{demo_sentence()}{end}"
            text = head + block + tail
        else:
            text = head + block + tail
    return text


# -- RESULTS.md ------------------------------------------------------------------------------

def section_label_efficiency(table):
    out = ["## Label efficiency under today's defaults", "",
           wrap("Each representation is learned on all rows (without labels but for the "
                "target-aware fusion and the MLP); then, for 5 seeds, a stratified 70/30 split, "
                "the same for every method, and a linear probe (StandardScaler + "
                "LogisticRegression) trained on 1%, 5%, 10%, 25% and 100% of the training rows "
                "(at least one row per class) and scored on the test rows. A cell is the mean ± "
                "sd over fits × splits (the column \"fits × splits\"). The target-aware fusion "
                "(`label_weight=3`, cross-entropy) is fitted once per fit, split and share with "
                "exactly the probe's labelled rows labelled, `random_state` = split + fit × 5; "
                "the MLP (hidden layers of 64 and 32) once per split, on the labelled rows "
                "alone. Bold: the best row that learns without labels. \"–\": not measured "
                "under today's defaults."), "",
           "Sources, in the order `render.py` merges them:", ""]
    rows = [[", ".join(s.methods), f"`{s.file}`", f"`{s.command}`"] for s in used_sources()]
    out += md_table(["rows", "file", "command"], rows) + [""]
    rows = []
    for key, short, _ in DATASETS:
        methods = [m for m in METHOD_ORDER if m in table[key]]
        best = {f: max(round(float(np.mean(table[key][m][f])), 3) for m in methods
                       if m not in LABELLED and f in table[key][m]) for f in FRACTIONS}
        for i, method in enumerate(methods):
            scores = table[key][method]
            cells = []
            for f in FRACTIONS:
                if f not in scores:
                    cells.append("–")
                    continue
                text = cell(scores[f])
                mean = round(float(np.mean(scores[f])), 3)
                cells.append((f"**{text}**" if method not in LABELLED and mean == best[f]
                              else text) + mark(key, method))
            count = "1 × 5 (deterministic)" if method in (RAW, PCA) else fits(scores[0.1])
            rows.append([short if i == 0 else "", method, count, *cells])
    out += md_table(["data set", "method", "fits × splits", "1%", "5%", "10%", "25%", "100%"],
                    rows)
    return out + (["", wrap(STALE_NOTE)] if STALE else [])


def section_paired(table):
    rows = []
    for key, short, _ in DATASETS:
        t = table[key]
        rows.append([short, paired_cell(t[TNCE][0.01], t[WHOLE][0.01]),
                     paired_cell(t[TNCE][0.1], t[WHOLE][0.1]),
                     paired_cell(t[AWARE][0.01], t[TNCE][0.01]) + mark(key, AWARE),
                     paired_cell(t[AWARE][0.1], t[TNCE][0.1]) + mark(key, AWARE),
                     paired_cell(t[AWARE][0.1], t[RAW][0.1]) + mark(key, AWARE)])
    out = ["### Paired differences", "",
           wrap("From the table above. Where both rows hold the same fits, each difference "
                "pairs a fit and a split (15 differences); otherwise each split's mean over "
                "fits (5 differences). Mean ± sample sd; \"above\"/\"below\" where the mean "
                "is beyond one sd."), ""]
    out += md_table(["data set", "TupleInfoNCE - whole-tuple, 1%",
                     "TupleInfoNCE - whole-tuple, 10%", "target-aware - TupleInfoNCE, 1%",
                     "target-aware - TupleInfoNCE, 10%", "target-aware - raw, 10%"], rows)
    lines = []
    for a, b, label in ((TNCE, WHOLE, "TupleInfoNCE against whole-tuple contrast"),
                        (AWARE, TNCE, "target-aware against TupleInfoNCE")):
        for f in (0.01, 0.1):
            above, below = paired_counts(table, a, b, f)
            lines.append(f"- {label}, {f:.0%}: above on {len(above)} of the {len(REAL)} real "
                         f"sets{_listed(above)}, below on {len(below)}{_listed(below)}.")
    return out + [""] + lines


def section_demo():
    data = load("demo.json")
    [demo] = data["tables"]
    study = load("label_efficiency_demo_generator.json")["generated"]
    out = ["## The demo's generator", "", wrap(
        f"`{demo['command']}` ({demo['note']}; {defaults_text(demo['defaults'])}; measured "
        f"{data['measured']}) prints:"), ""]
    out += md_table(demo["columns"], demo["rows"]) + [""]
    command = (f"{LE} --datasets generated --n-samples 3000 --params \"{{'max_epochs': 60}}\" "
               "--methods \"raw features\" \"PCA\" \"whole-tuple contrast\" \"TupleInfoNCE\" "
               "--fit-seeds 3 --json benchmarks/results/label_efficiency_demo_generator.json")
    out += [wrap(f"The same generator and settings over fits × splits (`{command}`; today's "
                 "defaults; bold: the best row):"), ""]
    best = {f: max(round(float(np.mean(r["scores"][str(f)])), 3) for r in study.values())
            for f in FRACTIONS}
    rows = []
    for method, row in study.items():
        cells = []
        for f in FRACTIONS:
            scores = row["scores"][str(f)]
            mean = round(float(np.mean(scores)), 3)
            cells.append(f"**{cell(scores)}**" if mean == best[f] else cell(scores))
        count = "1 × 5" if method in (RAW, PCA) else fits(row["scores"]["0.1"])
        rows.append([method, count, *cells])
    return out + md_table(["method", "fits × splits", "1%", "5%", "10%", "25%", "100%"], rows)


def transcribed(name, titles=None, columns=None, heading="###", command_once=False):
    """The tables of result file ``name`` (``titles``: those only), each with its command,
    its defaults and its note (``command_once``: the first table only); ``columns``: the
    columns kept, by header."""
    data = load(name)
    out = []
    for table in data["tables"]:
        if titles is not None and table.get("title") not in titles:
            continue
        command = table.get("command", data.get("command"))
        defaults = table.get("defaults", data.get("defaults"))
        if table.get("title"):
            out += [f"{heading} {table['title']}", ""]
        commands = [command] if isinstance(command, str) else command
        text = " and ".join(f"`{c}`" for c in commands) + f"; {defaults_text(defaults)}"
        if table.get("note"):
            text += f"; {table['note']}"
        if not (command_once and out):
            out += [wrap(text + "."), ""]
        keep = list(range(len(table["columns"])))
        if columns:
            keep = [i for i, c in enumerate(table["columns"]) if c in columns]
        out += md_table([table["columns"][i] for i in keep],
                        [[row[i] for i in keep] for row in table["rows"]]) + [""]
    return out[:-1] if out and out[-1] == "" else out


FIVE_SET_STUDIES = ("Five sets, leave one set out, 3 fits",
                    "Five sets, the reconstruction term and four others, 3 fits",
                    "Five sets, one setting at a time, 1 fit")
SUMMARY_COLUMNS = ("setting", "mean change", "worst change", "data sets improved (10%)")


def section_defaults():
    levers = load("defaults_levers.json")["tables"]
    held_out = next(t for t in levers if t["title"].endswith("held out"))
    mean = next(row for row in held_out["rows"] if row[0] == "mean")
    out = ["## Settings tried against today's defaults (rejected)", "",
           wrap("`bench_defaults.py` fits each setting 3 times on every real set and probes "
                "it at 1%, 5% and 10% of the labels on the 5 paired splits; a set's change is "
                "its mean over the shares against the defaults. Then each set in turn is held "
                "out: the setting with the best mean change on the others is scored on it. "
                f"Held out, the chosen settings change the set by {mean[2]} on average "
                f"(regret {mean[5]}): none holds, and the defaults stay."), ""]
    out += transcribed("defaults_levers.json", columns=SUMMARY_COLUMNS + (
        "held-out data set", "chosen on the others", "its change there", "best there",
        "best change", "regret", "data set", "fit time, periodic sigma=0.01 / defaults"),
        heading="###")
    return out


def defaults_real_summary():
    """The eight-set study under ``modality_dropout=0.1``, from ``defaults_real_{a,b}.json``."""
    from bench_defaults import _label, changes, leave_one_set_out

    settings = [{}, {"reconstruction": 0.0}, {"reconstruction": 1.0}, {"n_components": 64},
                {"n_components": 128}, {"modality_dropout": 0.0}, {"modality_dropout": 0.2}]
    results = {i: {} for i in range(len(settings))}
    for name in ("defaults_real_a.json", "defaults_real_b.json"):
        for i, by_set in load(name).items():
            for dataset, cells in by_set.items():
                results[int(i)][dataset] = {float(k): v for k, v in cells.items()}
    datasets = list(results[0])
    change = changes(results, datasets)
    chosen = [row["chosen"] for row in leave_one_set_out(results, datasets)]
    rows = []
    for i, params in enumerate(settings):
        per_set = list(change[i].values())
        improved = sum(results[i][n][0.1] > results[0][n][0.1] for n in datasets)
        rows.append([_label(params) if params else "`modality_dropout=0.1` (baseline)",
                     f"{np.mean(per_set):+.3f}", f"{min(per_set):+.3f}",
                     f"{improved}/{len(datasets)}", f"{chosen.count(i)}/{len(datasets)}"])
    command = ("OMP_NUM_THREADS=1 python benchmarks/bench_defaults.py \"[{}, {'reconstruction': "
               "0.0}, {'reconstruction': 1.0}, {'n_components': 64}, {'n_components': 128}, "
               "{'modality_dropout': 0.0}, {'modality_dropout': 0.2}]\" --fit-seeds 3 "
               "--from-json benchmarks/results/defaults_real_a.json "
               "benchmarks/results/defaults_real_b.json")
    return ["### Eight real sets, against `modality_dropout=0.1`", "",
            wrap(f"`{command}`; {defaults_text({**TODAY, 'modality_dropout': 0.1})}; 3 fits × 5 "
                 "splits per cell. \"chosen held out\": on how many held-out sets the setting "
                 "was the choice of the other seven. The setting chosen on every set became "
                 "today's default."), "",
            *md_table(["setting", "mean change", "worst change", "data sets improved (10%)",
                       "chosen held out"], rows)]


def section_earlier():
    out = ["## Settings tried under earlier defaults (rejected)", "",
           wrap("Measured before today's `modality_dropout=0.2` (and, where it says "
                "`reconstruction=0.0`, before the reconstruction term), so their figures are "
                "not comparable with the tables above; each row's change is against the "
                "baseline of its own run."), ""]
    out += defaults_real_summary() + [""]
    out += ["### Five study sets", ""]
    out += transcribed("defaults_five_sets.json", titles=FIVE_SET_STUDIES,
                       columns=SUMMARY_COLUMNS, heading="####") + [""]
    out += section_old_label_efficiency() + [""] + section_target_aware()
    return out


OLD_ROWS = [TNCE, "TupleInfoNCE, r + modality embeddings", "TupleInfoNCE, searched",
            "whole-tuple contrast, contrast alone", "TupleInfoNCE, contrast alone", AWARE]


def section_old_label_efficiency():
    data = load("label_efficiency.json")
    rows = []
    for key, short, _ in DATASETS:
        if key not in data:
            continue
        for i, method in enumerate(OLD_ROWS):
            scores = data[key][method]["scores"]
            rows.append([short if i == 0 else "", method, fits(scores["0.1"]),
                         *(cell(scores[str(f)]) for f in (0.01, 0.1, 1.0))])
    clothing = load("label_efficiency_clothing_all_rows.json")["clothing_tfidf"]
    all_rows = [[m, fits(r["scores"]["0.1"]),
                 *(cell(r["scores"][str(f)]) for f in (0.01, 0.1, 1.0))]
                for m, r in clothing.items()]
    return ["### Label-efficiency rows under `modality_dropout=0.1`", "",
            wrap(f"`{LE} --fit-seeds 3 --json benchmarks/results/label_efficiency.json` (the "
                 "target-aware row: one fit per split, merged from `--methods \"TupleInfoNCE, "
                 "target-aware\" \"supervised MLP (reference)\"`); "
                 f"{defaults_text({**TODAY, 'modality_dropout': 0.1})}. \"Contrast alone\": "
                 "`reconstruction=0`; \"searched\": `TupleInfoNCESearch` with 5 candidates, "
                 "10 rounds of 5 epochs, rankme reward, `branch_fraction=None, refit=True`."),
            "", *md_table(["data set", "method", "fits × splits", "1%", "10%", "100%"], rows),
            "", wrap(f"Clothing reviews on all 23,486 rows: `{LE} --datasets clothing_tfidf "
                     "--n-samples 0 --methods \"raw features\" \"whole-tuple contrast\" "
                     "TupleInfoNCE \"TupleInfoNCE, r + modality embeddings\" \"TupleInfoNCE, "
                     "contrast alone\" --json "
                     "benchmarks/results/label_efficiency_clothing_all_rows.json`; "
                     f"{defaults_text({**TODAY, 'modality_dropout': 0.1})}:"), "",
            *md_table(["method", "fits × splits", "1%", "10%", "100%"], all_rows)]


def section_target_aware():
    from bench_target_aware import leakage_report

    rows = load("target_aware_choose.json")
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    settings = list(dict.fromkeys(r["setting"] for r in rows))

    def mean(**where):
        return np.mean([r["accuracy"] for r in rows
                        if all(r[k] == v for k, v in where.items())])

    change = {s: {n: np.mean([mean(dataset=n, setting=s, fraction=f)
                              - mean(dataset=n, setting="none", fraction=f)
                              for f in (0.01, 0.1)]) for n in datasets} for s in settings}
    chosen = [max(settings, key=lambda s: np.mean([change[s][n] for n in datasets if n != h]))
              for h in datasets]
    table = [[s, f"{np.mean(list(change[s].values())):+.3f}",
              f"{min(change[s].values()):+.3f}", f"{chosen.count(s)}/{len(datasets)}"]
             for s in settings]
    old = {**TODAY, "modality_dropout": 0.1}
    clothing = load("target_aware_clothing_all_rows.json")
    clothing_rows = [[s, cell([r["accuracy"] for r in clothing if r["setting"] == s])]
                     for s in dict.fromkeys(r["setting"] for r in clothing)]
    leakage = load("target_aware_leakage.json")
    return [
        "### Target-aware training: the supervised term", "",
        wrap("`OMP_NUM_THREADS=1 python benchmarks/bench_target_aware.py choose --settings "
             "none cross_entropy:1 cross_entropy:3 cross_entropy:10 supcon:1 supcon:3 "
             "--fractions 0.01 0.1 --splits 1 --json benchmarks/results/target_aware_choose.json`"
             f" (split 0; {defaults_text(old)}). \"mean-normalised\": the term averaged over "
             "the batch's labelled rows instead of summed and divided by the batch's rows. "
             "Change against `none` at 1% and 10%; \"chosen held out\" as above. Chosen: "
             "cross-entropy, weight 3 (`label_weight` stays 0 by default)."), "",
        *md_table(["setting", "mean change", "worst change", "chosen held out"], table), "",
        wrap("Clothing reviews on all 23,486 rows at 10%: `OMP_NUM_THREADS=1 python "
             "benchmarks/bench_target_aware.py choose --datasets clothing_tfidf --n-samples 0 "
             "--settings none cross_entropy:3 --fractions 0.1 --splits 2 --json "
             "benchmarks/results/target_aware_clothing_all_rows.json` (" + defaults_text(old)
             + "):"), "",
        *md_table(["setting", "10% (2 splits)"], clothing_rows), "",
        "### Target-aware training: leakage and cross-fitting", "",
        wrap("`OMP_NUM_THREADS=1 python benchmarks/bench_target_aware.py leakage --setting "
             "cross_entropy:3 --fractions 0.1 1.0 --splits 1 --json "
             f"benchmarks/results/target_aware_leakage.json` (split 0; {defaults_text(old)}). "
             "Inductive: the Pipeline's protocol (fitted on the training rows alone); "
             "transductive: fitted on all rows, the test rows unlabelled; cross-fitted: each "
             "third of the labelled rows embedded by a fit that never saw their labels. "
             "Cross-fitting is not offered: it scored below the inductive fit."), "",
        *leakage_report(leakage).splitlines()]


ALIGNMENT_DESIGNS = {"held_out": "validation rows held out of training",
                     "trained_on": "validation rows trained on"}
REWARDS = ("log_prob", "accuracy", "rankme", "probe")


def section_alignment_validation(name="alignment_validation_rows.json"):
    """``bench_alignment.py --json``'s file, where it exists: ``{design: {"command": ...,
    "spearman": {"<data set>, partial_share=<share>": {reward: rho}}}}``."""
    if not (RESULTS_DIR / name).exists():
        return []
    data = load(name)
    out = ["", "### Validation rows trained on or held out", ""]
    rows = []
    for design, label in ALIGNMENT_DESIGNS.items():
        if design not in data:
            continue
        out += [wrap(f"{label[0].upper()}{label[1:]}: `{data[design]['command']}`."), ""]
        for key, rho in data[design]["spearman"].items():
            rows.append([key, label, *(f"{rho[r]:+.2f}" for r in REWARDS)])
    return out + md_table(["data set", "design", *REWARDS], rows)


#: The comparison with what users pick without sktnce (``comparison.py``): each file, with
#: the command that wrote it.
ENSEMBLE_FILE = "label_efficiency_ensemble.json"
AWARE_ENSEMBLE_FILE = "label_efficiency_ensemble_target_aware.json"
ENSEMBLE_COST = "cost_ensemble.json"
#: The commit from which the default trees take fewer bins on wide tables.
WIDE_TREES_COMMIT = "6a55b58"
#: The ensembles' comparison rerun with the 63-bin trees as the default members' on every
#: set: ``AWARE_ENSEMBLE_FILE``'s run, under them.
BINS_DEFAULT_FILE = "label_efficiency_ensemble_target_aware_63_bins_default.json"
PRICE_TITLE = "The price of its members, alone on the machine"
COMPARISON_SOURCES = {
    "label_efficiency_beside_raw.json":
        f'{LE} --methods "raw features" TupleInfoNCE --beside-raw --fractions 0.01 0.1 1 '
        "--fit-seeds 3 --json benchmarks/results/label_efficiency_beside_raw.json",
    "label_efficiency_user_baselines.json":
        f'{LE} --methods "HGB on raw features" "HGB on raw features, min_samples_leaf=5" '
        '"self-training LR on raw features" --fractions 0.01 0.1 1.0 --json '
        "benchmarks/results/label_efficiency_user_baselines.json",
    "label_efficiency_target_aware_balanced.json":
        f'{LE} --methods "TupleInfoNCE, target-aware" --fractions 0.01 0.1 1 --json '
        "benchmarks/results/label_efficiency_target_aware_balanced.json",
    "label_efficiency_classifier.json":
        f'{LE} --methods "TupleInfoNCEClassifier (fine-tuned)" --fractions 0.01 0.1 --json '
        "benchmarks/results/label_efficiency_classifier.json",
    "label_efficiency_classifier_100.json":
        f'{LE} --methods "TupleInfoNCEClassifier (fine-tuned)" --fractions 1 --json '
        "benchmarks/results/label_efficiency_classifier_100.json (two processes of five and "
        "four sets, merged)",
    "label_efficiency_classifier_lr.json":
        f'{LE} --methods "TupleInfoNCEClassifier (fine-tuned)" --classifier-params '
        "\"{'lr': 0.0001}\" --fractions 0.01 0.1 1 --json "
        "benchmarks/results/label_efficiency_classifier_lr.json",
    "label_efficiency_classifier_all_labels.json":
        f'{LE} --methods "TupleInfoNCEClassifier (fine-tuned)" --classifier-params '
        "\"{'lr': 0.0001, 'early_stopping': False, 'max_epochs': 10}\" --fractions 0.01 0.1 1 "
        "--json benchmarks/results/label_efficiency_classifier_all_labels.json",
    "label_efficiency_classifier_contrastive.json":
        f'{LE} --methods "TupleInfoNCEClassifier (fine-tuned)" --classifier-params '
        "\"{'contrastive_weight': 1.0}\" --fractions 0.01 0.1 --json "
        "benchmarks/results/label_efficiency_classifier_contrastive.json",
    "label_efficiency_lr_beside_raw.json":
        f'{LE} --methods TupleInfoNCE --beside-raw "LR on raw features" --fractions 0.01 0.1 1 '
        "--fit-seeds 3 --json benchmarks/results/label_efficiency_lr_beside_raw.json",
    ENSEMBLE_FILE:
        f"{LE} --methods TupleInfoNCE --ensemble --fractions 0.01 0.1 1 "
        f"--fit-seeds 3 --json benchmarks/results/{ENSEMBLE_FILE} (here: the rows of "
        f"{AWARE_ENSEMBLE_FILE}'s run but the target-aware ensemble's, which this command "
        "writes bit for bit, as the two files' earlier runs showed)",
    AWARE_ENSEMBLE_FILE:
        f"{LE} --methods TupleInfoNCE --ensemble --ensemble-target-aware "
        "--fractions 0.01 0.1 1 --fit-seeds 3 --datasets ... --json ... (two runs side by "
        "side, Multiple Features, Adult, generated and Telco churn in one, the other five "
        f"sets in the other, merged): benchmarks/results/{AWARE_ENSEMBLE_FILE}; Multiple "
        f"Features' rows in both files run again alone at commit {WIDE_TREES_COMMIT}, when "
        "the default trees took 63 bins on its 649 columns (the same scores, bit for bit, as "
        f"its rows of {BINS_DEFAULT_FILE}); the user's own ensemble with 255 bins there: its "
        f"rows of the run before, on the same fusions and splits, in {ENSEMBLE_FILE}",
}
#: The rows read from a file whose other rows another file gives (the same fits again), or
#: describe (the ensemble's members alone).
COMPARISON_ONLY = {"label_efficiency_lr_beside_raw.json": (comparison.BESIDE,),
                   ENSEMBLE_FILE: (*comparison.ENSEMBLES, *comparison.USER_ENSEMBLES,
                                   *comparison.USER_ENSEMBLES_ALL_BINS),
                   AWARE_ENSEMBLE_FILE: comparison.AWARE_ENSEMBLES}
COMPARISON_MARKERS = ("<!-- comparison-table: start -->", "<!-- comparison-table: end -->")


def comparison_rows(instead=None):
    """The rows of every file of ``COMPARISON_SOURCES`` that exists (those of
    ``COMPARISON_ONLY`` where it names them), merged; ``instead`` maps a source to the file
    read in its place (the same rows, measured another way)."""
    instead = instead or {}
    files = {}
    for name in COMPARISON_SOURCES:
        read = instead.get(name, name)
        if (RESULTS_DIR / read).exists():
            files[name] = {dataset: {m: row for m, row in methods.items()
                                     if m in COMPARISON_ONLY.get(name, (m,))}
                           for dataset, methods in load(read).items()}
    return comparison.metric_matched(comparison.merged(files))


def _metric_name(dataset):
    return "balanced accuracy" if comparison.metric(dataset) == "balanced" else "accuracy"


def _comparison(rows, study=comparison.CLASSIFICATION):
    """``{share: held-out results}`` of the shares whose candidates cover every set, each
    set scored as ``study`` says."""
    out = {}
    for share in comparison.SHARES:
        found = comparison.held_out(rows, share, REAL, extra=("generated",), study=study)
        if found:
            out[share] = found
    return out


def _tally_sentence(results, real=REAL, names=SHORT, sets="real sets", what="labels"):
    lines = []
    for share, found in results.items():
        real_found = [r for r in found if r["dataset"] in real]
        level, above, below = comparison.tally(real_found)
        above_sets = [names[r["dataset"]] for r in real_found if r["mean"] > r["sd"]]
        below_sets = [names[r["dataset"]] for r in real_found if -r["mean"] > r["sd"]]
        lines.append(f"With {share:.0%} of the {what}, sktnce's configuration is at least "
                     f"level on {level} of the {len(real_found)} {sets}: above by more than "
                     f"one standard deviation of the paired difference on {above}"
                     f"{_listed(above_sets)}, below by more than one on {below}"
                     f"{_listed(below_sets)}.")
    return " ".join(lines)


def _has_user_ensemble(rows):
    """Whether ``rows`` hold the user's own ensemble, among the rows without sktnce."""
    return any(m in comparison.USER_ENSEMBLES for methods in rows.values() for m in methods)


def comparison_block(rows):
    """The README's first table, between ``COMPARISON_MARKERS``."""
    results = _comparison(rows)
    balanced = [SHORT[d] for d in REAL if comparison.metric(d) == "balanced"]
    caption = (
        "What your model gets from sktnce against what you would build without it, per data "
        "set and share of labelled training rows: the best of a logistic regression, "
        "`HistGradientBoostingClassifier` (defaults or `min_samples_leaf=5`)"
        + (", `SelfTrainingClassifier(LogisticRegression())` and the user's own ensemble of "
           f"the first three (their trees at `{TODAY_TREES_LABEL}` as sktnce's members', "
           f"with their {TODAY_WIDE_LABEL} or scikit-learn's 255 bins there too; "
           "weighted on out-of-fold predictions as sktnce's ensemble weighs its members)"
           if _has_user_ensemble(rows) else
           " and `SelfTrainingClassifier(LogisticRegression())`")
        + " on the raw columns, chosen per set in "
        "their favour, against one sktnce configuration per share chosen on the other real "
        "sets (leave one set out; the generated set: chosen on all eight), its mean "
        "difference ± the standard deviation over the 5 paired splits. Scored by balanced "
        f"accuracy where one class holds over {comparison.BALANCED_ABOVE:.0%} of the rows "
        f"({', '.join(balanced)}), else accuracy. Sources and every row: RESULTS \"Against "
        "what users pick without sktnce\"; the same with every set scored by balanced "
        "accuracy, and with the rows that predict one class left out: RESULTS \"Two other "
        "scoring rules\".")
    table = _held_out_table(rows, results, {d: SHORT[d] for d in README_ORDER}, "data set",
                            comparison.SHORT)
    summary = _tally_sentence(results)
    return "\n".join([COMPARISON_MARKERS[0], wrap(caption), "", *table, "",
                      wrap(summary), COMPARISON_MARKERS[1]])


def _held_out_table(rows, results, sets, first, short, study=comparison.CLASSIFICATION):
    """The table of ``results`` (``{share: held-out results}``): a line per set of
    ``sets`` (``{key: name}``, in order), and per share the best without sktnce, the chosen
    configuration (each by its ``short`` name) and their paired difference."""
    headers, table = [first], {d: [name] for d, name in sets.items()}
    for share, found in results.items():
        headers += [f"without {share:.0%}", f"sktnce {share:.0%}", "difference"]
        for r in found:
            without = np.mean(comparison.values(rows, r["dataset"], r["without"], share, study))
            chosen = np.mean(comparison.values(rows, r["dataset"], r["chosen"], share, study))
            table[r["dataset"]] += [f"{without:.3f} ({short[r['without']]})",
                                    f"{chosen:.3f} ({short[r['chosen']]})",
                                    f"{r['mean']:+.3f} ± {r['sd']:.3f}"]
    return md_table(headers, list(table.values()))


#: The regression study's files, each with the command that wrote it.
REGRESSION_FILES = {
    "regression.json": "OMP_NUM_THREADS=1 python benchmarks/bench_regression.py --json "
                       "benchmarks/results/regression.json",
    "regression_target_aware.json": "OMP_NUM_THREADS=1 python benchmarks/bench_regression.py "
                                    "--target-aware --json "
                                    "benchmarks/results/regression_target_aware.json",
    "regression_target_aware_cross_fit.json": (
        "OMP_NUM_THREADS=1 python benchmarks/bench_regression.py --target-aware --cross-fit "
        "--fractions 0.1, then --fractions 0.01 1.0, --datasets ... --json ... (runs side by "
        "side, each on some tables, merged: "
        "benchmarks/results/regression_target_aware_cross_fit.json)")}
REGRESSION_MARKERS = ("<!-- regression-table: start -->", "<!-- regression-table: end -->")
#: The regression tables (``regression_data.LOADERS``), by their names in the tables.
REGRESSION_SETS = {"trump_favourites": "Trump tweets, favourites",
                   "election_favourites": "election tweets, favourites",
                   "ames": "Ames house prices", "hotel_rates": "hotel room rates",
                   "loan_interest": "loan interest rates"}


def regression_rows():
    """The rows of the ``REGRESSION_FILES`` that exist, merged, with float shares."""
    rows = {}
    for name in REGRESSION_FILES:
        if (RESULTS_DIR / name).exists():
            for d, methods in load(name).items():
                rows.setdefault(d, {}).update({
                    m: {key: {float(s): v for s, v in row[key].items()} for key in ("r2", "mae")}
                    for m, row in methods.items()})
    return rows


def _regression_comparison(rows):
    """``{share: held-out results}`` of the regression study, leave one table out."""
    tables = [d for d in REGRESSION_SETS if d in rows]
    out = {}
    for share in comparison.SHARES:
        found = comparison.held_out(rows, share, tables, study=comparison.REGRESSION)
        if found:
            out[share] = found
    return out


def regression_block(rows):
    """The README's regression table, between ``REGRESSION_MARKERS``."""
    if not rows:
        return "\n".join([REGRESSION_MARKERS[0], "Not measured yet.", REGRESSION_MARKERS[1]])
    results = _regression_comparison(rows)
    caption = (
        "Predicting a number (`TupleInfoNCERegressor`; R² on the test rows, 5 paired splits): "
        "the best of `RidgeCV`, `HistGradientBoostingRegressor` (defaults or "
        "`min_samples_leaf=5`) and the user's own ensemble of the three on the raw columns, "
        "chosen per table in their favour, against one sktnce configuration per share chosen "
        "on the other tables (leave one table out). Sources and every row, with the mean "
        "absolute error: RESULTS \"Regression\".")
    tables = {d: name for d, name in REGRESSION_SETS.items() if d in rows}
    table = _held_out_table(rows, results, tables, "table", comparison.REGRESSION_SHORT,
                            comparison.REGRESSION)
    summary = _tally_sentence(results, list(tables), REGRESSION_SETS, "tables", "targets")
    return "\n".join([REGRESSION_MARKERS[0], wrap(caption), "", *table, "", wrap(summary),
                      REGRESSION_MARKERS[1]])


def _with_fits(name, scores):
    """A row's name, with its fits × splits where its ``scores`` hold more than one fit."""
    count = fits(scores)
    if count.startswith("1 "):
        return name
    return f"{name} ({count.replace(' × ', ' fits × ')} splits)"


#: A cell of a share a row was not measured at.
NOT_MEASURED = "—"


def section_regression(rows):
    """Every row of the regression study: R² (mean ± sd) and the mean absolute error."""
    if not rows:
        return []
    commands = " and ".join(f"`{c}`" for n, c in REGRESSION_FILES.items()
                            if (RESULTS_DIR / n).exists())
    out = ["## Regression", "", wrap(
        f"{commands} (one fit of the fusion per table, without the target, on every row, "
        "unless a row names more fits (`--first-fit 1` appended: `random_state` 0, 1, ...); 5 "
        "splits of 70/30, the same for every row; each share of the training rows given its "
        "target; the target-aware fusion fitted on each split's and share's, its members "
        "weighed on its unsupervised twin, or, in the row \"cross-fitted\", on one more "
        "target-aware fusion per fold, `aware_weighing=\"cross_fit\"`). R² on the "
        "test rows, mean ± sd over the fits and splits, then the "
        "mean absolute error in the target's units (log units for the tweets and house "
        "prices). The rows without sktnce read the modalities' own preprocessed columns; "
        "\"Ridge on TupleInfoNCE\" is `RidgeCV` on the fused vector alone, a row \"on raw "
        "features + TupleInfoNCE\" reads the raw columns beside the fused vector; every "
        "ensemble clips each member's predictions to the range of the targets it saw."), ""]
    shares = sorted({s for methods in rows.values() for row in methods.values()
                     for s in row["r2"]})
    for dataset, methods in rows.items():
        out += [f"### {REGRESSION_SETS.get(dataset, dataset)}", ""]
        out += md_table(["model", *(f"{s:.0%} R²" for s in shares),
                         *(f"{s:.0%} MAE" for s in shares)],
                        [[_with_fits(m, next(iter(row["r2"].values()))),
                          *(cell(row["r2"][s]) if s in row["r2"] else NOT_MEASURED
                            for s in shares),
                          *(f"{np.mean(row['mae'][s]):.3f}" if s in row["mae"] else NOT_MEASURED
                            for s in shares)]
                         for m, row in methods.items()]) + [""]
    return out[:-1]


ADVICE_MARKERS = ("<!-- gradient-boosting-advice: start -->",
                  "<!-- gradient-boosting-advice: end -->")
#: How the advice names each row without sktnce.
WITHOUT_NAMES = {comparison.RAW: "a `LogisticRegression`",
                 comparison.HGB: "`HistGradientBoostingClassifier`",
                 comparison.HGB_SMALL: "`HistGradientBoostingClassifier`",
                 comparison.SELF_TRAINING: "`SelfTrainingClassifier(LogisticRegression())`",
                 **dict.fromkeys(comparison.USER_ENSEMBLES, "an ensemble of `LogisticRegression` "
                                 "and `HistGradientBoostingClassifier`")}
FINE_TUNED = tuple(c for c in comparison.CANDIDATES if c.startswith("TupleInfoNCEClassifier"))
BOOSTED = tuple(c for c in comparison.CANDIDATES if c.startswith(comparison.HGB))


def verdicts(found):
    """``(above, level, below)``: the real sets' results of ``found`` (one share's) where
    sktnce is above the best without it by more than one sd, within one sd, below by more."""
    real = [r for r in found if r["dataset"] in REAL]
    above = [r for r in real if r["mean"] > r["sd"]]
    below = [r for r in real if -r["mean"] > r["sd"]]
    return above, [r for r in real if r not in above and r not in below], below


def _joined(items, last="and"):
    """``a, b and c``."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {last} {items[-1]}"


def _grouped(texts):
    """``[(shares, text)]``: the shares of ``texts`` (``{share: text}``) that give the same
    text, joined by "or", in order."""
    groups = {}
    for share, text in texts.items():
        groups.setdefault(text, []).append(f"{share:.0%}")
    return [(_joined(shares, "or"), text) for text, shares in groups.items()]


def _per_share(texts):
    """``with 1% of the labels on A; with 10% or 100% on B``."""
    parts = [f"with {shares}{' of the labels' if i == 0 else ''} on {text}"
             for i, (shares, text) in enumerate(_grouped(texts))]
    return "; ".join(parts)


def _named(r, against=False):
    """A set's short name, with its metric where balanced (and the row it is compared to)."""
    notes = [f"against {comparison.SHORT[r['without']]}"] if against else []
    if comparison.metric(r["dataset"]) == "balanced":
        notes.append("by balanced accuracy")
    return SHORT[r["dataset"]] + (f" ({', '.join(notes)})" if notes else "")


def _sets(results, against=False):
    return _joined([_named(r, against) for r in results]) if results else "no set"


def _chosen_sentence(results):
    """Which configuration the leave-one-set-out choice picks most often, per share."""
    most = {}
    for share, found in results.items():
        chosen = [r["chosen"] for r in found if r["dataset"] in REAL]
        most[share] = comparison.SHORT[max(comparison.CANDIDATES, key=chosen.count)]
    return "Chosen most often: " + ", ".join(
        f"{text} with {shares}{' of the labels' if i == 0 else ''}"
        for i, (shares, text) in enumerate(_grouped(most))) + "."


def _rivals(below):
    """The rows without sktnce that beat it in ``below``, most often first, as the advice
    names them."""
    names = [WITHOUT_NAMES[r["without"]] for r in below]
    return _joined(sorted(set(names), key=lambda n: (-names.count(n), names.index(n))))


#: What the advice compares fine-tuning and boosting beside the fused vector with: the
#: configuration it recommends.
ADVISED = comparison.AWARE_ENSEMBLE + comparison.BY_METRIC


def _fine_tuning_sentence(rows, shares):
    """Whether fine-tuning the encoder or boosting the raw columns beside the fused vector
    had a larger mean margin than the advised ensemble (``ADVISED``) at any of
    ``shares``."""
    better = {}
    for share in shares:
        margin = comparison.margins(rows, share, REAL)
        if ADVISED not in margin:
            continue
        aware = np.mean(list(margin[ADVISED].values()))
        for family, candidates in (("fine-tuning", FINE_TUNED), ("boosting", BOOSTED)):
            if any(np.mean(list(margin[c].values())) > aware for c in candidates if c in margin):
                better.setdefault(family, []).append(f"{share:.0%}")
    names = {"fine-tuning": "fine-tuning the encoder (`TupleInfoNCEClassifier`, "
                            f"{len(FINE_TUNED)} settings)",
             "boosting": "boosting the raw columns beside the fused vector"}
    source = " (RESULTS \"Every configuration's margin\")."
    if not better:
        return (f"Neither {names['fine-tuning']} nor {names['boosting']} had a larger mean "
                f"margin over the {len(REAL)} real sets than the "
                f"{comparison.SHORT[ADVISED]}, at any share{source}")
    return " ".join(
        f"{names[family][0].upper()}{names[family][1:]} had a larger mean margin than the "
        f"{comparison.SHORT[ADVISED]}, with {_joined(found, 'or')} of the labels"
        f"{source}" for family, found in better.items())


def _advice(by_share):
    """What to fit besides the fused vector, from ``by_share`` (``{share: verdicts}``)."""
    quiet = [s for s, (above, _, _) in by_share.items() if not above]
    behind = [s for s in quiet if by_share[s][2]]
    level = [s for s in quiet if s not in behind]
    lead = [s for s in by_share if s not in quiet]
    out = []
    if behind:
        below = [r for s in behind for r in by_share[s][2]]
        out.append(f"So with {_joined([f'{s:.0%}' for s in behind], 'or')} of the labels, "
                   f"where sktnce leads on no set, fit {_rivals(below)} on the raw columns "
                   "too, and keep the fused vector only where it measures better on your "
                   "table.")
    if level:
        out.append(f"With {_joined([f'{s:.0%}' for s in level], 'or')} of the labels it is "
                   "level on every set: the fused vector gains nothing measurable there.")
    if lead:
        below = [r for s in lead for r in by_share[s][2]]
        compare = f", and compare it with {_rivals(below)} on the raw columns" if below else ""
        out.append(f"With {_joined([f'{s:.0%}' for s in lead], 'or')}, where it leads, try "
                   f"{_what_leads(by_share, lead)} first{compare}.")
        if _ensembles_lead(by_share, lead):
            out += [_price_sentence(), WIDE_TREES_SENTENCE]
    return " ".join(sentence for sentence in out if sentence)


def _ensembles_lead(by_share, shares):
    """Whether the configurations chosen where sktnce leads at ``shares`` are all
    ensembles."""
    chosen = [r["chosen"] for s in shares for verdict in by_share[s] for r in verdict]
    return bool(chosen) and all(c.startswith(comparison.ENSEMBLE) for c in chosen)


def _what_leads(by_share, shares):
    """What to try first where sktnce leads at ``shares``: the ensemble where the chosen
    configurations there are ensembles, else the fused vector."""
    if _ensembles_lead(by_share, shares):
        return ("`TupleInfoNCEEnsembleClassifier` (`class_weight=\"balanced\"` and "
                "`scoring=\"balanced_accuracy\"` where you score by balanced accuracy, "
                "`scoring=\"accuracy\"` where by accuracy)")
    return "the fused vector"


def advice_sentences(rows):
    """The README's sentences on when to fit gradient boosting instead, from ``rows``
    (``comparison_rows``): where sktnce is above, level and below, and what follows."""
    results = _comparison(rows)
    by_share = {share: verdicts(found) for share, found in results.items()}
    above = _per_share({s: _sets(v[0]) for s, v in by_share.items()})
    if any(v[2] for v in by_share.values()):
        below = ("It is below by more than one "
                 + _per_share({s: _sets(v[2], against=True) for s, v in by_share.items()}))
    else:
        below = "It is below by more than one on no set at any share"
    return " ".join([
        _chosen_sentence(results),
        "sktnce's configuration is above the best row without it by more than one standard "
        f"deviation of the paired difference {above}.",
        f"{below}; elsewhere it is level, within one standard deviation.",
        _fine_tuning_sentence(rows, results), _advice(by_share)])


def _span(values):
    """``"0.10 to 1.25"``: the smallest and the largest of ``values``."""
    return f"{min(values):.2f} to {max(values):.2f}"


def _price_sentence():
    """What the ensemble's members cost beside the fusion's fit, per share of the labels
    (``ENSEMBLE_COST``), and the dearest member alone (``MEMBER_COST``); empty before they
    are measured."""
    if not (RESULTS_DIR / ENSEMBLE_COST).exists():
        return ""
    rows = load(ENSEMBLE_COST)["results"]["ensemble"]
    ratios = {}
    for r in sorted(rows, key=lambda r: r["share"]):
        ratios.setdefault(r["share"], []).append(r["ratio"])
    spans = [_span(found) for found in ratios.values()]
    shares = [f"{share:.0%}" for share in ratios]
    text = (f"Its members' fits cost {spans[0]} times the fusion's own fit with {shares[0]} of "
            "the labels" + "".join(f", {span} with {share}"
                                   for span, share in zip(spans[1:], shares[1:]))
            + f", on {len({r['dataset'] for r in rows})} study sets "
            f"(RESULTS \"{PRICE_TITLE}\")")
    if (RESULTS_DIR / MEMBER_COST).exists():
        members = load(MEMBER_COST)["results"]["ensemble"]
        first = [r for r in members if r["share"] == min(r["share"] for r in members)]
        names = list(_by_median_price(members))
        dearest, cheapest = names[0], names[-1]
        alone = [r["member_ratios"][dearest] for r in first]
        text += (f", most of it `{dearest}`'s: alone it costs {_span(alone)} times the "
                 f"fusion's fit with {first[0]['share']:.0%}, "
                 f"`{cheapest}` at most {max(r['member_ratios'][cheapest] for r in first):.2f}")
    chosen = TODAY_TREES_STUDY
    if (RESULTS_DIR / chosen.cost).exists():
        priced = load(chosen.cost)["results"]["ensemble"]
        share = min(r["share"] for r in priced)
        first = [r for r in priced if r["share"] == share]
        text += (f". Its boosted trees take {TODAY_TREES_IN_WORDS}: in the run that chose "
                 f"them, the members' fits cost {_span([r['cheaper_ratio'] for r in first])} "
                 f"times the fusion's with {share:.0%}, {_span([r['ratio'] for r in first])} "
                 f"with {chosen.base} (RESULTS \"{chosen.title}\")")
    return text + "."


#: What the default trees take on a wide table, in words.
WIDE_TREES_SENTENCE = (
    f"On a table of more than {TODAY_WIDE_COLUMNS} preprocessed columns (of the study sets, "
    f"Multiple Features alone: 649) its trees take {TODAY_WIDE_BINS} bins, not 255 (RESULTS "
    "\"Fewer bins as the default: the comparison\").")


def advice_block(rows):
    """The README's advice on gradient boosting, between ``ADVICE_MARKERS``."""
    return "\n".join([ADVICE_MARKERS[0], wrap(advice_sentences(rows)), ADVICE_MARKERS[1]])


def section_user_baselines(rows):
    """What users pick without sktnce (``rows``: ``comparison_rows``) against sktnce's
    configurations."""
    results = _comparison(rows)
    if not results:
        return []
    commands = [f"`{command}`" for name, command in COMPARISON_SOURCES.items()
                if (RESULTS_DIR / name).exists()]
    out = ["## Against what users pick without sktnce", "",
           wrap("Every row on the paired splits of the tables above, fitted on exactly the "
                "labelled rows of each split and share (self-training and the classifiers "
                "also read the other rows, labelled -1; the fusion under the boosted and "
                "probed rows learns without labels on all rows). HGB (LR) on raw + fused: "
                "`HistGradientBoostingClassifier` (the probe's logistic regression) on the "
                "standardised raw columns and the fused vector side by side. The "
                "classifier: `TupleInfoNCEClassifier` with the study's fusion, its encoder "
                "and a linear head fine-tuned on the labelled rows (LP-FT)."
                + (" The ensemble: `TupleInfoNCEEnsembleClassifier` with its default members "
                   "on the study's fusion (prefitted without labels); its variants select on "
                   "another `scoring` or, where a class has one labelled row, `fallback`; "
                   "the target-aware ensemble: its fused member on the target-aware fusion "
                   "fitted with each split's labels, weighted on the unsupervised fusion (as "
                   "the estimator weighs a target-aware fusion's members on its twin); the "
                   "LR + HGB ensemble: the default selection over its three members on the "
                   "raw columns alone (the ensemble's default members but the fused one: "
                   f"its trees at `{TODAY_TREES_LABEL}`, {TODAY_WIDE_LABEL} or 255 bins "
                   "there too, measured against twice the rounds "
                   "at half the rate and those against scikit-learn's defaults, RESULTS "
                   f"\"{FEWER_ROUNDS_STUDY.title}\" and \"{CHEAPER_STUDY.title}\")."
                   if _has_user_ensemble(rows) else "")
                + " Commands: " + "; ".join(commands) + "."), "",
           "### One configuration per share, chosen leave one set out", "",
           wrap("Each set's metric: balanced accuracy where one class holds over "
                f"{comparison.BALANCED_ABOVE:.0%} of the rows, else accuracy. Chosen: the "
                "configuration with the best mean margin over the best row without sktnce "
                "on the other real sets; the generated set's, on all eight. Difference: "
                "mean ± sd over the 5 splits (each side's mean over its fits per split)."), ""]
    table = []
    for share, found in results.items():
        for r in found:
            table.append([SHORT[r["dataset"]], f"{share:.0%}", _metric_name(r["dataset"]),
                          comparison.SHORT[r["without"]], comparison.SHORT[r["chosen"]],
                          f"{r['mean']:+.3f} ± {r['sd']:.3f}"])
    out += md_table(["data set", "labels", "metric", "best without sktnce", "sktnce, chosen",
                     "difference"], table)
    out += ["", wrap(_tally_sentence(results))]
    out += ["", "### Every configuration's margin", "",
            wrap("Mean over the 8 real sets of each configuration's difference from the best "
                 "row without sktnce on that set, and on how many sets it is at least level; "
                 "the choice on all eight sets is the first by mean."), ""]
    margin_rows = []
    for share in results:
        margin = comparison.margins(rows, share, REAL)
        for candidate in sorted(margin, key=lambda c: -np.mean(list(margin[c].values()))):
            per_set = list(margin[candidate].values())
            margin_rows.append([f"{share:.0%}", comparison.SHORT[candidate],
                                f"{np.mean(per_set):+.3f}", f"{sum(m >= 0 for m in per_set)}/8"])
    out += md_table(["labels", "configuration", "mean margin", "sets at least level"],
                    margin_rows)
    out += section_scoring_rules(rows)
    out += ["", "### Every row", "", wrap("Accuracy (balanced accuracy), mean over fits and "
                                          "splits."), ""]
    every = []
    for key, short, _ in DATASETS:
        for share in comparison.SHARES:
            for method in (*comparison.WITHOUT, *comparison.CANDIDATES):
                row = rows.get(key, {}).get(method, {})
                if share in row.get("scores", {}):
                    every.append([short, f"{share:.0%}", comparison.SHORT[method],
                                  f"{np.mean(row['scores'][share]):.3f} "
                                  f"({np.mean(row['balanced'][share]):.3f})"])
    return out + md_table(["data set", "labels", "method", "accuracy (balanced)"], every)


def _one_class_rivals(rows, results):
    """``"MovieLens at 1% (HGB: accuracy 0.557, balanced accuracy 0.500)"`` for each real
    set and share of ``results`` whose best row without sktnce predicts one class."""
    found = []
    for share, held in results.items():
        for r in held:
            balanced = comparison.values(rows, r["dataset"], r["without"], share,
                                         comparison.BALANCED_EVERYWHERE)
            if r["dataset"] in REAL and comparison.predicts_one_class(balanced):
                accuracy = comparison.values(rows, r["dataset"], r["without"], share)
                found.append(f"{SHORT[r['dataset']]} at {share:.0%} "
                             f"({comparison.SHORT[r['without']]}: {_metric_name(r['dataset'])} "
                             f"{np.mean(accuracy):.3f}, balanced accuracy "
                             f"{np.mean(balanced):.3f})")
    return found


def section_scoring_rules(rows):
    """The comparison above (``rows``: ``comparison_rows``) again under two other rules:
    every set scored by balanced accuracy, and the rows without sktnce that predict one
    class for every row left out of the best without sktnce."""
    rules = {"as above": _comparison(rows),
             "balanced accuracy on every set": _comparison(rows,
                                                           comparison.BALANCED_EVERYWHERE),
             "one-class rows left out": _comparison(comparison.without_one_class(rows))}
    if not rules["as above"]:
        return []
    rivals = _one_class_rivals(rows, rules["as above"])
    table = []
    for share, held in rules["as above"].items():
        for position, r in enumerate(held):
            table.append([SHORT[r["dataset"]], f"{share:.0%}", *(
                f"{found[share][position]['mean']:+.3f} ± {found[share][position]['sd']:.3f}"
                for found in rules.values())])
    out = ["", "### Two other scoring rules", "", wrap(
        "The comparison above scores a set by accuracy where no class holds over "
        f"{comparison.BALANCED_ABOVE:.0%} of its rows, and there a model that predicts one "
        "class for every row (its balanced accuracy chance, 1/k, on every fit and split) "
        "can be the best without sktnce: "
        + ("; ".join(rivals) if rivals else "on none of the real sets") + ". Here the same "
        "leave-one-set-out choice under two other rules: every set scored by balanced "
        "accuracy (at which such a model scores chance on any set), and the rows without "
        "sktnce that predict one class left out of the best without sktnce (a user sees "
        "such a model predict one class, and would not pick it). Each cell: the chosen "
        "configuration's difference from the best without sktnce, mean ± sd over the 5 "
        "splits."), ""]
    out += md_table(["data set", "labels", *rules], table)
    return out + ["", wrap("On the 8 real sets, " + "; ".join(
        f"{name}: {_comparison_in_words(found)}" for name, found in rules.items()) + ". "
        "README's table keeps the rule it was set under before these figures.")]


NUMERIC_EMBEDDING = "defaults_numeric_embedding.json"
NUMERIC_EMBEDDING_COMMAND = (
    "OMP_NUM_THREADS=1 python benchmarks/bench_defaults.py \"[{}, {'numeric_embedding': "
    "'piecewise_linear'}]\" --datasets " + " ".join(REAL) + " --fit-seeds 3 --json "
    f"benchmarks/results/{NUMERIC_EMBEDDING}")
NUMERIC_EMBEDDING_COST = "cost_numeric_embedding.json"


def section_numeric_embedding():
    """``numeric_embedding="piecewise_linear"`` against none: the probe on the 8 real sets,
    the leave-one-set-out choice between the two, and the price of a fit."""
    if not (RESULTS_DIR / NUMERIC_EMBEDDING).exists():
        return []
    cells = load(NUMERIC_EMBEDDING)
    base, embedded = cells["0"], cells["1"]
    shares = sorted(base[REAL[0]], key=float)
    change = {d: {f: embedded[d][f] - base[d][f] for f in shares} for d in REAL}
    mean_change = {d: float(np.mean(list(change[d].values()))) for d in REAL}
    rows, chosen_changes = [], []
    for d in REAL:
        others = np.mean([mean_change[o] for o in REAL if o != d])
        chosen = "piecewise_linear" if others > 0 else "None"
        chosen_changes.append(mean_change[d] if others > 0 else 0.0)
        rows.append([SHORT[d], *(f"{change[d][f]:+.3f}" for f in shares),
                     f"{mean_change[d]:+.3f}", chosen, f"{chosen_changes[-1]:+.3f}"])
    improved = sum(m > 0 for m in mean_change.values())
    out = ["## Numeric embeddings", "",
           wrap(f"`{NUMERIC_EMBEDDING_COMMAND}`; today's defaults; 3 fits × 5 splits per cell. "
                "The linear probe's change with `numeric_embedding=\"piecewise_linear\"` (every "
                "modality's columns on 3 quantile bins) against none, per label share; a set's "
                "change is its mean over the shares. Held out: the choice between the two by "
                "the mean change on the other seven sets, and its change on the held-out "
                "one."), ""]
    out += md_table(["data set", *(f"{float(f):.0%}" for f in shares), "mean change",
                     "chosen on the other seven", "its change there"], rows)
    out += ["", wrap(f"Mean change {np.mean(list(mean_change.values())):+.3f}, "
                     f"{improved} of {len(REAL)} sets improved; held out, the choice's mean "
                     f"change is {np.mean(chosen_changes):+.3f}.")]
    if (RESULTS_DIR / NUMERIC_EMBEDDING_COST).exists():
        out += ["", "### The price of a fit", ""] + transcribed(NUMERIC_EMBEDDING_COST)
    return out


def ensemble_against_the_users(cells):
    """The default ensemble against the user's own ensemble of the same selection on the raw
    columns alone, paired by fit and split on each real set: the fused member's share."""
    ours = comparison.ENSEMBLE + comparison.DEFAULT_VARIANT
    theirs = comparison.USER_ENSEMBLE + comparison.DEFAULT_VARIANT
    shares = sorted(cells[REAL[0]][ours]["scores"], key=float)
    rows, tallies = [], {share: [0, 0] for share in shares}
    for d in REAL:
        metric = comparison.metric(d)
        line = [SHORT[d]]
        for share in shares:
            mean, sd = paired(cells[d][ours][metric][share], cells[d][theirs][metric][share])
            tallies[share][0] += mean > sd
            tallies[share][1] += -mean > sd
            line.append(f"{mean:+.3f} ± {sd:.3f}")
        rows.append(line)
    out = [wrap(f"The {comparison.SHORT[ours]} against the {comparison.SHORT[theirs]} (its "
                "three members on the raw columns, the same selection), each set's metric, "
                "the mean paired difference ± sd over fits and splits."), ""]
    out += md_table(["data set", *(f"{float(s):.0%}" for s in shares)], rows)
    out += ["", wrap("Above by more than one sd / below by more than one sd, of the "
                     f"{len(REAL)} real sets: " + "; ".join(
                         f"{float(s):.0%} of the labels {up} / {down}"
                         for s, (up, down) in tallies.items()) + ".")]
    return out


def section_ensemble():
    """TupleInfoNCEEnsembleClassifier's blend against each of its members alone, on the test
    rows (log loss and the set's metric), and what its members cost beside the fusion."""
    if not (RESULTS_DIR / ENSEMBLE_FILE).exists():
        return []
    cells = load(ENSEMBLE_FILE)
    blend = comparison.ENSEMBLE
    members = list(dict.fromkeys(m[len(f"{blend} member "):] for rows in cells.values()
                                 for m in rows if m.startswith(f"{blend} member ")))
    out = ["## The ensemble and its members", "",
           wrap(f"`{COMPARISON_SOURCES[ENSEMBLE_FILE]}`. `TupleInfoNCEEnsembleClassifier` "
                "with its default members on the study's fusion (prefitted without labels), "
                "selected on each score it offers (`scoring`) and, where a class has one "
                "labelled row, with each `fallback`, and each member alone, fitted "
                "on the same labelled rows: the test rows' log loss (lower is better) / the "
                "set's metric, mean over the splits; the blend's weights come from 3-fold "
                "out-of-fold predictions on the labelled rows alone. Cost: the members' "
                "out-of-fold predictions and fits (every member refitted; the fusion "
                "prefitted) over the fusion's own fit, in one run."), ""]
    rows, costs = [], {}
    for key, short, _ in DATASETS:
        methods = cells.get(key, {})
        if blend not in methods:
            continue
        metric = comparison.metric(key)
        for share in sorted(methods[blend]["log_loss"]):
            line = [short, f"{float(share):.0%}"]
            for name in [*comparison.ENSEMBLES, *(f"{blend} member {m}" for m in members)]:
                row = methods[name]
                line.append(f"{np.mean(row['log_loss'][share]):.3f} / "
                            f"{np.mean(row[metric][share]):.3f}")
            rows.append(line)
            costs.setdefault(float(share), []).append(
                np.mean(methods[blend]["members_s"][share]) / methods[blend]["fit_s"])
    out += md_table(["data set", "labels", *(comparison.SHORT[e] for e in comparison.ENSEMBLES),
                     *members], rows)
    out += ["", wrap("The members' cost over the fusion's fit, median over the sets (range), "
                     "measured beside other runs (indicative): "
                     + "; ".join(f"{share:.0%} of the labels {np.median(r):.2f} "
                                 f"({_span(r)})"
                                 for share, r in sorted(costs.items())) + ".")]
    if all(comparison.USER_ENSEMBLE + comparison.DEFAULT_VARIANT in cells.get(d, {})
           for d in REAL):
        out += ["", "### What the fused vector adds to the same ensemble", ""]
        out += ensemble_against_the_users(cells)
    if (RESULTS_DIR / ENSEMBLE_COST).exists():
        out += ["", f"### {PRICE_TITLE}", ""]
        out += transcribed(ENSEMBLE_COST)
    return (out + section_member_price() + section_aware_weighing() + section_fused_trees()
            + section_tree_study(CHEAPER_STUDY) + section_tree_study(FEWER_ROUNDS_STUDY)
            + section_tree_study(FEWER_BINS_STUDY) + section_bins_as_default()
            + section_self_training_member()
            + section_selection_rule())


#: Each default member of the ensemble alone against the fusion's fit, in one run.
MEMBER_COST = "cost_ensemble_members.json"


def _by_median_price(rows):
    """``{member: its median price over rows}``, the dearest first (``rows``: the runs of
    ``bench_cost.py --per-member``)."""
    median = {name: np.median([r["member_ratios"][name] for r in rows])
              for name in rows[0]["member_ratios"]}
    return dict(sorted(median.items(), key=lambda item: -item[1]))


def section_member_price():
    """Each default member's price alone (``bench_cost.py --ensemble-only --per-member``):
    the run's tables, and the members by their median price."""
    if not (RESULTS_DIR / MEMBER_COST).exists():
        return []
    rows = load(MEMBER_COST)["results"]["ensemble"]
    spread = []
    for name, median in _by_median_price(rows).items():
        ratios = [r["member_ratios"][name] for r in rows]
        spread.append(f"{name} {median:.2f} ({_span(ratios)})")
    return ["", "### Each member's price alone", "",
            *transcribed(MEMBER_COST, command_once=True), "", wrap(
        "Each member alone (its out-of-fold predictions and its refit; in the ensemble only "
        "the members kept are refitted) over the fusion's fit, "
        f"median over the {len({r['dataset'] for r in rows})} sets and "
        f"{len({r['share'] for r in rows})} label shares (range): " + "; ".join(spread) + ".")]


#: The target-aware ensemble weighed on its twin and cross-fitted, in one run.
AWARE_WEIGHING_FILE = "label_efficiency_ensemble_cross_fit.json"
#: The last commit whose default members' trees were scikit-learn's; the studies run at it or
#: before say so.
BEFORE_CHEAPER_TREES = "0cb7230"
SKLEARN_TREES = (f", at commit {BEFORE_CHEAPER_TREES} or earlier, when the default members' "
                 "trees were scikit-learn's")
#: The default members' trees from "Cheaper boosted trees" to "Fewer rounds still", and the
#: last commit that had them.
FIFTY_ROUNDS = {"max_iter": 50, "learning_rate": 0.2}
FIFTY_ROUNDS_LABEL = trees_label(FIFTY_ROUNDS)
BEFORE_25_ROUND_TREES = "ec918e8"
FIFTY_ROUND_TREES = (f", at commit {BEFORE_25_ROUND_TREES}, when the default members' trees "
                     "took 50 rounds at learning rate 0.2")
FEWER_ROUNDS_TITLE = "Fewer rounds still"
AWARE_WEIGHING_COMMAND = (
    f"{LE} --methods TupleInfoNCE --ensemble --ensemble-target-aware "
    "--ensemble-cross-fit --fractions 0.1 --datasets ... --json ... (two runs side by side, "
    f"five sets and four, merged: benchmarks/results/{AWARE_WEIGHING_FILE}){SKLEARN_TREES}")


#: The one-standard-error rule against the greedy blend (``--ensemble-selection-rules``).
SELECTION_RULE_FILE = "label_efficiency_ensemble_selection_rules.json"
SELECTION_RULE_COMMAND = (
    f"{LE} --methods TupleInfoNCE --ensemble --ensemble-target-aware "
    "--ensemble-selection-rules --fractions 0.01 --fit-seeds 1 --first-fit 0 [1] --json ... "
    "(two runs side by side, fit 1's scores appended to fit 0's: "
    f"benchmarks/results/{SELECTION_RULE_FILE}){SKLEARN_TREES}")
ONE_SE = ", selection=one_standard_error"


def _ended_by_the_rule(row):
    """``row`` (an ensemble's row) with its selection ended by the one-SE rule: the rule's
    suffix before the class weights, as bench_label_efficiency's ``ensemble_row`` names it."""
    head, balanced, tail = row.partition(comparison.BALANCED)
    return head + ONE_SE + balanced + tail


def _rule_configurations(key):
    """``{short name: the greedy row}`` of the configurations the rule is tried on, for the
    set ``key``: the 1% share's choice in the README, the advised one (by the set's metric),
    and the user's own ensemble as it selects by default."""
    aware = comparison.AWARE_ENSEMBLE
    return {"target-aware ensemble on balanced accuracy, class-balanced":
            aware + comparison.DEFAULT_VARIANT + comparison.BALANCED,
            "target-aware ensemble, by the metric": comparison.by_metric_row(aware, key),
            "LR + HGB ensemble on balanced accuracy":
            comparison.USER_ENSEMBLE + comparison.DEFAULT_VARIANT}


def section_selection_rule():
    """Each ensemble's greedy blend against the same selection ended by the one-standard-error
    rule, paired, in each set's metric (a setting tried and rejected)."""
    if not (RESULTS_DIR / SELECTION_RULE_FILE).exists():
        return []
    cells = load(SELECTION_RULE_FILE)
    rows, differences = [], {}
    for key, short, _ in DATASETS:
        methods = cells.get(key, {})
        metric = comparison.metric(key)
        for name, greedy in _rule_configurations(key).items():
            if greedy not in methods:
                continue
            for share in sorted(methods[greedy][metric], key=float):
                a = methods[_ended_by_the_rule(greedy)][metric][share]
                b = methods[greedy][metric][share]
                if key in REAL:
                    differences.setdefault(name, []).append(paired(a, b)[0])
                rows.append([short + (" (balanced)" if metric == "balanced" else ""),
                             f"{float(share):.0%}", name, fits(b), cell(b), cell(a),
                             paired_cell(a, b)])
    if not rows:
        return []
    summary = "; ".join(
        f"{name}: higher on {sum(d > 0 for d in found)} of the {len(found)} real sets, lower "
        f"on {sum(d < 0 for d in found)}, by {np.mean(found):+.3f} on average"
        for name, found in differences.items())
    return ["", "### The one-standard-error rule", "", wrap(
        f"`{SELECTION_RULE_COMMAND}`. The greedy selection's blend, or the best member alone "
        "(its first pick) unless the blend beats it on the out-of-fold rows by more than one "
        "standard error of their row-by-row difference in the selection's score "
        "(`sktnce._selection.SELECTION_RULES`; Breiman's rule, as CART prunes), from the "
        "same out-of-fold predictions: the test rows' metric, mean ± sd over fits × splits, "
        "and the paired difference rule minus greedy (\"above\"/\"below\": by more than "
        "one sd). Tried where few labels make the blend's out-of-fold gain noise: 1% of "
        "the labels."), ""] + md_table(
        ["data set", "labels", "configuration", "fits × splits", "greedy", "one-SE rule",
         "one-SE − greedy"], rows) + ["", wrap(
            "One-SE rule against greedy, " + summary + (
                ". Lower on average in every configuration, so the rule is not an option "
                "of the estimators: a blend's mean of members carries less variance than one "
                "member alone, even where the out-of-fold rows cannot show its gain."
                if all(np.mean(found) < 0 for found in differences.values()) else "."))]


def section_aware_weighing():
    """The target-aware ensemble weighed on its unsupervised twin against the same
    ensemble weighed on one target-aware fusion per fold, paired, in each set's metric."""
    if not (RESULTS_DIR / AWARE_WEIGHING_FILE).exists():
        return []
    cells = load(AWARE_WEIGHING_FILE)
    variant = comparison.DEFAULT_VARIANT
    twin = comparison.AWARE_ENSEMBLE + variant
    crossed = comparison.AWARE_ENSEMBLE_CROSS_FIT + variant
    plain = comparison.ENSEMBLE + variant
    rows, differences = [], {}
    for key, short, _ in DATASETS:
        methods = cells.get(key, {})
        if crossed not in methods:
            continue
        metric = comparison.metric(key)
        for share in sorted(methods[crossed][metric], key=float):
            a, b = methods[crossed][metric][share], methods[twin][metric][share]
            mean, sd = paired(a, b)
            differences.setdefault(float(share), []).append(mean)
            rows.append([short + (" (balanced)" if metric == "balanced" else ""),
                         f"{float(share):.0%}", cell(methods[plain][metric][share]), cell(b),
                         cell(a), paired_cell(a, b)])
    summary = "; ".join(
        f"with {share:.0%} of the labels cross-fitting is higher on {sum(d > 0 for d in found)}"
        f" of the {len(found)} sets, lower on {sum(d < 0 for d in found)}, by "
        f"{np.mean(found):+.3f} on average" for share, found in sorted(differences.items()))
    return ["", "### Weighing the target-aware ensemble: its twin or cross-fitted", "", wrap(
        f"`{AWARE_WEIGHING_COMMAND}`. `TupleInfoNCEEnsembleClassifier` selected on balanced "
        "accuracy (its default) on the study's fusion (one fit, `random_state` 0, without "
        "labels), and on a target-aware fusion fitted per split with its labels, whose "
        "members are weighed either on the fusion without labels, its twin "
        "(`aware_weighing=\"twin\"`, the default), or on one more target-aware fusion per "
        "fold, each trained on the other folds' labels only "
        "(`aware_weighing=\"cross_fit\"`): the test rows' metric, mean ± sd over 5 "
        "splits, and the paired difference cross-fitted minus twin (\"above\"/\"below\": "
        "by more than one sd)."), ""] + md_table(
        ["data set", "labels", "ensemble", "target-aware, twin", "target-aware, cross-fitted",
         "cross-fitted − twin"], rows) + ["", wrap(summary[0].upper() + summary[1:] + ".")]


def _paired_summary(found, sets="sets"):
    """``"3 of the 8 sets higher, 5 lower (1 and 0 by more than one sd), +0.002 on
    average"``: the paired differences ``found`` (``(mean, sd)`` per set) in words."""
    means = [mean for mean, _ in found]
    return (f"{sum(m > 0 for m in means)} of the {len(found)} {sets} higher, "
            f"{sum(m < 0 for m in means)} lower ({sum(m > sd for m, sd in found)} and "
            f"{sum(-m > sd for m, sd in found)} by more than one sd), "
            f"{np.mean(means):+.3f} on average")


#: Each ensemble with and without boosted trees on the columns beside the fused vector.
FUSED_TREES_FILE = "label_efficiency_ensemble_fused_trees.json"
FUSED_TREES_COMMAND = (
    f"{LE} --methods TupleInfoNCE --ensemble --ensemble-target-aware --ensemble-fused-trees "
    "--fractions 0.01 0.1 1 --first-fit 2 --datasets ... --json ... (two runs side by side, "
    "four sets and five, merged; the ensembles' rows kept: "
    f"benchmarks/results/{FUSED_TREES_FILE}){SKLEARN_TREES}")


def section_fused_trees():
    """The ensembles (target-aware, and on the fusion without labels) selected and
    class-weighted by each set's metric, with and without gradient boosting on the columns
    beside the fused vector, paired."""
    if not (RESULTS_DIR / FUSED_TREES_FILE).exists():
        return []
    cells = load(FUSED_TREES_FILE)
    blends = (comparison.AWARE_ENSEMBLE, comparison.ENSEMBLE)
    rows, differences = [], {}
    for key, short, _ in DATASETS:
        methods = cells.get(key, {})
        if comparison.by_metric_row(blends[0] + comparison.FUSED_TREES, key) not in methods:
            continue
        metric = comparison.metric(key)
        for share in sorted(methods[comparison.ENSEMBLE][metric], key=float):
            row = [short + (" (balanced)" if metric == "balanced" else ""),
                   f"{float(share):.0%}"]
            for blend in blends:
                a = methods[comparison.by_metric_row(blend + comparison.FUSED_TREES, key)]
                b = methods[comparison.by_metric_row(blend, key)]
                a, b = a[metric][share], b[metric][share]
                differences.setdefault((blend, float(share)), []).append(paired(a, b))
                row += [cell(b), cell(a), paired_cell(a, b)] if blend == blends[0] else [
                    paired_cell(a, b)]
            rows.append(row)

    def summary(blend, share):
        return _paired_summary(differences[blend, share])

    shares = sorted({share for _, share in differences})
    return ["", "### Boosted trees on the columns beside the fused vector", "", wrap(
        f"`{FUSED_TREES_COMMAND}`. Each ensemble selected on balanced accuracy and "
        "class-balanced on the sets scored by balanced accuracy, on accuracy elsewhere (the "
        "README's variant at 10% and 100%), with its default members and with two more: "
        "`HistGradientBoostingClassifier` (defaults and `min_samples_leaf=5`) on the "
        "modalities' columns beside the fused vector (`\"columns_and_fused\"`, read from "
        "the target-aware fusion in the target-aware ensemble); one fit (`random_state` 2, "
        "the third fit of the comparison's ensembles) × 5 splits: the test rows' metric, "
        "mean ± sd, and the paired difference with the trees minus without (\"above\"/"
        "\"below\": by more than one sd); the last column the same difference for the "
        "ensemble on the fusion without labels."), ""] + md_table(
        ["data set", "labels", "target-aware ensemble", "with the trees", "difference",
         "difference, ensemble without labels"], rows) + ["", wrap(
            "With the trees, the target-aware ensemble: " + "; ".join(
                f"{share:.0%} of the labels {summary(blends[0], share)}" for share in shares)
            + ". The ensemble on the fusion without labels: " + "; ".join(
                f"{share:.0%} {summary(blends[1], share)}" for share in shares)
            + f". Their price beside the default members: \"{PRICE_TITLE}\" above "
            "(`bench_cost.py --ensemble-only --fused-trees`).")]


@dataclass(frozen=True)
class TreeStudy:
    """A study of the default members' boosted trees against other trees in their places
    (``--ensemble-trees``): its file, the other trees' parameters, its command, its title,
    its words for each kind of trees, short (``base``, ``other``) and in full, and its price
    run alone on the machine (``bench_cost.py --trees``), with what to say before its
    figures."""
    file: str
    params: dict
    command: str
    title: str
    base: str
    base_in_full: str
    other: str
    other_in_full: str
    cost: str
    cost_preface: str = ""

    @property
    def suffix(self):
        """What the study's rows carry after the blend's name."""
        return ", trees with " + trees_label(self.params)


#: The default members' trees made cheaper, measured while they were scikit-learn's (at
#: ``BEFORE_CHEAPER_TREES``); its rows' trees were the default members' until the next study.
CHEAPER_TREES_FILE = "label_efficiency_ensemble_cheaper_trees.json"
CHEAPER_STUDY = TreeStudy(
    CHEAPER_TREES_FILE, FIFTY_ROUNDS,
    f"{LE} --methods TupleInfoNCE --ensemble --ensemble-trees \"{{'max_iter': 50, "
    "'learning_rate': 0.2}\" --fractions 0.01 0.1 1 --fit-seeds 1 --first-fit 0 [1] --json "
    "... (two runs side by side, fit 1's scores appended to fit 0's: "
    f"benchmarks/results/{CHEAPER_TREES_FILE}){SKLEARN_TREES}",
    "Cheaper boosted trees", "scikit-learn's trees",
    "`HistGradientBoostingClassifier` at scikit-learn's defaults (100 rounds at learning rate "
    "0.1; the default members' trees when this ran)", "cheaper trees",
    f"the same trees at `{FIFTY_ROUNDS_LABEL}` (the default members' trees from this study "
    f"to \"{FEWER_ROUNDS_TITLE}\")", "cost_ensemble_cheaper_trees.json",
    f"Run at commit {BEFORE_CHEAPER_TREES}, when the default members' trees were "
    "scikit-learn's. ")
#: The 50-round trees against a quarter of scikit-learn's rounds at four times its rate,
#: measured while the 50-round ones were the default members' (at ``BEFORE_25_ROUND_TREES``);
#: its rows' trees are the default members' since.
FEWER_ROUNDS_FILE = "label_efficiency_ensemble_trees_25_rounds.json"
FEWER_ROUNDS_STUDY = TreeStudy(
    FEWER_ROUNDS_FILE, {"max_iter": 25, "learning_rate": 0.4},
    f"{LE} --methods TupleInfoNCE --ensemble --ensemble-trees \"{{'max_iter': 25, "
    "'learning_rate': 0.4}\" --fractions 0.01 0.1 1 --fit-seeds 1 --first-fit 0 [1] --json "
    "... (two runs side by side, fit 1's scores appended to fit 0's: "
    f"benchmarks/results/{FEWER_ROUNDS_FILE}){FIFTY_ROUND_TREES}",
    FEWER_ROUNDS_TITLE, "the 50-round trees",
    f"the default members' trees when this ran (`{FIFTY_ROUNDS_LABEL}`)",
    "25-round trees",
    "the same trees at `max_iter=25, learning_rate=0.4` (the default members' trees since "
    "this study)", "cost_ensemble_trees_25_rounds.json",
    f"Run at commit {BEFORE_25_ROUND_TREES}, when the default members' trees were "
    f"`{FIFTY_ROUNDS_LABEL}`. ")
#: Today's default trees against the same with a quarter of the bins (``max_bins=63``, fewer
#: candidate splits per column: the trees' price grows with the columns).
FEWER_BINS_FILE = "label_efficiency_ensemble_trees_63_bins.json"
FEWER_BINS_STUDY = TreeStudy(
    FEWER_BINS_FILE, {"max_bins": 63},
    f"{LE} --methods TupleInfoNCE --ensemble --ensemble-trees \"{{'max_bins': 63}}\" "
    "--fractions 0.01 0.1 1 --fit-seeds 1 --first-fit 0 [1] --json ... (two runs side by side, "
    f"fit 1's scores appended to fit 0's: benchmarks/results/{FEWER_BINS_FILE})",
    "Fewer bins", "today's trees",
    f"the default members' trees then (`{TODAY_TREES_LABEL}`, 255 bins on every set)",
    "63-bin trees",
    "the same trees with `max_bins=63`", "cost_ensemble_trees_63_bins.json")
#: The study that chose the default members' trees (``TODAY_TREES``).
TODAY_TREES_STUDY = FEWER_ROUNDS_STUDY
#: ``BINS_DEFAULT_FILE``'s run: at ``BINS_DEFAULT_COMMIT`` (reverted after).
BINS_DEFAULT_COMMIT = "44a0904"
BINS_DEFAULT_COMMAND = (
    f"{LE} --methods TupleInfoNCE --ensemble --ensemble-target-aware --fractions 0.01 0.1 1 "
    "--fit-seeds 3 --datasets ... --json ... (two runs side by side, as "
    f"{AWARE_ENSEMBLE_FILE}'s, merged: benchmarks/results/{BINS_DEFAULT_FILE}), at commit "
    f"{BINS_DEFAULT_COMMIT}, when the default members' trees took max_bins=63")


def _real_tally(found):
    """``(at least level, above, below, mean margin)`` of held-out results on the real sets."""
    real = [r for r in found if r["dataset"] in REAL]
    return (*comparison.tally(real), float(np.mean([r["mean"] for r in real])))


def _comparison_in_words(results):
    """``"10% of the labels: at least level on 8 of 8, above by more than one sd on 1,
    below on 0, mean margin +0.006"`` per share of ``results`` (``_comparison``'s)."""
    words = []
    for share, found in results.items():
        level, above, below, mean = _real_tally(found)
        words.append(f"{share:.0%} of the labels: at least level on {level} of {len(REAL)}, "
                     f"above by more than one sd on {above}, below on {below}, mean margin "
                     f"{mean:+.3f}")
    return "; ".join(words)


def _with_users_at_all_bins(rows, today):
    """``rows`` (63-bin trees on every set) with the user's own ensemble at 255 bins on every
    set among the rows without sktnce: ``today``'s (``comparison_rows``) rows of it, 255 bins
    wherever sktnce's default trees take them, and on a wide table its own rows so named."""
    for dataset, methods in rows.items():
        for suffix in comparison.VARIANTS:
            found = today.get(dataset, {})
            found = found.get(comparison.USER_ENSEMBLE_ALL_BINS + suffix,
                              found.get(comparison.USER_ENSEMBLE + suffix))
            if found:
                methods[comparison.USER_ENSEMBLE_ALL_BINS + suffix] = found
    return rows


def section_bins_as_default():
    """README's comparison (one configuration per share, chosen leave one set out) with the
    ensembles' rows rerun under the 63-bin trees, beside today's."""
    if not (RESULTS_DIR / BINS_DEFAULT_FILE).exists():
        return []
    today_rows = comparison_rows()
    today = _comparison(today_rows)
    rerun = _comparison(_with_users_at_all_bins(
        comparison_rows({ENSEMBLE_FILE: BINS_DEFAULT_FILE,
                         AWARE_ENSEMBLE_FILE: BINS_DEFAULT_FILE}), today_rows))
    return ["", "### Fewer bins as the default: the comparison", "", wrap(
        f"`{BINS_DEFAULT_COMMAND}`. Every ensemble row of README's first table measured again "
        "with the 63-bin trees in the default members' places (the fusions the same, bit for "
        "bit), and the comparison chosen again, leave one set out, as README's: against the "
        "best row without sktnce, the user's own ensemble with the same trees or with 255 "
        "bins among them. With the "
        f"63-bin trees on every set, {_comparison_in_words(rerun)}. With today's trees "
        f"(README: {TODAY_WIDE_LABEL} only, on Multiple Features alone of the study sets, "
        "where they score as in this run, bit for bit), "
        f"{_comparison_in_words(today)}. So the "
        "default members take 63 bins on wide tables only: the 63-bin trees' price gain is "
        "on the widest table (above), and on every set with 10% of the labels the "
        f"comparison under them is at least level on {_real_tally(rerun[0.1])[0]} sets, "
        f"not {_real_tally(today[0.1])[0]}.")]


def _tree_study_price(study):
    """The price run of the ``study``'s trees alone on the machine: its tables, and per
    share the members over the fusion's fit with each kind of trees."""
    if not (RESULTS_DIR / study.cost).exists():
        return []
    rows = load(study.cost)["results"]["ensemble"]
    shares = sorted({r["share"] for r in rows})

    def spread(key, share):
        return _span([r[key] for r in rows if r["share"] == share])

    return ["", *transcribed(study.cost, command_once=True), "", wrap(
        f"{study.cost_preface}Alone on the machine, the members over the fusion's fit on the "
        f"{len({r['dataset'] for r in rows})} sets: " + "; ".join(
            f"at {share:.0%} of the labels {spread('cheaper_ratio', share)} with the "
            f"{study.other}, {spread('ratio', share)} with {study.base}"
            for share in shares) + ".")]


def _tree_study_cells(study, methods, key, share):
    """``(row cells, {blend: paired difference}, price)`` of one set and share: each blend
    by the set's metric with the default trees and with the study's, and the study's trees'
    seconds over the default members' (median over the splits)."""
    metric = comparison.metric(key)
    row, found = [], {}
    for blend in (comparison.ENSEMBLE, comparison.USER_ENSEMBLE):
        a = methods[comparison.by_metric_row(blend + study.suffix, key)][metric][share]
        b = methods[comparison.by_metric_row(blend, key)][metric][share]
        found[blend] = paired(a, b)
        row += [cell(b), cell(a), paired_cell(a, b)]
    price = float(np.median(np.divide(
        methods[comparison.ENSEMBLE + study.suffix]["extra_members_s"][share],
        methods[comparison.ENSEMBLE]["members_s"][share])))
    return row + [f"{price:.2f}"], found, price


def section_tree_study(study):
    """The ensemble and the user's own, selected and class-weighted by each set's metric,
    with the default members' boosted trees and with the ``study``'s, paired; and the
    study's trees' price over the default members' in the same run."""
    if not (RESULTS_DIR / study.file).exists():
        return []
    cells = load(study.file)
    rows, differences, prices = [], {}, {}
    for key, short, _ in DATASETS:
        methods = cells.get(key, {})
        if comparison.ENSEMBLE + study.suffix not in methods:
            continue
        metric = comparison.metric(key)
        for share in sorted(methods[comparison.ENSEMBLE][metric], key=float):
            line, found, price = _tree_study_cells(study, methods, key, share)
            rows.append([short + (" (balanced)" if metric == "balanced" else ""),
                         f"{float(share):.0%}", fits(methods[comparison.ENSEMBLE][metric][share]),
                         *line])
            if key in REAL:
                for blend, pair in found.items():
                    differences.setdefault((blend, float(share)), []).append(pair)
                prices.setdefault(float(share), []).append(price)

    def summary(blend, share):
        return _paired_summary(differences[blend, share], "real sets")

    shares = sorted(prices)
    return ["", f"### {study.title}", "", wrap(
        f"`{study.command}`. The ensemble on the fusion without labels and the user's own "
        "ensemble on the raw columns, each selected on balanced accuracy and class-balanced "
        "on the sets scored by balanced accuracy, on accuracy elsewhere, with "
        f"{study.base_in_full} and with {study.other_in_full}, weighed on the same folds: "
        "the test rows' metric, mean ± sd over fits × splits, and the paired difference "
        f"{study.other} minus {study.base} (\"above\"/\"below\": by more than one sd). "
        f"Price: the two {study.other}' out-of-fold predictions and refits over the four "
        f"members' with {study.base}, median over the splits, in the same run beside another "
        "(indicative)."), ""] + md_table(
        ["data set", "labels", "fits × splits", f"ensemble, {study.base}", study.other,
         "difference", f"user's ensemble, {study.base}", study.other, "difference",
         "price"], rows) + ["", wrap(
            f"With the {study.other}, the ensemble: " + "; ".join(
                f"{share:.0%} of the labels {summary(comparison.ENSEMBLE, share)}"
                for share in shares) + ". The user's own ensemble: " + "; ".join(
                f"{share:.0%} {summary(comparison.USER_ENSEMBLE, share)}" for share in shares)
            + f". Their price over the four members' with {study.base}, median over the real "
            "sets: " + "; ".join(f"{share:.0%} {np.median(prices[share]):.2f} "
                                 f"({_span(prices[share])})" for share in shares) + ".")
    ] + _tree_study_price(study)


#: The ensemble with a member that reads the unlabelled rows: self-training on the fused
#: vector beside the default members.
SELF_TRAINING_FILE = "label_efficiency_ensemble_self_training.json"
SELF_TRAINING_COMMAND = (
    "OMP_NUM_THREADS=1 python benchmarks/bench_self_training_member.py --fit-seeds 2 "
    "--datasets ... --json ... (two runs side by side, four sets and five, merged: "
    f"benchmarks/results/{SELF_TRAINING_FILE})")
WITH_SELF_TRAINING = ", with self-training on the fused vector"
SELF_TRAINING_MEMBER = f"{comparison.ENSEMBLE} member fused_self_training"


def _self_training_cells(methods, key, share):
    """``(row cells, paired difference, price)`` of one set and share: the fused vector's
    probe and the self-training member alone, the ensemble by the set's metric without and
    with it, the member's mean weight, and its seconds over the default members'."""
    metric = comparison.metric(key)
    without = methods[comparison.by_metric_row(comparison.ENSEMBLE, key)][metric][share]
    row = comparison.by_metric_row(comparison.ENSEMBLE + WITH_SELF_TRAINING, key)
    with_it = methods[row][metric][share]
    timed = methods[comparison.ENSEMBLE + ", scoring=accuracy"]
    price = float(np.median(np.divide(timed["extra_members_s"][share],
                                      timed["members_s"][share])))
    return ([cell(methods[f"{comparison.ENSEMBLE} member fused_lr"][metric][share]),
             cell(methods[SELF_TRAINING_MEMBER][metric][share]), cell(without), cell(with_it),
             paired_cell(with_it, without), f"{np.mean(methods[row]['weight'][share]):.2f}",
             f"{price:.2f}"], paired(with_it, without), price)


def section_self_training_member():
    """The ensemble by each set's metric with and without self-training on the fused
    vector beside its default members, paired; the member's weight and price."""
    if not (RESULTS_DIR / SELF_TRAINING_FILE).exists():
        return []
    cells = load(SELF_TRAINING_FILE)
    rows, differences, prices = [], {}, {}
    for key, short, _ in DATASETS:
        methods = cells.get(key, {})
        if SELF_TRAINING_MEMBER not in methods:
            continue
        metric = comparison.metric(key)
        for share in sorted(methods[SELF_TRAINING_MEMBER][metric], key=float):
            line, pair, price = _self_training_cells(methods, key, share)
            rows.append([short + (" (balanced)" if metric == "balanced" else ""),
                         f"{float(share):.0%}",
                         fits(methods[SELF_TRAINING_MEMBER][metric][share]), *line])
            if key in REAL:
                differences.setdefault(float(share), []).append(pair)
                prices.setdefault(float(share), []).append(price)
    shares = sorted(differences)
    return ["", "### Self-training on the fused vector", "", wrap(
        f"`{SELF_TRAINING_COMMAND}`. The fusion is the only part of the ensemble that learns "
        "from the rows without a label; this member reads them too: "
        "`SelfTrainingClassifier(LogisticRegression())` on the standardised fused vector, "
        "fitted on every row with -1 for the rows without a label (a held-out fold's rows "
        "among them for its out-of-fold probabilities, from the same folds as the default "
        "members'). The fused vector's probe (`fused_lr`) and the self-training member "
        "alone, and the ensemble on the fusion without labels with its default members and "
        "with the self-training member beside them, selected on balanced accuracy and "
        "class-balanced on the sets scored by balanced accuracy, on accuracy elsewhere: the "
        "test rows' metric, mean ± sd over fits × splits, the paired difference with it "
        "minus without (\"above\"/\"below\": by more than one sd), its mean weight in the "
        "blend, and its seconds over the four default members', median over the splits, "
        "in the same run beside another (indicative)."), ""] + md_table(
        ["data set", "labels", "fits × splits", "`fused_lr` alone", "self-training alone",
         "ensemble", "with self-training", "difference", "its weight", "price"], rows) + [
        "", wrap("With the self-training member, the ensemble: " + "; ".join(
            f"{share:.0%} of the labels {_paired_summary(differences[share], 'real sets')}"
            for share in shares) + ". Its price over the four default members', median over "
            "the real sets: " + "; ".join(f"{share:.0%} {np.median(prices[share]):.2f} "
                                          f"({_span(prices[share])})" for share in shares)
            + ".")]


DATA_PARALLEL = "data_parallel.json"


def section_data_parallel():
    """One fit on several processes (``n_processes``): throughput against one process,
    what the collectives cost, the probe's accuracy."""
    if not (RESULTS_DIR / DATA_PARALLEL).exists():
        return []
    tables = load(DATA_PARALLEL)["tables"]
    throughput, accuracy = tables[0]["rows"], tables[1]["rows"]
    ratios = "; ".join(f"batch_size={r[0]}: {r[3]}x" for r in throughput if r[1] != "1")
    changes = ", ".join(f"{r[0]} {r[3]}" for r in accuracy)
    return ["", "## Data-parallel fits", "", wrap(
        "`TupleInfoNCEFusion(n_processes=2)` against one process, on this machine's cores: "
        "the first table's rows per second of an epoch (50,000 generated rows, 100 columns "
        "in 3 modalities, the default network; one process on every thread against each "
        "process on its share; the processes' start counted apart), what one process's "
        "collectives send and take per step, and their share of the step; the second the "
        "linear probe on the fused vector with 10% of the labels (3 splits, one fit each). "
        f"Throughput on 2 processes over one: {ratios}; the probe's change: {changes}."), ""
    ] + transcribed(DATA_PARALLEL)


def render_results(table, users):
    out = [
        "# Benchmark results", "",
        wrap("Rendered by `python benchmarks/render.py` from the result files in "
             "`benchmarks/results/`; do not edit it by hand (`python benchmarks/render.py "
             "--check` fails where it differs). Every table names the command that produced "
             "it and the defaults it ran under; a table measured under other defaults than "
             "today's says so."), "",
        wrap(f"Machine: {MACHINE}. Today's defaults: "
             + ", ".join(f"`{k}={v}`" for k, v in TODAY.items()) + ". Timing ratios come from "
             "runs interleaved in one process with nothing else running; fit times measured "
             "beside other jobs are indicative only."), ""]
    out += section_label_efficiency(table) + [""] + section_paired(table) + [""]
    users = section_user_baselines(users)
    out += users + ([""] if users else [])
    ensemble = section_ensemble()
    out += ensemble + ([""] if ensemble else [])
    embeddings = section_numeric_embedding()
    out += embeddings + ([""] if embeddings else [])
    regression = section_regression(regression_rows())
    out += regression + ([""] if regression else [])
    out += section_demo() + [""] + section_defaults() + [""] + section_earlier() + [""]
    out += ["## The search", ""] + transcribed("search_quality.json") + [""]
    out += ["## Disturbed negatives and partial views", ""] + transcribed("ablation.json")
    out += ["", "## Does the search's reward track the probe?", ""]
    out += transcribed("alignment.json")
    out += section_alignment_validation()
    out += ["", "## Other representations, under the paper's loss", ""]
    out += transcribed("quality.json", heading="###")
    out += ["", "## Cost", ""] + transcribed("cost.json") + [""]
    out += transcribed("disturbed.json") + [""] + transcribed("search_cost.json") + [""]
    out += transcribed("reward.json")
    out += section_data_parallel()
    return "\n".join(out) + "\n"


def rendered():
    """``{path: text}`` of README.md and RESULTS.md as the result files give them."""
    table, users = label_efficiency(), comparison_rows()
    return {README: render_readme(README.read_text(encoding="utf-8"), table, users),
            RESULTS_MD: render_results(table, users)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 where README.md or RESULTS.md differs")
    args = parser.parse_args(argv)
    differs = []
    for path, text in rendered().items():
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current == text:
            continue
        differs.append(path)
        if args.check:
            sys.stdout.writelines(difflib.unified_diff(
                current.splitlines(keepends=True), text.splitlines(keepends=True),
                str(path), "rendered", n=1))
        else:
            path.write_text(text, encoding="utf-8")
    if args.check and differs:
        print("differs from the rendering: " + ", ".join(p.name for p in differs))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
