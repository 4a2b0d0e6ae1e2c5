"""Triton Python model `scoring`: the user's message (and, once written, the reply) -> scores.

Three request shapes (pipeline_lib.serving.scoring_step): generated ids from the run-to-completion
ensemble, the user's message alone (the engine's safety-first assessment), or the finished reply.
"""

import json

import triton_python_backend_utils as pb_utils

from pipeline_lib.serving.scoring_step import OPTIONAL_INPUTS, ScoringStep, mode_of
from pipeline_lib.serving.triton_glue import artifacts_dir, execute_batched, guard_object_dtype, model_settings, output_dtypes


class TritonPythonModel:
    def initialize(self, args):
        guard_object_dtype()  # upstream bug, see triton_glue
        config = json.loads(args["model_config"])
        self.dtypes = output_dtypes(pb_utils, config)
        self.optional = [i["name"] for i in config["input"]]
        self.step = ScoringStep(model_settings(config), artifacts_dir(args))

    def execute(self, requests):
        groups = {}  # mode -> (input names, [(index, request)])
        for i, request in enumerate(requests):
            present = {n for n in self.optional
                       if pb_utils.get_input_tensor_by_name(request, n) is not None}
            mode, names = mode_of(present)
            groups.setdefault(mode, (names, []))[1].append((i, request))
        responses = [None] * len(requests)
        for mode, (names, members) in groups.items():
            answered = execute_batched(pb_utils, [r for _, r in members], input_names=names,
                                       dtypes=self.dtypes, compute=getattr(self.step, mode),
                                       optional_inputs=OPTIONAL_INPUTS.get(mode))
            for (i, _), response in zip(members, answered):
                responses[i] = response
        return responses
