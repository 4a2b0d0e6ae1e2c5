"""The models the gateway serves: OpenAI model ids and the context type each one asks for.

`pixel` is general support; `pixel-<context type with hyphens>` picks another context type's
system prompt (e.g. `pixel-crisis-support`). The A/B variant is not a model id: it is picked per
conversation by the client's sticky router, and reported in the `pixel` extension field.
"""

from __future__ import annotations

from pipeline_lib.contract import CONTEXT_TYPES

DEFAULT_MODEL = "pixel"
OWNER = "pixel-on-triton"


def model_id(context_type: str) -> str:
    return f"{DEFAULT_MODEL}-{context_type.replace('_', '-')}"


# model id -> context type, in the order /v1/models lists them.
MODELS: dict[str, str] = {DEFAULT_MODEL: CONTEXT_TYPES[0]}
MODELS.update({model_id(context): context for context in CONTEXT_TYPES})


def context_type_of(model: str) -> str | None:
    """The context type a model id asks for; None for an unknown id."""
    return MODELS.get(model)


def model_list(created: int) -> dict:
    """The body of GET /v1/models."""
    return {
        "object": "list",
        "data": [{"id": name, "object": "model", "created": created, "owned_by": OWNER,
                  "pixel": {"context_type": context}} for name, context in MODELS.items()],
    }
