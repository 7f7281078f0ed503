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


@dataclass(frozen=True, init=False)
class Settings:
    """Where everything lives and how the platform behaves, every path and URL resolved.

    ``home`` is the data root; the other paths and database URLs default to places inside it. The
    constructor takes ``None`` for "the default"; the attributes are always resolved, so no caller ever
    handles a missing path.
    """

    home: Path
    demo: bool
    deployment: Deployment
    pseudonym_key: str | None = field(repr=False)
    pseudonym_key_version: str | None
    world_dir: Path
    landing_dir: Path
    warehouse_dir: Path
    quarantine_dir: Path
    features_dir: Path
    lists_dir: Path
    care_db_url: str
    operational_db_url: str
    keystore_url: str
    mlflow_tracking_uri: str
    drift_psi_threshold: float
    # a Dask scheduler address (tcp://host:port): the steps' tasks run on that cluster; None: in process
    cluster: str | None
    # shards of persons per step (pipelines/cluster.py); None: 1 in process, 16 on a cluster
    shards: int | None
    # on a cluster, the train step fits with lightgbm.dask from this many training rows up, below it in
    # process (pipelines/cluster_training.py, docs/decisions.md D86)
    cluster_training_min_rows: int
    # an extract file above this many bytes is read and validated in chunks of ``ingest_chunk_rows`` rows
    # and still landed as one batch (data_contracts/file_chunks.py, docs/decisions.md D141)
    ingest_chunk_above_bytes: int
    ingest_chunk_rows: int

    def __init__(
        self,
        home: Path | str = Path("tidlig-data"),
        *,
        demo: bool = False,
        deployment: Deployment = "operational",
        pseudonym_key: str | None = None,
        pseudonym_key_version: str | None = None,
        world_dir: Path | str | None = None,
        landing_dir: Path | str | None = None,
        warehouse_dir: Path | str | None = None,
        quarantine_dir: Path | str | None = None,
        features_dir: Path | str | None = None,
        lists_dir: Path | str | None = None,
        care_db_url: str | None = None,
        operational_db_url: str | None = None,
        keystore_url: str | None = None,
        mlflow_tracking_uri: str | None = None,
        drift_psi_threshold: float = 0.25,
        cluster: str | None = None,
        shards: int | None = None,
        cluster_training_min_rows: int = CLUSTER_TRAINING_MIN_ROWS,
        ingest_chunk_above_bytes: int = 256 << 20,
        ingest_chunk_rows: int = 500_000,
    ) -> None:
        root = Path(home).absolute()
        world = _absolute(world_dir, root / "world")
        if demo and pseudonym_key is None:
            pseudonym_key, pseudonym_key_version = DEMO_PSEUDONYM_KEY, DEMO_PSEUDONYM_KEY_VERSION
        resolved: dict[str, object] = {
            "home": root,
            "demo": demo,
            "deployment": deployment,
            "pseudonym_key": pseudonym_key,
            "pseudonym_key_version": pseudonym_key_version,
            "world_dir": world,
            "landing_dir": _absolute(landing_dir, world / "deliveries"),
            "warehouse_dir": _absolute(warehouse_dir, root / "warehouse"),
            "quarantine_dir": _absolute(quarantine_dir, root / "quarantine"),
            "features_dir": _absolute(features_dir, root / "features"),
            "lists_dir": _absolute(lists_dir, root / "lists"),
            "care_db_url": care_db_url or f"sqlite:///{world / 'care.sqlite'}",
            "operational_db_url": operational_db_url or f"sqlite:///{root / 'operational.sqlite'}",
            "keystore_url": keystore_url or f"sqlite:///{root / 'keystore.sqlite'}",
            "mlflow_tracking_uri": mlflow_tracking_uri or f"sqlite:///{root / 'mlflow.db'}",
            "drift_psi_threshold": drift_psi_threshold,
            "cluster": cluster,
            "shards": shards,
            "cluster_training_min_rows": cluster_training_min_rows,
            "ingest_chunk_above_bytes": ingest_chunk_above_bytes,
            "ingest_chunk_rows": ingest_chunk_rows,
        }
        for name, value in resolved.items():
            object.__setattr__(self, name, value)

    @property
    def mlflow_artifact_root(self) -> Path:
        return self.home / "mlflow-artifacts"

    @property
    def data_docs_dir(self) -> Path:
        """Great Expectations Data Docs of every validation run, without row values (D107)."""
        return self.home / "data_docs"

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


def _absolute(value: Path | str | None, default: Path) -> Path:
    return Path(value).absolute() if value is not None else default


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
