"""Errors the model layer raises, importable without torch."""


class CheckpointError(RuntimeError):
    """A checkpoint folder is missing, incomplete or corrupt; the message says which."""
