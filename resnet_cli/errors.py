"""Errors that mean "the user asked for something impossible".

The CLI turns every `UserError` into one line on stderr and exit code 2 (DESIGN.md §2);
anything else is an internal error (exit code 1).
"""


class UserError(Exception):
    """Bad input from the user: an option value, a file, a config key."""


class ConfigError(UserError):
    """An option or config-file value that is unknown, malformed or out of range."""


class DataError(UserError):
    """A data file that is missing, unreadable or of the wrong shape."""
