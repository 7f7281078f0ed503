"""The objection register: an objector is withdrawn from every stored list at once, the register is
append-only, and it names nobody in its messages."""

import datetime as dt

import pytest
import sqlalchemy as sa

from screening.objections import (
    ObjectionError,
    count_objections,
    objecting_person_keys,
    register_objection,
    withdrawn_counts,
)
from screening.store import (
    operational_engine,
    publish_lists,
    read_list_entries,
    read_scores,
    screening_objections,
)
from tests.screening.test_store import CREATED, a_list

AT = dt.datetime(2024, 3, 5, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def engine(tmp_path):
    engine = operational_engine(f"sqlite:///{tmp_path / 'operational.sqlite'}")
    publish_lists(engine, [a_list("old", as_of=dt.date(2024, 2, 26))], created_at=CREATED)
    publish_lists(
        engine, [a_list("new"), a_list("other", district="d2", people=("p7", "p8"))], created_at=CREATED
    )
    yield engine
    engine.dispose()


def facts_of(engine, person_key):
    with engine.connect() as connection:
        return connection.execute(
            sa.text("SELECT count(*) FROM citizen_facts WHERE person_key = :p"), {"p": person_key}
        ).scalar()


def test_an_objector_is_withdrawn_from_every_stored_list_and_the_lists_are_flagged(engine):
    result = register_objection(engine, "p1", registered_by="kb", at=AT, reference="SAG-2024/17")
    assert result.new
    assert result.lists_withdrawn == ("new", "old")
    assert result.entries_withdrawn == 2
    assert result.scores_withdrawn == 2
    for list_id in ("new", "old"):
        assert "p1" not in set(read_list_entries(engine, list_id)["person_key"])
        assert "p1" not in set(read_scores(engine, [list_id])["person_key"])
    assert facts_of(engine, "p1") == 0
    assert list(read_list_entries(engine, "new")["person_key"]) == ["p2"]  # the others stay
    assert withdrawn_counts(engine, ["new", "old", "other"]) == {"new": 1, "old": 1}
    assert objecting_person_keys(engine) == frozenset({"p1"})


def test_a_second_objection_of_the_same_citizen_changes_nothing(engine):
    first = register_objection(engine, "p1", registered_by="kb", at=AT)
    again = register_objection(engine, "p1", registered_by="ab", at=AT + dt.timedelta(days=1))
    assert not again.new
    assert again.objection_id == first.objection_id
    assert count_objections(engine) == 1


def test_an_objection_of_someone_on_no_list_is_still_registered(engine):
    result = register_objection(engine, "nobody-listed", registered_by="kb", at=AT)
    assert result.new
    assert result.lists_withdrawn == ()
    assert "nobody-listed" in objecting_person_keys(engine)


@pytest.mark.parametrize(
    "statement", ["UPDATE screening_objections SET person_key = 'x'", "DELETE FROM screening_objections"]
)
def test_the_register_is_append_only(engine, statement):
    register_objection(engine, "p1", registered_by="kb", at=AT)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as connection:
        connection.execute(sa.text(statement))
    assert count_objections(engine) == 1


@pytest.mark.parametrize("reference", ["0101011234", "010101-1234 note", "free text with spaces", ""])
def test_a_reference_must_be_a_case_number_never_a_cpr_number_or_a_note(engine, reference):
    with pytest.raises(ObjectionError) as refused:
        register_objection(engine, "p1", registered_by="kb", at=AT, reference=reference)
    assert "p1" not in str(refused.value)
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(screening_objections)).scalar() == 0
    assert "p1" in set(read_list_entries(engine, "new")["person_key"])  # nothing withdrawn either
