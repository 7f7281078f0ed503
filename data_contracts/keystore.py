"""The key store: pseudonym -> (CPR, name), kept apart from the warehouse.

Written only in an operational deployment (the municipality needs to know whom a list points to);
research deployments never hold identities. Table ``keystore(person_key, key_version, cpr, name)``
with primary key (person_key, key_version), the shape ``screening.store`` reads.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from privacy.files import private_sqlite_file

_metadata = sa.MetaData()
KEYSTORE = sa.Table(
    "keystore",
    _metadata,
    sa.Column("person_key", sa.String(64), primary_key=True),
    sa.Column("key_version", sa.String(32), primary_key=True),
    sa.Column("cpr", sa.String(10), nullable=False),
    sa.Column("name", sa.Text, nullable=True),
)


def write_identities(keystore_url: str, identities: pd.DataFrame) -> int:
    """Insert new (person_key, key_version) identities and refresh names of known ones; return rows written.

    ``identities`` has columns person_key, key_version, cpr (10 digits, no dash) and name.
    """
    if identities.empty:
        return 0
    private_sqlite_file(keystore_url)  # 0600 in a 0700 folder before the first CPR number is written
    engine = sa.create_engine(keystore_url)
    try:
        _metadata.create_all(engine, checkfirst=True)
        with engine.begin() as connection:
            versions = sorted(set(identities["key_version"]))
            existing = {
                (row.person_key, row.key_version): row.name
                for row in connection.execute(
                    sa.select(KEYSTORE.c.person_key, KEYSTORE.c.key_version, KEYSTORE.c.name).where(
                        KEYSTORE.c.key_version.in_(versions)
                    )
                )
            }
            records = identities[["person_key", "key_version", "cpr", "name"]].astype(object)
            records = records.where(records.notna(), None).to_dict("records")
            new = [r for r in records if (r["person_key"], r["key_version"]) not in existing]
            renamed = [
                r
                for r in records
                if (r["person_key"], r["key_version"]) in existing
                and existing[(r["person_key"], r["key_version"])] != r["name"]
            ]
            if new:
                connection.execute(sa.insert(KEYSTORE), new)
            for record in renamed:
                connection.execute(
                    sa.update(KEYSTORE)
                    .where(KEYSTORE.c.person_key == record["person_key"])
                    .where(KEYSTORE.c.key_version == record["key_version"])
                    .values(name=record["name"])
                )
        return len(new) + len(renamed)
    finally:
        engine.dispose()
