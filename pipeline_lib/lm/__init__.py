"""The Pixel LM: a Llama-family decoder with a static KV cache, exported to TorchScript.

model.py (architecture) -> decode.py (generation inside the module) -> loader.py (HF checkpoints,
LoRA) -> export.py + validate.py (`pixel export`) -> runner.py (the Python-backend runtime).
"""
