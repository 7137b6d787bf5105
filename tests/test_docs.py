"""The documentation cannot drift: every gallery example runs, in quick mode.

The docstrings' examples run as doctests (setup.cfg); the Sphinx build runs warning-free here
without executing the examples (see the README for the full command).
"""

import os
import runpy
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("plot_*.py"))


def test_gallery_has_the_examples():
    assert {path.stem for path in EXAMPLES} >= {
        "plot_embedding_map", "plot_cross_modal_accuracy", "plot_search_history",
        "plot_tabular_text"}
    for path in EXAMPLES:
        text = path.read_text(encoding="utf-8")
        assert text.startswith('"""'), f"{path.name}: sphinx-gallery needs a docstring title"
        assert 'os.environ.get("SKTNCE_QUICK") == "1"' in text, f"{path.name}: no quick mode"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_example_runs_in_quick_mode(path, monkeypatch, capsys):
    pytest.importorskip("pandas")
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.setenv("SKTNCE_QUICK", "1")
    monkeypatch.chdir(path.parent)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny networks: one thread is fastest on a shared machine
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*non-interactive.*cannot be shown")
            namespace = runpy.run_path(str(path), run_name="__main__")
        assert namespace["QUICK"] is True
        assert plt.get_fignums(), f"{path.name} drew no figure"
        for number in plt.get_fignums():
            assert all(ax.has_data() for ax in plt.figure(number).axes)
    finally:
        plt.close("all")
        torch.set_num_threads(threads)
    assert capsys.readouterr().out  # each example prints what it measured


def test_sphinx_build_has_no_warnings(tmp_path):
    """The README's docs command with -W, the gallery examples left unexecuted.

    The API pages show docstrings that the estimators inherit from scikit-learn
    (``set_score_request``), whose glossary terms and labels exist only in its documentation.
    """
    for name in ("sphinx", "numpydoc", "sphinx_gallery", "pydata_sphinx_theme", "matplotlib"):
        pytest.importorskip(name)
    # Built from a copy: autosummary and sphinx-gallery write their pages beside the sources.
    shutil.copytree(ROOT / "docs", tmp_path / "docs", ignore=shutil.ignore_patterns(
        "_build", "generated", "auto_examples", "sg_execution_times.rst", "__pycache__"))
    shutil.copytree(ROOT / "examples", tmp_path / "examples",
                    ignore=shutil.ignore_patterns("__pycache__"))
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-D", "plot_gallery=0", str(tmp_path / "docs"), str(tmp_path / "html")],
        capture_output=True, text=True, timeout=300,
        env=dict(os.environ, PYTHONPATH=path, OMP_NUM_THREADS="1"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "html" / "generated" / "sktnce.TupleInfoNCEClassifier.html").is_file()


def test_readme_ten_lines_run(capsys):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Ten lines that run", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        exec(compile(code, "README.md", "exec"), {})
    finally:
        torch.set_num_threads(threads)
    score, accuracy = capsys.readouterr().out.splitlines()
    assert 0 <= float(score) <= 1
    assert "'weak'" in accuracy


def test_readme_keeps_ci_command_and_figure():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert 'pip install torch==2.13.0 -e ".[test]" && python -m pytest\n' in readme
    assert "(docs/images/embedding_map.png)" in readme
    image = ROOT / "docs" / "images" / "embedding_map.png"
    assert image.is_file() and image.stat().st_size < 200_000


def _package_imports(path):
    """The sktnce modules that ``path`` imports (relative imports)."""
    import ast

    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_readme_layout_lists_the_modules_in_import_order():
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("## Layout"):]
    order = []
    for name in re.findall(r"`(\w+)\.py`", layout):
        if name not in order:
            order.append(name)
    modules = {path.stem for path in (ROOT / "sktnce").glob("*.py")} - {"__init__"}
    assert set(order) == modules
    # Imports run one way: each module imports only modules listed above it.
    for position, name in enumerate(order):
        below = _package_imports(ROOT / "sktnce" / f"{name}.py") - set(order[:position])
        assert not below, f"{name}.py imports {sorted(below)}, listed below it"
