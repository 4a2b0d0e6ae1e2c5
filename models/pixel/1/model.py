"""Triton Python models `pixel` (unary) and `pixel_stream` (decoupled, gRPC streaming).

Raw text in; the reply and its scores out: `pixel` answers once with the ensemble's tensors,
`pixel_stream` sends the crisis assessment first, then text deltas, then every score. Both are
served by the engine through BLS calls (pipeline_lib.serving.reply_flow), many requests in flight.
"""

import json

import triton_python_backend_utils as pb_utils

from pipeline_lib.serving.orchestrator import Orchestrator
from pipeline_lib.serving.triton_glue import guard_object_dtype, model_settings


class TritonPythonModel:
    def initialize(self, args):
        guard_object_dtype()  # upstream bug, see triton_glue
        config = json.loads(args["model_config"])
        streaming = config.get("model_transaction_policy", {}).get("decoupled", False)
        self.orchestrator = Orchestrator(pb_utils, config, model_settings(config),
                                         streaming=streaming)

    def execute(self, requests):
        return self.orchestrator.execute(requests)

    def finalize(self):
        self.orchestrator.finalize()
