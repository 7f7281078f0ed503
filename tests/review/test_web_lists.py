"""The clinicians' pages, HTTP level: every role and every scope rule, on SQLite and PostgreSQL."""

from __future__ import annotations

import codecs
import csv
import io
import json

import pytest
import sqlalchemy as sa

from review.tables import audit_log, decisions
from screening.eligibility import TARGET_GROUPS
from screening.store import screening_list_entries
from tests.review.world import (
    DISTRICT_A,
    LIST_A,
    LIST_A_OLD,
    LIST_B,
    SHARED_PERSON,
    all_person_keys,
    cpr_of,
    csrf_from,
    login,
    person_key,
)

CITIZEN_A = person_key(DISTRICT_A, 0)
CITIZEN_B = person_key("101-02", 1)


def clinical_urls(list_id: str, key: str) -> list[str]:
    return [
        f"/lists/{list_id}",
        f"/lists/{list_id}/citizens/{key}",
        f"/lists/{list_id}/export.csv",
        f"/lists/{list_id}/print",
    ]


def audit_rows(world) -> list[dict]:
    with world.engine.connect() as connection:
        return [
            dict(row) for row in connection.execute(sa.select(audit_log).order_by(audit_log.c.seq)).mappings()
        ]


def test_a_nurse_sees_her_district_list_with_names_and_cpr(world):
    login(world.client, "nurse_a")
    page = world.client.get(f"/lists/{LIST_A}")
    assert page.status_code == 200
    assert "Borger 0000" in page.text
    assert cpr_of(CITIZEN_A)[:6] in page.text


@pytest.mark.parametrize("url_index", range(4))
def test_a_nurse_can_never_reach_another_districts_list_by_any_url(world, url_index):
    login(world.client, "nurse_b")
    url = clinical_urls(LIST_A, CITIZEN_A)[url_index]
    response = world.client.get(url)
    assert response.status_code == 404
    assert CITIZEN_A not in response.text
    assert "Borger 0000" not in response.text


def test_a_citizen_of_another_district_is_not_reachable_through_an_own_list_url(world):
    login(world.client, "nurse_a")
    response = world.client.get(f"/lists/{LIST_A}/citizens/{CITIZEN_B}")
    assert response.status_code == 404
    assert "Borger 0001" not in response.text


def test_a_nurse_cannot_record_a_decision_on_another_districts_citizen(world):
    login(world.client, "nurse_b")
    own_page = world.client.get(f"/lists/{LIST_B}")
    token = csrf_from(own_page.text)
    response = world.client.post(
        f"/lists/{LIST_A}/citizens/{CITIZEN_A}/decisions",
        data={"csrf_token": token, "action": "contacted"},
        follow_redirects=False,
    )
    assert response.status_code == 404
    with world.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(decisions)).scalar_one() == 0


def test_risk_history_shows_only_lists_of_the_viewers_districts(world):
    login(world.client, "nurse_b")
    page = world.client.get(f"/lists/{LIST_B}/citizens/{SHARED_PERSON}")
    assert page.status_code == 200
    assert "2023-10-01" not in page.text  # district A's old list, where the citizen was before moving


def test_risk_history_includes_own_earlier_lists(world):
    login(world.client, "nurse_a")
    page = world.client.get(f"/lists/{LIST_A}/citizens/{CITIZEN_A}")
    assert "1. okt. 2023" in page.text  # the earlier list's date, written the Danish way
    assert "<svg" in page.text


def test_my_lists_shows_only_own_districts(world):
    login(world.client, "nurse_a")
    page = world.client.get("/lists")
    assert LIST_A in page.text
    assert LIST_A_OLD in page.text
    assert LIST_B not in page.text


def test_a_gp_works_like_a_nurse_in_own_district(world):
    login(world.client, "gp_a")
    assert world.client.get(f"/lists/{LIST_A}/citizens/{CITIZEN_A}").status_code == 200
    assert world.client.get(f"/lists/{LIST_B}").status_code == 404


@pytest.mark.parametrize("url_index", range(4))
def test_an_analyst_never_reaches_person_level_pages(world, url_index):
    login(world.client, "analyst")
    response = world.client.get(clinical_urls(LIST_A, CITIZEN_A)[url_index])
    assert response.status_code == 403
    assert CITIZEN_A not in response.text


def test_the_analysts_aggregates_contain_no_identity_or_pseudonym(world):
    login(world.client, "analyst")
    page = world.client.get("/aggregates")
    assert page.status_code == 200
    assert "pk-" not in page.text
    assert "Borger 0" not in page.text
    assert all(cpr_of(key)[:6] not in page.text for key in all_person_keys())


@pytest.mark.parametrize("url", ["/lists", f"/lists/{LIST_A}", f"/lists/{LIST_A}/citizens/{CITIZEN_A}"])
def test_an_admin_sees_no_lists_or_citizens(world, url):
    login(world.client, "admin")
    assert world.client.get(url).status_code == 403


def test_identities_are_hidden_in_a_research_deployment(operational_url, tmp_path):
    from tests.review.conftest import build_world, close_world
    from tests.review.world import all_person_keys, sqlite_url, write_keystore

    keystore_url = sqlite_url(tmp_path / "keystore.sqlite")
    write_keystore(keystore_url, all_person_keys())
    research = build_world(operational_url, keystore_url, deployment="research")
    login(research.client, "nurse_a")
    page = research.client.get(f"/lists/{LIST_A}")
    export = research.client.get(f"/lists/{LIST_A}/export.csv")
    close_world(research)
    assert page.status_code == 200
    assert "Borger 0" not in page.text
    assert "Borger 0" not in export.text
    assert cpr_of(CITIZEN_A)[:6] not in export.text


def test_a_list_view_is_audited_with_exactly_the_persons_on_the_page(world):
    login(world.client, "nurse_a")
    world.client.get(f"/lists/{LIST_A}?page=2")
    row = audit_rows(world)[-1]
    assert row["action"] == "list_view"
    assert row["list_id"] == LIST_A
    assert row["username"] == "nurse_a"
    assert row["role"] == "nurse"
    assert row["unit"] == DISTRICT_A
    assert json.loads(row["person_keys"]) == sorted(person_key(DISTRICT_A, n) for n in range(5, 10))


def test_citizen_view_export_and_decision_are_each_audited(world):
    login(world.client, "nurse_a")
    page = world.client.get(f"/lists/{LIST_A}/citizens/{CITIZEN_A}")
    world.client.post(
        f"/lists/{LIST_A}/citizens/{CITIZEN_A}/decisions",
        data={"csrf_token": csrf_from(page.text), "action": "visit_booked", "visit_date": "2024-01-20"},
    )
    world.client.get(f"/lists/{LIST_A}/export.csv")
    actions = [row["action"] for row in audit_rows(world)]
    assert actions[:3] == ["login", "citizen_view", "decision"]
    assert "export" in actions
    export_row = next(row for row in audit_rows(world) if row["action"] == "export")
    assert len(json.loads(export_row["person_keys"])) == 12


def test_nothing_is_shown_when_the_audit_log_cannot_be_written(world):
    login(world.client, "nurse_a")
    with world.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE review_audit_log"))
    response = world.client.get(f"/lists/{LIST_A}")
    citizen = world.client.get(f"/lists/{LIST_A}/citizens/{CITIZEN_A}")
    assert response.status_code == 503
    assert citizen.status_code == 503
    assert CITIZEN_A not in response.text
    assert "Borger 0" not in response.text
    assert "Borger 0" not in citizen.text


def test_a_visit_finding_is_stored_for_the_feedback_loop(world):
    login(world.client, "nurse_a")
    page = world.client.get(f"/lists/{LIST_A}/citizens/{CITIZEN_A}")
    response = world.client.post(
        f"/lists/{LIST_A}/citizens/{CITIZEN_A}/decisions",
        data={
            "csrf_token": csrf_from(page.text),
            "action": "visit_done",
            "new_problem_found": "yes",
            "referred_to_gp": "yes",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    with world.engine.connect() as connection:
        stored = connection.execute(sa.select(decisions)).mappings().one()
    assert (stored["action"], stored["new_problem_found"], stored["referred_to_gp"]) == (
        "visit_done",
        True,
        True,
    )
    assert stored["district"] == DISTRICT_A


def test_an_incomplete_visit_finding_is_refused_with_a_message(world):
    login(world.client, "nurse_a")
    page = world.client.get(f"/lists/{LIST_A}/citizens/{CITIZEN_A}")
    response = world.client.post(
        f"/lists/{LIST_A}/citizens/{CITIZEN_A}/decisions",
        data={"csrf_token": csrf_from(page.text), "action": "visit_done"},
    )
    assert response.status_code == 422
    assert 'id="error-new_problem_found"' in response.text
    assert "nyt problem" in response.text
    with world.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(decisions)).scalar_one() == 0


def test_the_list_status_follows_the_latest_decision_and_filters_by_it(world):
    login(world.client, "nurse_a")
    page = world.client.get(f"/lists/{LIST_A}/citizens/{CITIZEN_A}")
    world.client.post(
        f"/lists/{LIST_A}/citizens/{CITIZEN_A}/decisions",
        data={
            "csrf_token": csrf_from(page.text),
            "action": "not_relevant",
            "not_relevant_reason": "declined",
        },
    )
    filtered = world.client.get(f"/lists/{LIST_A}?status=not_relevant")
    assert CITIZEN_A in filtered.text
    assert person_key(DISTRICT_A, 1) not in filtered.text


def test_sorting_by_risk_change_puts_increases_first(world):
    login(world.client, "nurse_a")
    page = world.client.get(f"/lists/{LIST_A}?sort=change")
    first = page.text.index(person_key(DISTRICT_A, 0))  # rank 1 has a +5 point change
    assert person_key(DISTRICT_A, 1) not in page.text[:first]


def test_a_coordinator_assigns_a_citizen_to_a_colleague_of_the_district(world):
    login(world.client, "coord_a")
    page = world.client.get(f"/lists/{LIST_A}/citizens/{CITIZEN_A}")
    nurse_id = world.client.app.state.services.engine and _user_id(world, "nurse_a")
    world.client.post(
        f"/lists/{LIST_A}/citizens/{CITIZEN_A}/assignment",
        data={"csrf_token": csrf_from(page.text), "assignee_id": str(nurse_id)},
    )
    nurse = world.new_client()
    login(nurse, "nurse_a")
    mine = nurse.get(f"/lists/{LIST_A}?assignee=me")
    assert CITIZEN_A in mine.text
    assert person_key(DISTRICT_A, 1) not in mine.text


def test_a_coordinator_cannot_assign_to_someone_outside_the_district(world):
    login(world.client, "coord_a")
    page = world.client.get(f"/lists/{LIST_A}/citizens/{CITIZEN_A}")
    response = world.client.post(
        f"/lists/{LIST_A}/citizens/{CITIZEN_A}/assignment",
        data={"csrf_token": csrf_from(page.text), "assignee_id": str(_user_id(world, "nurse_b"))},
    )
    assert response.status_code == 403


def test_a_nurse_may_not_assign(world):
    login(world.client, "nurse_a")
    page = world.client.get(f"/lists/{LIST_A}/citizens/{CITIZEN_A}")
    response = world.client.post(
        f"/lists/{LIST_A}/citizens/{CITIZEN_A}/assignment",
        data={"csrf_token": csrf_from(page.text), "assignee_id": str(_user_id(world, "nurse_a"))},
    )
    assert response.status_code == 403


def test_the_csv_export_neutralises_spreadsheet_formulas(world):
    from review.web_lists import _csv_text

    assert _csv_text("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert _csv_text("Stigende hjemmepleje") == "Stigende hjemmepleje"


def test_english_is_available_and_danish_is_the_default(world):
    login(world.client, "nurse_a")
    assert "Mine lister" in world.client.get("/lists").text
    world.client.get("/lang/en?next=/lists")
    assert "My lists" in world.client.get("/lists").text


def _user_id(world, username: str) -> int:
    from review.accounts import find_account

    account = find_account(world.engine, username=username)
    assert account is not None
    return account.user_id


def test_the_analyst_sees_small_status_counts_suppressed(world):
    login(world.client, "nurse_a")
    for number in range(2):
        page = world.client.get(f"/lists/{LIST_A}/citizens/{person_key(DISTRICT_A, number)}")
        world.client.post(
            f"/lists/{LIST_A}/citizens/{person_key(DISTRICT_A, number)}/decisions",
            data={"csrf_token": csrf_from(page.text), "action": "contacted"},
        )
    analyst = world.new_client()
    login(analyst, "analyst")
    page = analyst.get("/aggregates")
    row = page.text.split("<td>101-01</td>")[1].split("</tr>")[0]
    assert "&lt;5" in row  # 2 contacted
    assert ">10<" in row  # 10 still new


def test_the_csv_download_opens_in_danish_excel_with_labels_not_codes(world):
    with world.engine.begin() as connection:
        connection.execute(
            sa.update(screening_list_entries)
            .where(screening_list_entries.c.list_id == LIST_A, screening_list_entries.c.rank == 1)
            .values(reasons_da=["=HYPERLINK(1)"])
        )
    login(world.client, "nurse_a")
    page = world.client.get(f"/lists/{LIST_A}/citizens/{CITIZEN_A}")
    world.client.post(
        f"/lists/{LIST_A}/citizens/{CITIZEN_A}/decisions",
        data={"csrf_token": csrf_from(page.text), "action": "visit_booked", "visit_date": "2024-02-03"},
    )
    export = world.client.get(f"/lists/{LIST_A}/export.csv")
    assert export.headers["content-type"] == "text/csv; charset=utf-8"
    assert export.content.startswith(codecs.BOM_UTF8)  # Excel reads UTF-8 only with the BOM
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [
        "Rang", "Delt plads", "CPR-nummer", "Navn", "Risiko (%)", "Ændring (%-point)", "Triage", "Ny",
        "§79a-gruppe", "Begrundelser", "Forslag", "Status", "Besøgsdato", "Ansvarlig",
    ]  # fmt: skip
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["Risiko (%)"] == "50,0"  # decimal comma, no point
    assert first["Ændring (%-point)"] == "5,0"
    assert first["Triage"] == "Rød"
    assert first["Status"] == "Besøg aftalt"
    assert first["Besøgsdato"] == "2024-02-03"
    assert first["Begrundelser"].startswith("'=HYPERLINK(1)")  # no formula runs in Excel
    third = dict(zip(rows[0], rows[3], strict=True))
    assert third["§79a-gruppe"] == TARGET_GROUPS["age_75"][0]  # the label, not the code age_75
    assert third["Ny"] == "nej"
    assert third["Status"] == "Ikke behandlet"
    assert "visit_booked" not in export.text
    assert "age_75" not in export.text
    assert export.content.decode("utf-8-sig").count("\r\n") == len(rows)


def test_a_failed_save_shows_the_page_again_with_the_error_beside_the_field_and_choices_kept(world):
    login(world.client, "nurse_a")
    page = world.client.get(f"/lists/{LIST_A}/citizens/{CITIZEN_A}")
    response = world.client.post(
        f"/lists/{LIST_A}/citizens/{CITIZEN_A}/decisions",
        data={"csrf_token": csrf_from(page.text), "action": "not_relevant", "note": "ringet to gange"},
    )
    assert response.status_code == 422
    html = response.text
    fieldset = html[html.index('aria-describedby="error-not_relevant_reason"') :]
    assert fieldset.index('id="error-not_relevant_reason"') < fieldset.index("</fieldset>")
    assert 'value="not_relevant" required\n        checked' in html  # the chosen action stays chosen
    assert "ringet to gange</textarea>" in html
    with world.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(decisions)).scalar_one() == 0


def test_a_booked_visit_needs_its_date_and_shows_it_on_the_list(world):
    login(world.client, "nurse_a")
    page = world.client.get(f"/lists/{LIST_A}/citizens/{CITIZEN_A}")
    token = csrf_from(page.text)
    url = f"/lists/{LIST_A}/citizens/{CITIZEN_A}/decisions"
    refused = world.client.post(url, data={"csrf_token": token, "action": "visit_booked"})
    assert refused.status_code == 422
    assert 'id="error-visit_date"' in refused.text
    world.client.post(url, data={"csrf_token": token, "action": "visit_booked", "visit_date": "2024-02-03"})
    listed = world.client.get(f"/lists/{LIST_A}")
    assert "besøg 3. feb. 2024" in listed.text
    assert "0 af 12 færdige · 1 i gang · 11 ikke behandlet" in listed.text


def test_the_citizen_page_names_codes_and_medicines_in_danish_with_danish_numbers(world):
    login(world.client, "nurse_a")
    html = world.client.get(f"/lists/{LIST_A}/citizens/{CITIZEN_A}").text
    assert "Hjertesvigt med væskeophobning (kongestivt)" in html
    assert "DI500" in html
    assert "Urinvejsinfektion" in html
    assert "Vaske sig" in html
    assert "J1.1" in html
    assert "Furosemid" in html
    assert "Vanddrivende midler, loop-diuretika" in html
    assert "øger faldrisiko" in html
    assert "ukendt kode" in html  # X99XX99 in the test facts has no name
    assert "50,0\u00a0%" in html
    assert "50.0 %" not in html
    assert "2. nov. 2023" in html
    assert "2023-11-02</time>" not in html
    assert "Hvad betyder risikoen?" in html
    assert "ca. 50 ud af 100" in html


def test_english_pages_show_english_code_names(world):
    login(world.client, "nurse_a")
    world.client.get("/lang/en?next=/lists")
    html = world.client.get(f"/lists/{LIST_A}/citizens/{CITIZEN_A}").text
    assert "Congestive heart failure" in html
    assert "Washing oneself" in html
    assert "unknown code" in html


def test_the_citizen_page_leads_to_the_next_citizen_not_yet_handled(world):
    login(world.client, "nurse_a")
    second = person_key(DISTRICT_A, 1)
    page = world.client.get(f"/lists/{LIST_A}/citizens/{second}")
    world.client.post(
        f"/lists/{LIST_A}/citizens/{second}/decisions",
        data={"csrf_token": csrf_from(page.text), "action": "contacted"},
    )
    html = world.client.get(f"/lists/{LIST_A}/citizens/{CITIZEN_A}").text
    assert f'/citizens/{second}" rel="next"' in html  # next by rank
    assert f'href="/lists/{LIST_A}/citizens/{person_key(DISTRICT_A, 2)}">Næste ikke behandlede' in html
    assert "Borger 1 af 12 på listen" in html


def test_the_glossary_explains_the_words_on_the_list(world):
    login(world.client, "gp_a")
    html = world.client.get("/glossary").text
    for term in ("Risiko", "HFRS", "Charlson", "FSIII", "§79a", "delt 3.–6. plads"):
        assert term in html
