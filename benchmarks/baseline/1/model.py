"""Benchmark baseline `baseline`: raw text -> response text with plain Hugging Face code, one model.

What a first version without the pipeline would do: apply the chat template with the context
type's system prompt, tokenize the batch Triton hands us (left padding), call `generate` greedily,
decode. No fixed-length padding, no separate steps, no scoring. Same checkpoint, max_new_tokens,
prompts and batching profile as the `pixel` ensemble (rendered by pipeline_lib.config.baseline).
"""

import json
from pathlib import Path

import numpy as np
import triton_python_backend_utils as pb_utils

DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


class TritonPythonModel:
    def initialize(self, args):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        config = json.loads(args["model_config"])
        self.settings = {k: json.loads(v["string_value"]) for k, v in config["parameters"].items()}
        checkpoint = Path(args["model_repository"]) / args["model_version"] / "artifacts" / "checkpoint"
        self.torch = torch
        self.device = self.settings["device"]
        self.tokenizer = AutoTokenizer.from_pretrained(
            str(checkpoint), padding_side="left", truncation_side="left")  # keep the latest text
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(
            str(checkpoint), dtype=getattr(torch, DTYPES[self.settings["dtype"]])).to(self.device).eval()

    def _prompt(self, text: str, context_type: str) -> str:
        prompts = self.settings["context_types"]
        system = prompts.get(context_type.strip() or self.settings["default_context_type"])
        if system is None:
            raise ValueError("context_type: unknown value")
        messages = [{"role": "system", "content": system}, {"role": "user", "content": text}]
        return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)

    def execute(self, requests):
        prompts, rows, responses = [], [], [None] * len(requests)
        for i, request in enumerate(requests):
            texts = pb_utils.get_input_tensor_by_name(request, "text").as_numpy().reshape(-1)
            contexts = pb_utils.get_input_tensor_by_name(request, "context_type").as_numpy().reshape(-1)
            try:
                batch = [self._prompt(t.decode("utf-8"), c.decode("utf-8"))
                         for t, c in zip(texts, contexts, strict=True)]
            except (UnicodeDecodeError, ValueError) as exc:
                responses[i] = pb_utils.InferenceResponse(
                    error=pb_utils.TritonError(str(exc), pb_utils.TritonError.INVALID_ARG))
                continue
            rows.append((i, len(prompts), len(prompts) + len(batch)))
            prompts.extend(batch)
        if not prompts:
            return responses
        encoded = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False,
                                 truncation=True, max_length=self.settings["max_input_tokens"])
        with self.torch.inference_mode():
            out = self.model.generate(**encoded.to(self.device), do_sample=False,
                                      max_new_tokens=self.settings["max_new_tokens"],
                                      pad_token_id=self.tokenizer.pad_token_id)
        texts = self.tokenizer.batch_decode(out[:, encoded["input_ids"].shape[1]:], skip_special_tokens=True)
        for i, start, end in rows:
            answer = np.array([[t.strip().encode("utf-8")] for t in texts[start:end]], dtype=np.object_)
            responses[i] = pb_utils.InferenceResponse(
                output_tensors=[pb_utils.Tensor("response_text", answer)])
        return responses
