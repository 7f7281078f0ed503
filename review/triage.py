"""The municipality's triage colour (green, yellow, red) for a listed citizen, from the risk band.

The colours are the ones municipal early-detection already uses (the "Ændringsskema"/TOBS triage: yellow
means an action plan within 48 hours); which risk counts as which colour is the municipality's choice, so
the mapping is configuration (``ReviewConfig.triage``, from ``TIDLIG_REVIEW_TRIAGE``), for example
``red=0.40,yellow=0.20``: a risk of at least 40 % is red, at least 20 % yellow, anything lower green.
"""

from __future__ import annotations

from dataclasses import dataclass

COLOURS = ("red", "yellow", "green")
TRIAGE_ENV = "TIDLIG_REVIEW_TRIAGE"


class TriageConfigError(ValueError):
    """The triage mapping text cannot be read (the message says what to write instead)."""


@dataclass(frozen=True)
class TriageBands:
    """Lower risk bounds for red and yellow (red >= yellow); below ``yellow`` is green."""

    red: float = 0.40
    yellow: float = 0.20

    def __post_init__(self) -> None:
        if not (0.0 <= self.yellow <= self.red <= 1.0):
            raise TriageConfigError(
                "Triage bounds must satisfy 0 <= yellow <= red <= 1, "
                f"got red={self.red}, yellow={self.yellow}."
            )

    def colour(self, risk: float) -> str:
        """``red``, ``yellow`` or ``green`` for a risk between 0 and 1."""
        if risk >= self.red:
            return "red"
        if risk >= self.yellow:
            return "yellow"
        return "green"

    @classmethod
    def parse(cls, text: str) -> TriageBands:
        """``"red=0.40,yellow=0.20"`` (either order; a bound left out keeps its default)."""
        values: dict[str, float] = {}
        for part in (item.strip() for item in text.split(",")):
            if not part:
                continue
            name, _, number = part.partition("=")
            name = name.strip().lower()
            if name not in ("red", "yellow"):
                raise TriageConfigError(
                    f"{TRIAGE_ENV}: unknown band {name!r}; write for example red=0.40,yellow=0.20."
                )
            try:
                values[name] = float(number)
            except ValueError:
                raise TriageConfigError(
                    f"{TRIAGE_ENV}: {part!r} is not a number between 0 and 1; write for example red=0.40."
                ) from None
        return cls(**values)
