"""The benchmark scripts still import and run, on tiny data (their timings are not checked)."""

import importlib.util
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def load_benchmark(name):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_disturbed_quick(capsys):
    results = load_benchmark("bench_disturbed").main(["--quick"])
    assert set(results) == {"plain", "default", "naive"}
    assert results["plain"][1] == 1.0
    assert "naive" in capsys.readouterr().out


def test_bench_search_quick(capsys):
    results = load_benchmark("bench_search").main(["--quick"])
    assert results["single_seconds"] > 0 and results["search_seconds"] > 0
    assert results["ratio"] == results["search_seconds"] / results["single_seconds"]
    assert "ratio" in capsys.readouterr().out
