#!/usr/bin/env bash
# The engine's GPU benchmark, one prepared run for a lent GPU machine (the device tool):
#   run(command="bash benchmarks/gpu/engine_speed.sh", carry=[".gpu"])
# In-process (no tritonserver: its wheel and the demo checkpoint do not fit the 64 MiB that
# travels), engine vs the run-to-completion module on the same prompts, demo shapes with seeded
# random weights (stop tokens off: every request makes exactly 64 tokens, so the timings are the
# demo model's). `.gpu/tokenizer` holds the demo checkpoint's tokenizer and config files:
#   mkdir -p .gpu/tokenizer && cp .pixel/checkpoints/smollm2-135m-instruct/{*.json,*.jinja} .gpu/tokenizer/
# (drop model.safetensors if the glob caught it). Results go to $OUT (or benchmarks/results/engine/gpu).
set -euo pipefail
out=${OUT:-benchmarks/results/engine/gpu}
tok=${1:-.gpu/tokenizer}
mkdir -p "$out"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)" | tee -a "$out/gpu.txt"
# The GPU tests first (CUDA equals CPU: the LM, the scripted module, the engine).
python3 -m pytest -q -p no:cacheprovider -m gpu tests/unit/lm/test_gpu.py 2>&1 | tee "$out/gpu_tests.txt" || true
common=(--device cuda --preset smollm2-135m --tokenizer "$tok" --new-tokens 64 --max-seq-len 512
        --out "$out")
python3 benchmarks/engine_speed.py "${common[@]}" --dtype bf16 --concurrency 1,8,16,32,64 --slots 64
python3 benchmarks/engine_speed.py "${common[@]}" --dtype fp32 --concurrency 1,8,32,64 --slots 64
python3 benchmarks/engine_speed.py "${common[@]}" --dtype bf16 --concurrency 1,32 --slots 32 --eager
# A production-sized shape too (random weights, the demo tokenizer's ids fit its vocabulary).
python3 benchmarks/engine_speed.py "${common[@]}" --dtype bf16 --concurrency 1,16,64 --slots 64 \
    --preset llama-3.2-1b --repeats 2 --out "$out/llama-3.2-1b"
