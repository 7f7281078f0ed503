"""A run file: the parameters of a run as TOML, so a run can be repeated from its file alone.

```toml
[features]
feature_set = "repeat-admissions"
every = "quarter"

[train]
outcomes = ["admission"]
search_trials = 4

[score]
capacity = 20
capacity_by_district = { "101-01" = 12 }
```

Each table holds fields of one step's parameter object (``pipelines.parameters``); an absent field keeps
its default, an unknown one is refused by name. ``tidlig features|train|score --run-file FILE`` start from
the file, and options given on the command line override it. ``tidlig train`` logs the ``[train]`` table
that reproduces it as ``run.toml`` with every MLflow run. Read with the standard library's ``tomllib``;
written with ``toml`` (a dependency of Prefect, so nothing new is installed).
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from models.config import TrainingConfig
from pipelines.errors import InvalidParameterError
from pipelines.parameters import FeaturesParameters, ScoreParameters, TrainParameters
from screening.config import ScreeningConfig

TABLES: dict[str, type] = {
    "features": FeaturesParameters,
    "train": TrainParameters,
    "score": ScoreParameters,
}


@dataclass(frozen=True)
class RunFile:
    """The parameter objects of the steps a run file describes."""

    features: FeaturesParameters = field(default_factory=FeaturesParameters)
    train: TrainParameters = field(default_factory=TrainParameters)
    score: ScoreParameters = field(default_factory=ScoreParameters)

    @classmethod
    def from_toml(cls, text: str, where: str = "run file") -> RunFile:
        """Parse a run file; InvalidParameterError names the file, table and key that are wrong."""
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise InvalidParameterError(f"{where} is not valid TOML: {error}", option="--run-file") from error
        unknown_tables = sorted(set(document) - set(TABLES))
        if unknown_tables:
            raise InvalidParameterError(
                f"{where}: unknown table(s) {', '.join(unknown_tables)}; known: {', '.join(TABLES)}.",
                option="--run-file",
            )
        values = {
            name: parameters_from(kind, document.get(name, {}), f"{where} [{name}]")
            for name, kind in TABLES.items()
        }
        return cls(**values)

    @classmethod
    def read(cls, path: str | Path) -> RunFile:
        """Read a run file from disk."""
        return cls.from_toml(Path(path).read_text(), where=str(path))

    @classmethod
    def from_configs(cls, training: TrainingConfig, screening: ScreeningConfig) -> RunFile:
        """The run file of a TrainingConfig and a ScreeningConfig (their user-settable fields)."""
        train = TrainParameters(
            **{
                f.name: getattr(training, f.name)
                for f in fields(TrainParameters)
                if hasattr(training, f.name)
            }
        )
        score = ScoreParameters(
            **{
                f.name: dict(value) if isinstance(value := getattr(screening, f.name), dict) else value
                for f in fields(ScoreParameters)
                if hasattr(screening, f.name)
            }
        )
        return cls(train=train, score=score)

    def to_toml(self, tables: tuple[str, ...] = tuple(TABLES)) -> str:
        """The TOML text of the given tables (default: all); ``from_toml`` reads it back equal."""
        import toml

        document = {name: _plain(asdict(getattr(self, name))) for name in tables}
        return toml.dumps(document)

    def training_config(self) -> TrainingConfig:
        return self.train.training_config()

    def screening_config(self) -> ScreeningConfig:
        return self.score.screening_config()


def parameters_from(kind: type, table: dict[str, Any], where: str) -> Any:
    """One parameter object from a TOML table (lists become tuples where the field is a tuple)."""
    known = {f.name: f for f in fields(kind)}
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise InvalidParameterError(
            f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(known)}.", option="--run-file"
        )
    defaults = kind()
    values = {
        name: tuple(value)
        if isinstance(getattr(defaults, name), tuple) and isinstance(value, list)
        else value
        for name, value in table.items()
    }
    return kind(**values)


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """TOML has no null: leave out fields that are None (they default to None when read back)."""
    return {
        key: list(value) if isinstance(value, tuple) else value
        for key, value in values.items()
        if value is not None
    }
