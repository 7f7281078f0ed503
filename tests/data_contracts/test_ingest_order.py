"""Which sources a source's intake waits for: the ones that land the tables its reference data reads
(data_contracts.intake.reference_tables), the order a parallel ingest must keep (docs/decisions.md D140)."""

from __future__ import annotations

from data_contracts.contract import available_sources, load_contract
from data_contracts.intake import UPSTREAM_OF_RULE, reference_tables, upstream_sources


def contracts(sources: list[str] | None = None):
    return [load_contract(source) for source in (sources or available_sources())]


def test_the_population_waits_for_nothing_and_every_other_source_waits_for_it():
    upstream = upstream_sources(contracts())
    assert upstream["cpr_population"] == []
    for source, waits_for in upstream.items():
        if source != "cpr_population":
            assert "cpr_population" in waits_for, source


def test_diagnoses_wait_for_lpr3_contacts_and_prescriptions_for_products():
    upstream = upstream_sources(contracts())
    assert "lpr3_contacts" in upstream["lpr3_diagnoses"]
    assert "lmdb_products" in upstream["lmdb_prescriptions"]
    assert "lpr3_contacts" not in upstream["sssy_services"]


def test_every_upstream_of_a_held_delivery_is_waited_for():
    # a delivery held by a "known in" rule is released when that upstream source lands in the same run
    upstream = upstream_sources(contracts())
    tables = {contract.source: contract.table for contract in contracts()}
    for rule, source in UPSTREAM_OF_RULE.items():
        for contract in contracts():
            if tables[source] in reference_tables(contract):
                assert source in upstream[contract.source], (rule, contract.source)


def test_a_source_left_out_of_the_run_is_not_waited_for():
    upstream = upstream_sources(contracts(["lpr3_diagnoses", "sssy_services"]))
    assert upstream == {"lpr3_diagnoses": [], "sssy_services": []}


def test_sources_only_wait_for_earlier_sources_in_ingest_order():
    order = available_sources()
    for source, waits_for in upstream_sources(contracts()).items():
        assert all(order.index(earlier) < order.index(source) for earlier in waits_for)
