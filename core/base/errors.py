"""Errors that mean the user asked for something impossible: shown as one line, never a traceback."""


class UserError(Exception):
    """A mistake in input (a setting, a path, a file) with a message fit to show as it is."""


class ConfigError(UserError):
    pass


class DataError(UserError):
    pass


class CheckpointError(UserError):
    pass
