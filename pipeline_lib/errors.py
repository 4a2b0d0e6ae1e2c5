"""One exception tree for the whole package: callers catch `PixelError` and read the message."""


class PixelError(Exception):
    """Base class of every error raised on purpose by pipeline_lib."""


class ConfigError(PixelError):
    """A Hydra config or override is invalid."""


class SetupError(PixelError):
    """A required file, package or binary is missing; the message says how to get it."""


class ServerError(PixelError):
    """tritonserver could not start or stopped unexpectedly."""


class InvalidInputError(PixelError):
    """A request field breaks a rule; the message names the field and the rule."""

    def __init__(self, field: str, rule: str):
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule
