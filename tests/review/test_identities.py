"""Re-identification lives only in the review app (docs/decisions.md D95): the key store's latest key
version wins, and a missing key store shows pseudonyms instead of failing."""

import sqlalchemy as sa

from review.identities import Identity, KeyStore
from screening.store import keystore, keystore_metadata


def test_identities_come_from_the_latest_key_version(tmp_path):
    url = f"sqlite:///{tmp_path / 'keystore.sqlite'}"
    engine = sa.create_engine(url)
    keystore_metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            sa.insert(keystore),
            [
                {"person_key": "p1", "key_version": "k1", "cpr": "0101401234", "name": "Old Name"},
                {"person_key": "p1", "key_version": "k2", "cpr": "0101401234", "name": "Ida Jensen"},
                {"person_key": "p2", "key_version": "k1", "cpr": "0202402345", "name": "Ole Hansen"},
            ],
        )
    engine.dispose()
    store = KeyStore(url)
    try:
        assert store.identities(["p1", "p3"]) == {"p1": Identity("010140-1234", "Ida Jensen")}
    finally:
        store.dispose()


def test_a_missing_key_store_shows_pseudonyms_rather_than_failing(tmp_path):
    store = KeyStore(f"sqlite:///{tmp_path / 'absent.sqlite'}")
    try:
        assert store.identities(["p1"]) is None
    finally:
        store.dispose()
