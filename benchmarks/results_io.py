"""Result files of the benchmarks: the JSON that ``render.py`` builds RESULTS.md from.

A benchmark run with ``--json PATH`` writes one object: ``command`` (the command line),
``defaults`` (the library's defaults it ran under, ``library_defaults()``), ``tables`` (each
markdown table it printed, as ``{"columns": [...], "rows": [[...], ...]}`` of strings) and
``results`` (its raw figures, where the script returns them).
"""

import json
import shlex
import sys

#: The parameters of TupleInfoNCEFusion that the benchmarks' figures depend on.
DEFAULT_PARAMETERS = ("max_epochs", "batch_size", "n_components", "corruption",
                      "modality_dropout", "temperature", "reconstruction", "lr",
                      "score_chunk_size")


def library_defaults():
    """``{parameter: default}`` of ``DEFAULT_PARAMETERS``, read from the installed library."""
    from sktnce import TupleInfoNCEFusion

    params = TupleInfoNCEFusion().get_params()
    return {name: params[name] for name in DEFAULT_PARAMETERS}


def parse_tables(text):
    """Every markdown table in ``text``: ``[{"columns": [...], "rows": [[...], ...]}]``, the
    cells as strings, stripped."""
    tables, current = [], None
    for line in text.splitlines():
        if line.startswith("|") and line.rstrip().endswith("|"):
            cells = [c.strip() for c in line.strip()[1:-1].split("|")]
            if current is None:
                current = {"columns": cells, "rows": []}
                tables.append(current)
            elif not all(set(c) <= set("-: ") and c for c in cells):
                current["rows"].append(cells)
        else:
            current = None
    return tables


def command(argv=None, script=None):
    """The command line of this run, as ``python benchmarks/SCRIPT ARGS``."""
    argv = sys.argv[1:] if argv is None else list(argv)
    script = script or sys.argv[0].rsplit("/", 1)[-1]
    return " ".join(["python", f"benchmarks/{script}", *map(shlex.quote, argv)])


def _jsonable(value):
    if isinstance(value, dict):
        return {(k if isinstance(k, str) else repr(k) if isinstance(k, tuple) else str(k)):
                _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def write(path, *, script, argv, printed="", results=None):
    """Write a run's result file (see the module's docstring)."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"command": command(argv, script), "defaults": library_defaults(),
                   "tables": parse_tables(printed), "results": _jsonable(results)},
                  f, indent=1)
        f.write("\n")


def report(lines, path, *, script, argv, results=None):
    """Print a run's closing table (``lines``) and, with a ``path`` (``--json``), write it
    and ``results`` to that result file."""
    printed = "\n".join(lines)
    print("\n" + printed)
    if path:
        write(path, script=script, argv=argv, printed=printed, results=results)
