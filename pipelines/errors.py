"""The errors a step raises when it cannot go on. Flows raise them; only the CLI turns them into messages.

Every message says what is wrong and what to do next, and never holds person data. The hierarchy is small
on purpose: the CLI needs to know only whether the user gave a bad option (exit 2, like any usage error)
or the step could not run or refused to (exit 1).
"""

from __future__ import annotations


class StepError(RuntimeError):
    """A step could not run or refused to; the message says why and what to do."""


class InvalidParameterError(StepError, ValueError):
    """A parameter of the step is wrong; ``option`` names the command-line option it came from."""

    def __init__(self, message: str, option: str | None = None) -> None:
        super().__init__(message)
        self.option = option


class MissingInputError(StepError):
    """An input the step needs is not there yet (no warehouse, no feature set, no champion model)."""


class PublishRefusedError(StepError):
    """The screening run refused to publish for a safety reason; the previous lists stay current."""
