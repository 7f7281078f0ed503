"""Loading a gate-approved champion without importing MLflow: the registry's own tables, then its files.

Importing MLflow costs a scoring run seconds (about 2 s of CPU, far more wall time on a busy machine) and
hundreds of MB, although a champion is only a LightGBM booster, a calibrator and a metadata file. With a
local SQLite tracking store and a local (``file://``) artifact store, this module reads what
:func:`models.registry.verify_champion` reads (the ``champion`` alias, the version's ``gate_decision`` tag
and its run's ``gate_decision`` tag) from the tracking database with SQLAlchemy, read-only, and then the
three model files from the version's ``storage_location``. The registry stays the source of truth for
which version is champion and whether the gate approved it.

Anything this path does not recognise (another tracking URI scheme, a remote artifact store, a schema it
cannot query, a champion the gate did not approve, a missing file) returns ``None``, and the caller takes
the MLflow client path, which gives the same model or the same refusal with its full explanation
(``models.registry``). One answer it gives itself: a registry whose tables it can read and that has no
``champion`` alias for the name raises the LookupError MLflow's path would raise (a scoring run asks for
every outcome's champion, and most homes train only some). The two paths are compared in
``tests/models/test_champion_files.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

if TYPE_CHECKING:
    from models.risk_model import RiskModel

CHAMPION_ALIAS = "champion"
# The promotion gate's record, on the model version and on its run (``models.registry.record_gate_and_card``).
GATE_TAG = "gate_decision"
GATE_PROMOTE = "promote"
MODEL_FILES = ("booster.txt", "calibrator.json", "metadata.json")


class ChampionNotApprovedError(RuntimeError):
    """The `champion` alias points at a version without a passing promotion-gate record."""


def no_champion_message(registered_name: str) -> str:
    """What a scoring run says when a registered model has no champion (both loading paths)."""
    return (
        f"No '{CHAMPION_ALIAS}' version of {registered_name} in the MLflow registry at the configured "
        "tracking URI. Run `tidlig train` (a model becomes champion only after passing the gate)."
    )


def resolve_registered_name(outcome: str) -> str:
    """``admission`` (12 months), ``admission_6m``, ``admission-12m`` or ``tidlig-admission-12m`` to the
    registered model name."""
    from models.config import registered_model_name

    key = outcome.removeprefix("tidlig-").replace("-", "_")
    if "_" in key:
        name, horizon = key.rsplit("_", 1)
        return registered_model_name(name, int(horizon.rstrip("m")))
    return registered_model_name(key, 12)


@dataclass(frozen=True)
class ChampionFiles:
    """The registry's answer for one registered model: the approved champion and where its files are."""

    registered_name: str
    version: str
    run_id: str
    folder: Path  # holds booster.txt, calibrator.json and metadata.json


def _sqlite_path(tracking_uri: str) -> Path | None:
    if not tracking_uri.startswith("sqlite:///"):
        return None
    path = Path(tracking_uri.removeprefix("sqlite:///"))
    return path if path.is_file() else None


def _local_folder(storage_location: str | None) -> Path | None:
    if not storage_location:
        return None
    parsed = urlparse(storage_location)
    if parsed.scheme not in ("file", "") or parsed.netloc not in ("", "localhost"):
        return None
    return Path(unquote(parsed.path))


def approved_champion_files(registered_name: str, tracking_uri: str) -> ChampionFiles | None:
    """The gate-approved champion of ``registered_name`` and its local files, read from the registry's
    tables; None whenever the MLflow client must decide (see the module docstring).

    Raises LookupError when the registry's tables answer and hold no ``champion`` alias for the name.
    """
    database = _sqlite_path(tracking_uri)
    if database is None:
        return None
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///file:{database}?mode=ro&uri=true")
    try:
        with engine.connect() as connection:
            champion = connection.execute(
                sa.text(
                    "SELECT v.version, v.run_id, v.storage_location, v.status "
                    "FROM registered_model_aliases a "
                    "JOIN model_versions v ON v.name = a.name AND v.version = a.version "
                    "WHERE a.name = :name AND a.alias = :alias"
                ),
                {"name": registered_name, "alias": CHAMPION_ALIAS},
            ).fetchall()
            if not champion:
                raise LookupError(no_champion_message(registered_name))
            if len(champion) != 1:
                return None
            version, run_id, storage_location, status = champion[0]
            version_tags: dict[str, str] = dict(
                connection.execute(
                    sa.text("SELECT key, value FROM model_version_tags WHERE name = :name AND version = :v"),
                    {"name": registered_name, "v": version},
                ).fetchall()
            )
            run_gate = connection.execute(
                sa.text("SELECT value FROM tags WHERE run_uuid = :run AND key = :key"),
                {"run": run_id, "key": GATE_TAG},
            ).fetchall()
    except sa.exc.SQLAlchemyError:
        return None  # not a schema this path knows: let MLflow read it
    finally:
        engine.dispose()
    approved = (
        status == "READY"
        and version_tags.get(GATE_TAG) == GATE_PROMOTE
        and bool(run_id)
        and [row[0] for row in run_gate] == [GATE_PROMOTE]
    )
    folder = _local_folder(storage_location)
    if not approved or folder is None:
        return None
    files = folder / "artifacts"
    if not all((files / name).is_file() for name in MODEL_FILES):
        return None
    return ChampionFiles(registered_name, str(version), str(run_id), files)


def read_model_files(files: Path) -> tuple[str, dict[str, object], dict[str, object]]:
    """(booster text, calibrator dict, metadata dict) from a model's ``artifacts`` folder."""
    return (
        (files / "booster.txt").read_text(),
        json.loads((files / "calibrator.json").read_text()),
        json.loads((files / "metadata.json").read_text()),
    )


def risk_model_from_files(files: Path, version: str) -> RiskModel:
    """The RiskModel of a registered version from its logged files (the layout of
    ``models.registry._write_model_files``)."""
    import lightgbm as lgb

    from models.calibration import Calibrator
    from models.risk_model import RiskModel

    booster_text, calibrator, info = read_model_files(files)
    return RiskModel(
        booster=lgb.Booster(model_str=booster_text),
        calibrator=Calibrator.from_dict(calibrator),
        feature_names=list(info["feature_names"]),  # type: ignore[call-overload]
        feature_set_version=str(info["feature_set_version"]),
        target=str(info["target"]),
        version=str(version),
        global_importance=dict(info.get("global_importance", {})),  # type: ignore[call-overload]
    )


def load_verified_champion(registered_name: str, tracking_uri: str) -> RiskModel:
    """The gate-approved champion of ``registered_name``: through the registry's tables and the local
    files when they answer, else through the MLflow client (``models.registry.verify_champion`` and
    ``load_model_version``), which raises LookupError or ChampionNotApprovedError with how to fix it."""
    found = approved_champion_files(registered_name, tracking_uri)
    if found is not None:
        return risk_model_from_files(found.folder, found.version)
    from models.registry import load_model_version, verify_champion

    version = verify_champion(registered_name, tracking_uri)
    return load_model_version(registered_name, version, tracking_uri)
