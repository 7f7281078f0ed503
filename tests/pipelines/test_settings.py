from dataclasses import fields
from pathlib import Path

import pytest

from pipelines.settings import DEMO_PSEUDONYM_KEY, MissingPseudonymKeyError, Settings, load_settings


def test_paths_default_inside_home(tmp_path):
    settings = load_settings(environ={}, home=tmp_path)
    assert settings.warehouse_dir == tmp_path / "warehouse"
    assert settings.landing_dir == tmp_path / "world" / "deliveries"
    assert settings.care_db_url == f"sqlite:///{tmp_path / 'world' / 'care.sqlite'}"


def test_environment_overrides_defaults(tmp_path):
    settings = load_settings(environ={"TIDLIG_HOME": str(tmp_path), "TIDLIG_DRIFT_PSI_THRESHOLD": "0.4"})
    assert settings.home == tmp_path
    assert settings.drift_psi_threshold == 0.4


def test_no_key_outside_demo_mode_is_refused_with_instructions(tmp_path):
    settings = load_settings(environ={}, home=tmp_path)
    with pytest.raises(MissingPseudonymKeyError, match="TIDLIG_PSEUDONYM_KEY"):
        settings.require_pseudonym_key()


def test_demo_mode_uses_the_explicit_demo_key(tmp_path):
    key, version = load_settings(environ={}, home=tmp_path, demo=True).require_pseudonym_key()
    assert key == DEMO_PSEUDONYM_KEY
    assert version == "demo-1"


def test_unknown_setting_is_refused(tmp_path):
    with pytest.raises(ValueError, match="Unknown Tidlig setting"):
        load_settings(environ={}, home=tmp_path, colour="blue")


def test_every_path_and_url_is_resolved_whatever_was_given(tmp_path):
    settings = Settings(home=tmp_path, features_dir="elsewhere/features")
    paths_and_urls = {
        f.name: getattr(settings, f.name)
        for f in fields(Settings)
        if f.name.endswith(("_dir", "_url", "_uri"))
    }
    assert None not in paths_and_urls.values()
    assert settings.features_dir == (Path.cwd() / "elsewhere" / "features")
    assert all(Path(v).is_absolute() for k, v in paths_and_urls.items() if k.endswith("_dir"))


def test_a_copy_with_overrides_keeps_the_resolved_paths(tmp_path):
    settings = Settings(home=tmp_path, demo=True)
    copy = settings.with_overrides(drift_psi_threshold=0.5, lists_dir=None)
    assert copy.drift_psi_threshold == 0.5
    assert copy.lists_dir == tmp_path / "lists"
    assert copy.pseudonym_key == settings.pseudonym_key


def test_the_cluster_and_shards_come_from_the_environment_and_the_reference_carries_only_the_address(
    tmp_path,
):
    settings = load_settings(
        environ={"TIDLIG_CLUSTER": "tcp://scheduler:8786", "TIDLIG_SHARDS": "8"}, home=tmp_path, demo=True
    )
    assert (settings.cluster, settings.shards) == ("tcp://scheduler:8786", 8)
    reference = settings.reference()
    assert vars(reference) == {"home": str(tmp_path), "demo": True, "cluster": "tcp://scheduler:8786"}
    assert load_settings(environ={}, home=tmp_path).cluster is None  # without it: in process
