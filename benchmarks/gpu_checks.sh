#!/usr/bin/env bash
# The CUDA checks and GPU cost figures of benchmarks/RESULTS.md, in one run on a GPU machine.
# Expects python3 with torch (CUDA), numpy, scipy, pandas, pytest and joblib; skorch and
# scikit-learn wheels may sit in .whl/ (that machine has no package index). Writes the log
# to $OUT/gpu.log when OUT is set.
set -uo pipefail
cd "$(dirname "$0")/.."
if compgen -G ".whl/*.whl" > /dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}$PWD" PYTHONUNBUFFERED=1
LOG="${OUT:-/tmp}/gpu.log"
{
    nvidia-smi -L
    python3 -c "import torch, sklearn, skorch; print('torch', torch.__version__, 'sklearn', sklearn.__version__, 'skorch', skorch.__version__, torch.cuda.get_device_name(), 'cpus', torch.get_num_threads())"
    python3 -m pytest -q -p no:cacheprovider tests/test_batched.py tests/test_fusion.py -k "cuda or batched or candidates" -rs
    python3 benchmarks/bench_search.py --device cuda --repeats 2
    python3 benchmarks/bench_search.py --device cpu --repeats 2
    python3 benchmarks/bench_search.py --device cuda --memory 100000
    python3 benchmarks/bench_cost.py --device cuda --sizes 10000 100000
} 2>&1 | tee "$LOG"
