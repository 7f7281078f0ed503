"""Review app page times on a 5,000-citizen list (in-process HTTP via Starlette's TestClient, SQLite).

Run: ``python -m benchmarks.bench_review [--citizens 5000] [--runs 7]``. Prints the median of the runs
per page and the process's peak RSS, and writes them under "## Review app" in docs/benchmarks.md.
Every page view is audited (a hash-chained row per request), so the numbers include the audit write.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.report import DOC, write_section

HEADING = "## Review app"


def build(home: Path, citizens: int):
    import warnings

    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

    from review.accounts import create_account
    from review.app import create_app
    from review.config import ReviewConfig
    from review.database import create_operational_engine
    from review.passwords import HashingCost, hash_password
    from screening.store import ListToPublish, create_schema, keystore, keystore_metadata, publish_lists

    operational, keys = f"sqlite:///{home / 'op.sqlite'}", f"sqlite:///{home / 'ks.sqlite'}"
    app = create_app(ReviewConfig(operational_db_url=operational, keystore_url=keys))
    engine = create_operational_engine(operational)
    create_schema(engine)
    person_keys = [f"{n:032x}" for n in range(citizens)]
    entries = [
        {
            "rank": rank + 1, "person_key": key, "risk": 0.9 - rank / (citizens * 2), "risk_previous": 0.3,
            "risk_change": (rank % 7 - 3) / 100, "new_on_list": rank % 4 == 0,
            "flags": ["age_75"] if rank % 3 == 0 else [],
            "reasons_da": ["Akutte indlæggelser seneste år: 2", "Stigende hjemmepleje", "9 lægemidler"],
            "reasons_en": ["Acute admissions last year: 2", "Rising home care", "9 different medicines"],
            "suggested_action_da": "Tilbyd besøg", "suggested_action_en": "Offer a visit",
            "outcome": "admission",
        }
        for rank, key in enumerate(person_keys)
    ]  # fmt: skip
    facts = [
        {"person_key": key, "facts": {
            "admissions": [{"start": "2023-11-02", "end": "2023-11-06", "diagnosis": "DI500", "acute": True}],
            "home_care": [{"month": f"2023-{m:02d}-01", "personal_care_granted": 60 + m,
                           "practical_help_granted": 30} for m in range(1, 13)],
            "fsiii": [{"code": "J1.1", "score": 2, "assessed_date": "2023-09-01"}], "medicines_count": 9,
            "falls": [], "weights": [{"date": "2023-08-01", "kg": 64.0}]}}
        for key in person_keys
    ]  # fmt: skip
    header = {"list_id": "bench", "district": "101-01", "municipality": "101",
              "as_of_date": dt.date(2024, 1, 1),
              "model_versions": {}, "feature_set_version": "x", "data_batches": [], "run_id": "r",
              "capacity": citizens}  # fmt: skip
    publish_lists(engine, [ListToPublish(header, entries, facts)], created_at=dt.datetime.now(dt.UTC))
    key_engine = __import__("sqlalchemy").create_engine(keys)
    keystore_metadata.create_all(key_engine)
    with key_engine.begin() as connection:
        connection.execute(keystore.insert(), [
            {"person_key": key, "key_version": "1", "cpr": f"{n:010d}", "name": f"Borger {n}"}
            for n, key in enumerate(person_keys)
        ])  # fmt: skip
    password = "benchmark violet tractor harbour"
    create_account(
        engine,
        username="nurse",
        role="nurse",
        districts=["101-01"],
        password_hash=hash_password(password, HashingCost()),
        created_at=dt.datetime.now(dt.UTC),
    )
    client = TestClient(app)
    form = client.get("/login").text
    token = form.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/login", data={"username": "nurse", "password": password, "csrf_token": token})
    return client, person_keys


def measure(client, url: str, runs: int) -> tuple[float, float]:
    """(first request, median of the next ``runs``) in milliseconds."""
    started = time.perf_counter()
    client.get(url)
    first = (time.perf_counter() - started) * 1000
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    return first, statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-write", action="store_true", help="Print only; leave docs/benchmarks.md alone.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tidlig-bench-review-") as folder:
        print(f"Building a {args.citizens}-citizen list ...", flush=True)
        client, keys = build(Path(folder), args.citizens)
        pages = {
            "list page 1 (50 rows, rank order)": "/lists/bench",
            "list sorted by change, page 40": "/lists/bench?sort=change&page=40",
            "list filtered (§79a group, new only)": "/lists/bench?flag=age_75&new=1",
            "citizen page": f"/lists/bench/citizens/{keys[1234]}",
            f"CSV export ({args.citizens} rows)": "/lists/bench/export.csv",
            f"printable export ({args.citizens} rows)": "/lists/bench/print",
        }
        results = {}
        for name, url in pages.items():
            results[name] = measure(client, url, args.runs)
            first, median = results[name]
            print(f"  {name:<42} first {first:8.1f} ms  median {median:8.1f} ms", flush=True)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load = os.getloadavg()[0]
    print(f"  peak RSS {peak_mib:.0f} MiB")
    lines = [
        "",
        f"`python -m benchmarks.bench_review --citizens {args.citizens} --runs {args.runs}` "
        f"({dt.date.today()}, {platform.machine()}, Python {platform.python_version()}, SQLite, in-process "
        "TestClient; each request writes its audit row and looks up identities for the shown rows).",
        "",
        "| page | first request (ms) | median of the next runs (ms) |",
        "|---|---|---|",
        *[f"| {name} | {first:.1f} | {median:.1f} |" for name, (first, median) in results.items()],
        "",
        f"Peak RSS of the benchmark process: {peak_mib:.0f} MiB. Load average during the run: {load:.1f} "
        f"on {os.cpu_count()} cores (other work on the machine inflates the times).",
    ]
    if not args.no_write:
        write_section(HEADING, lines)
        print(f"Wrote the '{HEADING}' section of {DOC}.")


if __name__ == "__main__":
    main()
