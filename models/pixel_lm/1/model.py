"""Triton Python model `pixel_lm`: left-padded prompt ids -> generated ids (runtime from config)."""

import json

import triton_python_backend_utils as pb_utils

from pipeline_lib.serving.lm_runner import make_runner
from pipeline_lib.serving.triton_glue import artifacts_dir, execute_batched, guard_object_dtype, model_settings, output_dtypes

INPUTS = ("input_ids", "attention_mask")


class TritonPythonModel:
    def initialize(self, args):
        guard_object_dtype()  # upstream bug, see triton_glue
        config = json.loads(args["model_config"])
        self.dtypes = output_dtypes(pb_utils, config)
        self.runner = make_runner(model_settings(config), artifacts_dir(args))

    def compute(self, cols):
        output_ids, output_length, pooled_hidden = self.runner.generate(
            cols["input_ids"], cols["attention_mask"])
        return {
            "output_ids": output_ids,
            "output_length": output_length.reshape(-1, 1),
            "pooled_hidden": pooled_hidden,
        }

    def execute(self, requests):
        return execute_batched(pb_utils, requests, input_names=INPUTS, dtypes=self.dtypes,
                               compute=self.compute)
