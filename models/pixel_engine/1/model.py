"""Triton Python model `pixel_lm` on the engine (decoupled): prompt ids in, a stream of tokens out.

`execute` hands each request to the engine and returns; the engine's scheduler thread answers
through each request's response sender (pipeline_lib.serving.engine_step).
"""

import json

import triton_python_backend_utils as pb_utils

from pipeline_lib.serving.engine_step import GenerateStep
from pipeline_lib.serving.triton_glue import artifacts_dir, guard_object_dtype, model_settings


class TritonPythonModel:
    def initialize(self, args):
        guard_object_dtype()  # upstream bug, see triton_glue
        config = json.loads(args["model_config"])
        settings = {**model_settings(config), "model_name": config["name"]}
        self.step = GenerateStep(pb_utils, settings, artifacts_dir(args))

    def execute(self, requests):
        for request in requests:
            self.step.submit(request)
        return None

    def finalize(self):
        self.step.finalize()
