"""Hydra configs -> Triton `ModelConfig` protobufs -> config.pbtxt files. Never imported at serving time."""
