#!/usr/bin/env bash
# The engine's GPU benchmark, one prepared run for a lent GPU machine (the device tool):
#   run(command="bash benchmarks/gpu/engine_speed.sh", carry=[".gpu"])
# In-process (no tritonserver: its wheel and the demo checkpoint do not fit the 64 MiB that
# travels), engine vs the run-to-completion module on the same prompts, with seeded random weights
# of the demo's shapes and of a 1B model's (stop tokens off: every request makes exactly 64
# tokens, so the timings are those of the real weights). `.gpu/tokenizer` holds the demo
# checkpoint's tokenizer and config files (not its weights):
#   mkdir -p .gpu/tokenizer && cp .pixel/checkpoints/smollm2-135m-instruct/*.{json,jinja} .gpu/tokenizer/
# Results go to $OUT (or benchmarks/results/engine/gpu); docs/engine.md has the figures.
set -euo pipefail
out=${OUT:-benchmarks/results/engine/gpu}
tok=${1:-.gpu/tokenizer}
mkdir -p "$out"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)" | tee -a "$out/gpu.txt"
# The GPU tests first (CUDA equals CPU: the LM, the scripted module, the engine).
python3 -m pytest -q -p no:cacheprovider -m gpu tests/unit/lm/test_gpu.py 2>&1 | tee "$out/gpu_tests.txt" || true
# GPU-sized step bounds: a GPU step costs its kernel launches, not its tokens, so whole prompts
# go in with the decoding rows (the CPU defaults, 96 tokens a step, would trickle a burst in).
common=(--device cuda --tokenizer "$tok" --new-tokens 64 --max-seq-len 512 --dtype bf16
        --slots 64 --prefill-chunk 2048 --step-token-budget 4096 --prefill-per-row 64 --out "$out")
python3 benchmarks/engine_speed.py "${common[@]}" --preset smollm2-135m --concurrency 1,8,16,32,64
python3 benchmarks/engine_speed.py "${common[@]}" --preset llama-3.2-1b --concurrency 1,16,64 --repeats 2
