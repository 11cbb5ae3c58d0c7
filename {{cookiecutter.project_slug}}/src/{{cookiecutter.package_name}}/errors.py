"""The expected ways for a stage to say no."""


class Refusal(Exception):
    """A stage refuses on purpose (bad data, nothing to roll back, a failed check): the command
    line prints one line naming the stage and the reason, and exits 1, instead of a traceback."""
