"""Typed settings, loaded once at the edge (CLI or flow) and passed down.

Every value has an embedded default that needs no server. Each can be overridden by an environment
variable (``TIDLIG_<NAME>``) or a TOML file named by ``TIDLIG_CONFIG``. Nothing here runs at import time.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Literal

from pipelines.errors import StepError

DEMO_PSEUDONYM_KEY = "tidlig-demo-key-NOT-SECRET-synthetic-data-only"
DEMO_PSEUDONYM_KEY_VERSION = "demo-1"

Deployment = Literal["operational", "research"]
CLUSTER_TRAINING_MIN_ROWS = 2_000_000


@dataclass(frozen=True)
class Settings:
    """Where everything lives and how the platform behaves.

    ``home`` is the data root; the other paths default to folders inside it.
    """

    home: Path = Path("tidlig-data")
    demo: bool = False
    deployment: Deployment = "operational"
    pseudonym_key: str | None = field(default=None, repr=False)
    pseudonym_key_version: str | None = None
    world_dir: Path | None = None
    landing_dir: Path | None = None
    warehouse_dir: Path | None = None
    quarantine_dir: Path | None = None
    features_dir: Path | None = None
    lists_dir: Path | None = None
    care_db_url: str | None = None
    operational_db_url: str | None = None
    keystore_url: str | None = None
    mlflow_tracking_uri: str | None = None
    drift_psi_threshold: float = 0.25
    # a Dask scheduler address (tcp://host:port): the steps' tasks run on that cluster; None: in process
    cluster: str | None = None
    # shards of persons per step (pipelines/cluster.py); None: 1 in process, 16 on a cluster
    shards: int | None = None
    # on a cluster, the train step fits with lightgbm.dask from this many training rows up, below it in
    # process (pipelines/cluster_training.py, docs/decisions.md D86)
    cluster_training_min_rows: int = CLUSTER_TRAINING_MIN_ROWS

    def __post_init__(self) -> None:
        home = Path(self.home).absolute()
        object.__setattr__(self, "home", home)
        defaults = {
            "world_dir": home / "world",
            "landing_dir": home / "world" / "deliveries",
            "warehouse_dir": home / "warehouse",
            "quarantine_dir": home / "quarantine",
            "features_dir": home / "features",
            "lists_dir": home / "lists",
        }
        for name, default in defaults.items():
            value = getattr(self, name)
            object.__setattr__(self, name, Path(value).absolute() if value is not None else default)
        if self.care_db_url is None:
            object.__setattr__(self, "care_db_url", f"sqlite:///{self.world_dir / 'care.sqlite'}")
        if self.operational_db_url is None:
            object.__setattr__(self, "operational_db_url", f"sqlite:///{home / 'operational.sqlite'}")
        if self.keystore_url is None:
            object.__setattr__(self, "keystore_url", f"sqlite:///{home / 'keystore.sqlite'}")
        if self.mlflow_tracking_uri is None:
            object.__setattr__(self, "mlflow_tracking_uri", f"sqlite:///{home / 'mlflow.db'}")
        if self.demo and self.pseudonym_key is None:
            object.__setattr__(self, "pseudonym_key", DEMO_PSEUDONYM_KEY)
            object.__setattr__(self, "pseudonym_key_version", DEMO_PSEUDONYM_KEY_VERSION)

    @property
    def mlflow_artifact_root(self) -> Path:
        return self.home / "mlflow-artifacts"

    def require_pseudonym_key(self) -> tuple[str, str]:
        """The (key, version) pair, or a clear error saying how to provide one."""
        if not self.pseudonym_key or not self.pseudonym_key_version:
            raise MissingPseudonymKeyError(
                "No pseudonymisation key is configured. Set TIDLIG_PSEUDONYM_KEY and "
                "TIDLIG_PSEUDONYM_KEY_VERSION (keep the key in a secret store), or run with --demo to use "
                "the public demo key on synthetic data only."
            )
        from data_contracts.pseudonym import PseudonymKeyError, check_pseudonym_key

        try:
            check_pseudonym_key(self.pseudonym_key, demo=self.demo, demo_key=DEMO_PSEUDONYM_KEY)
        except PseudonymKeyError as error:
            raise MissingPseudonymKeyError(str(error)) from None
        return self.pseudonym_key, self.pseudonym_key_version

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with the given non-None values replaced."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def reference(self) -> SettingsReference:
        """What a flow is given instead of these settings (see :class:`SettingsReference`)."""
        return SettingsReference(home=str(self.home), demo=self.demo, cluster=self.cluster)


@dataclass(frozen=True)
class SettingsReference:
    """How every flow receives its settings: the data home, the demo flag and the Dask scheduler address
    (``cluster``, not a secret), nothing else.

    A flow parameter is stored in the Prefect database and shown in its UI, so it must never hold the
    pseudonymisation key. The flow calls :meth:`resolve` in its own process, which loads the settings
    exactly as the CLI does (defaults < ``TIDLIG_CONFIG`` TOML < ``TIDLIG_*`` environment < these two
    values): the key and every other setting come from that process's configuration or secret store.
    `tidlig <step>` runs its flow in its own process, so the flow sees the command's settings; a served
    run inherits the environment of `tidlig serve` (docs/decisions.md D13).
    """

    home: str
    demo: bool = False
    cluster: str | None = None

    def resolve(self) -> Settings:
        """The settings of the executing process for this home (and demo key when ``demo``)."""
        return load_settings(home=self.home, demo=self.demo or None, cluster=self.cluster)


class MissingPseudonymKeyError(StepError):
    """Raised when a step that touches CPR numbers runs without a pseudonymisation key."""


_BOOL_TRUE = {"1", "true", "yes", "on"}


def _coerce(name: str, raw: object) -> object:
    if name == "demo":
        return raw if isinstance(raw, bool) else str(raw).strip().lower() in _BOOL_TRUE
    if name == "drift_psi_threshold":
        return float(raw)  # type: ignore[arg-type]
    if name in ("shards", "cluster_training_min_rows"):
        return int(raw)  # type: ignore[call-overload]
    if name == "cluster":
        return str(raw).strip() or None
    return raw


def load_settings(environ: dict[str, str] | None = None, **overrides: object) -> Settings:
    """Settings from (lowest to highest precedence) defaults, TOML file, environment, overrides."""
    env = dict(os.environ if environ is None else environ)
    values: dict[str, object] = {}
    config_file = env.get("TIDLIG_CONFIG")
    if config_file:
        with Path(config_file).open("rb") as handle:
            values.update(tomllib.load(handle).get("tidlig", {}))
    for f in fields(Settings):
        env_value = env.get(f"TIDLIG_{f.name.upper()}")
        if env_value is not None:
            values[f.name] = env_value
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(Settings)}
    unknown = set(values) - known
    if unknown:
        raise ValueError(
            f"Unknown Tidlig setting(s): {', '.join(sorted(unknown))}. Known: {', '.join(sorted(known))}"
        )
    return Settings(**{k: _coerce(k, v) for k, v in values.items()})  # type: ignore[arg-type]
