"""The one error type the CLI turns into a clean message (no traceback unless --debug)."""


class GenesysError(Exception):
    """A user-facing error: the message says what was wrong, where, and what to do."""


class ConfigError(GenesysError, ValueError):
    """An architecture config that breaks a rule (names the source, key, value and rule)."""
