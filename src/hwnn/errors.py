"""User-facing errors: each names the problem and what to do about it.

The CLI prints these as one clear message (no traceback) and exits with status 2.
"""


class HwnnError(Exception):
    """Base of every error hwnn raises on bad input."""


class ConfigError(HwnnError, ValueError):
    """An impossible or unknown setting."""


class DataError(HwnnError, ValueError):
    """A data file that is missing, truncated, corrupt or inconsistent."""


class NativeUnavailableError(HwnnError, RuntimeError):
    """The native core was asked for but is not built."""
