"""The care-record database can live in PostgreSQL (given by URL) with the same tables and faults."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from synthetic.config import WorldConfig
from synthetic.faults import FAULT_KINDS
from synthetic.sources import CARE_TABLES
from synthetic.world import generate_world

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test (dropped after); skipped when no server answers."""
    base_url = os.environ.get("TIDLIG_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    admin = sa.create_engine(base_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError:
        pytest.skip("PostgreSQL is not reachable (set TIDLIG_TEST_POSTGRES_URL to run this test)")
    name = f"tidlig_synth_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield sa.make_url(base_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.postgres
def test_the_care_database_can_be_postgresql_with_faults_recorded(tmp_path, postgres_url):
    config = WorldConfig(citizens=1_500, years=2, seed=3, history_years=1, faults=FAULT_KINDS)
    manifest = generate_world(config, tmp_path, care_db_url=postgres_url)
    engine = sa.create_engine(postgres_url)
    with engine.connect() as connection:
        for name in CARE_TABLES:
            rows = connection.execute(sa.text(f"SELECT count(*) FROM {name}")).scalar_one()
            assert rows == manifest["care_database"]["tables"][name]["rows"] > 0
        negative = next(f for f in manifest["faults"] if f["kind"] == "negative_minutes")
        minutes = connection.execute(
            sa.text("SELECT perpl_lev FROM home_care WHERE id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)
            ),
            {"ids": negative["rows"]},
        ).scalars()
        assert all(value < 0 for value in minutes)
    engine.dispose()
    care_kinds = {f["kind"] for f in manifest["faults"] if "table" in f}
    assert "wrong_type" not in care_kinds  # PostgreSQL cannot store text in an integer column
    assert "negative_minutes" in care_kinds
    assert not (tmp_path / "care.sqlite").exists()
