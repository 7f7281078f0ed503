"""Great Expectations Data Docs of every validation run, built into the home without any row value.

GX's own results hold the unexpected *values* (``partial_unexpected_list``, ``unexpected_list``, counts
per value; CPR numbers among them) and its error messages can quote data. So the docs are never built
from those results: :func:`value_free_result` keeps, per expectation, only whether it passed, the rule
(its configuration and the contract's meta) and counts (elements, missing, unexpected and their
percentages); an error keeps only its exception's type name. Those stripped results are stored in a
filesystem validation-results store in the home (``<home>/data_docs/validations``) and rendered by GX's
own site builder into ``<home>/data_docs/site`` (a ``SiteBuilder`` with a ``TupleFilesystemStoreBackend``,
configured through ``add_data_docs_site``-shaped config on an ephemeral context of its own, so the
validation context of ``data_contracts.validation`` is never touched).

:class:`DataDocs` records one result per validation (``record``), then ``build`` renders the new pages and
the index and appends one line per page to ``<home>/data_docs/runs.jsonl`` (source, deliveries, time,
counts, the page's path inside the site): the analyst pages list the runs from it, since GX's index page
draws its table with scripts from public CDNs that the review app neither loads nor allows.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuite, ExpectationSuiteValidationResult
    from great_expectations.data_context import EphemeralDataContext

SITE_NAME = "tidlig_data_docs"
# Counts and shares only: every other key of a GX result (value lists, value counts, index lists,
# observed values, queries) can carry a row value.
VALUE_FREE_RESULT_KEYS = (
    "element_count",
    "missing_count",
    "missing_percent",
    "unexpected_count",
    "unexpected_percent",
    "unexpected_percent_total",
    "unexpected_percent_nonmissing",
)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def value_free_result(result: ExpectationSuiteValidationResult) -> dict[str, Any]:
    """The result as a JSON dict with every row value removed (see the module docstring)."""
    data = result.to_json_dict()
    for outcome in data.get("results", []):
        details = outcome.get("result") or {}
        outcome["result"] = {key: details[key] for key in VALUE_FREE_RESULT_KEYS if key in details}
        info = outcome.get("exception_info") or {}
        raised = any(
            isinstance(value, dict) and value.get("raised_exception") for value in info.values()
        ) or bool(info.get("raised_exception"))
        outcome["exception_info"] = {
            "raised_exception": raised,
            "exception_message": _error_type(info) if raised else None,
            "exception_traceback": None,
        }
        outcome["meta"] = {}
    meta = data.get("meta") or {}
    data["meta"] = {
        key: meta[key]
        for key in ("great_expectations_version", "active_batch_definition", "run_id", "validation_time")
        if key in meta
    }
    data["meta"]["batch_spec"] = {"batch_data": "PandasDataFrame"}
    return data


def _error_type(info: dict[str, Any]) -> str:
    """The exception's type name only (GX messages may quote data)."""
    texts = [info.get("exception_traceback")] + [
        value.get("exception_traceback") for value in info.values() if isinstance(value, dict)
    ]
    for text in texts:
        if isinstance(text, str) and text.strip():
            last = text.strip().splitlines()[-1]
            return last.split(":", 1)[0].rsplit(".", 1)[-1][:80]
    return "error"


@dataclass(frozen=True)
class DocsPage:
    """One validation run's page in the site (a line of ``runs.jsonl``); counts only."""

    source: str
    deliveries: str
    validated_at: str
    success: bool
    evaluated: int
    successful: int
    unsuccessful: int
    page: str  # relative to the site folder

    def to_json(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)


class DataDocs:
    """Value-free Data Docs of every validation, in ``folder`` (``<home>/data_docs``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.site_dir = self.folder / "site"
        self.manifest = self.folder / "runs.jsonl"
        self._context: EphemeralDataContext | None = None
        self._suites: set[str] = set()
        self._pending: list[tuple[Any, DocsPage]] = []

    def _docs_context(self) -> EphemeralDataContext:
        if self._context is None:
            from great_expectations.data_context import EphemeralDataContext
            from great_expectations.data_context.types.base import (
                DataContextConfig,
                InMemoryStoreBackendDefaults,
                ProgressBarsConfig,
            )

            defaults = InMemoryStoreBackendDefaults(init_temp_docs_sites=False)
            stores = dict(defaults.stores)
            stores[defaults.validation_results_store_name] = {
                "class_name": "ValidationResultsStore",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(self.folder / "validations"),
                },
            }
            stores[defaults.expectations_store_name] = {
                "class_name": "ExpectationsStore",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(self.folder / "expectations"),
                },
            }
            config = DataContextConfig(
                stores=stores,
                expectations_store_name=defaults.expectations_store_name,
                validation_results_store_name=defaults.validation_results_store_name,
                checkpoint_store_name=defaults.checkpoint_store_name,
                data_docs_sites={
                    SITE_NAME: {
                        "class_name": "SiteBuilder",
                        "show_how_to_buttons": False,
                        "store_backend": {
                            "class_name": "TupleFilesystemStoreBackend",
                            "base_directory": str(self.site_dir),
                        },
                        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                    }
                },
                analytics_enabled=False,
                progress_bars=ProgressBarsConfig(globally=False),
            )
            self._context = EphemeralDataContext(project_config=config)
        return self._context

    def _add_suite(self, suite: ExpectationSuite) -> None:
        if suite.name in self._suites:
            return
        from great_expectations.core import ExpectationSuite
        from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

        store = self._docs_context().expectations_store
        copy = ExpectationSuite(name=suite.name, expectations=[e.configuration for e in suite.expectations])
        store.set(ExpectationSuiteIdentifier(name=suite.name), copy)
        self._suites.add(suite.name)

    def record(
        self,
        result: ExpectationSuiteValidationResult,
        suite: ExpectationSuite,
        *,
        source: str,
        deliveries: str,
        at: dt.datetime | None = None,
    ) -> None:
        """Store ``result`` without values for the next :meth:`build` (``deliveries`` labels the run)."""
        from great_expectations.core import ExpectationSuiteValidationResult
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        self._add_suite(suite)
        at = at or dt.datetime.now(dt.UTC)
        run_id = RunIdentifier(run_name=_UNSAFE.sub("_", f"{source}_{deliveries}")[:120], run_time=at)
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite.name),
            run_id=run_id,
            batch_identifier=_UNSAFE.sub("_", source)[:64],
        )
        clean = value_free_result(result)
        clean["meta"]["run_id"] = run_id.to_json_dict()
        clean["meta"]["validation_time"] = at.isoformat()
        stripped = ExpectationSuiteValidationResult(
            success=clean["success"],
            results=[_outcome(item) for item in clean["results"]],
            suite_name=clean.get("suite_name") or suite.name,
            statistics=clean.get("statistics") or {},
            meta=clean["meta"],
        )
        self._docs_context().validation_results_store.set(key, stripped)
        statistics = clean.get("statistics") or {}
        self._pending.append(
            (
                key,
                DocsPage(
                    source=source,
                    deliveries=deliveries,
                    validated_at=at.isoformat(timespec="seconds"),
                    success=bool(clean["success"]),
                    evaluated=int(statistics.get("evaluated_expectations", 0)),
                    successful=int(statistics.get("successful_expectations", 0)),
                    unsuccessful=int(statistics.get("unsuccessful_expectations", 0)),
                    page="",
                ),
            )
        )

    def build(self) -> Path | None:
        """Render the pages of the results recorded since the last build, and the index; append them to
        ``runs.jsonl``. Returns the index page (None when nothing was recorded)."""
        if not self._pending:
            return None
        context = self._docs_context()
        keys = [key for key, _ in self._pending]
        context.build_data_docs(site_names=[SITE_NAME], resource_identifiers=keys)
        lines = []
        for key, page in self._pending:
            urls = context.get_docs_sites_urls(resource_identifier=key, site_name=SITE_NAME)
            url = str(urls[0]["site_url"]) if urls else ""
            path = Path(url.removeprefix("file://"))
            try:
                relative = path.resolve().relative_to(self.site_dir.resolve()).as_posix()
            except ValueError:
                continue
            lines.append(DocsPage(**{**page.__dict__, "page": relative}).to_json())
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.manifest.open("a", encoding="utf-8") as handle:
            handle.write("".join(line + "\n" for line in lines))
        self._pending.clear()
        return self.site_dir / "index.html"


def _outcome(item: dict[str, Any]) -> Any:
    from great_expectations.core import ExpectationValidationResult
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    config = item["expectation_config"]
    return ExpectationValidationResult(
        success=item["success"],
        expectation_config=ExpectationConfiguration(
            type=config["type"], kwargs=config.get("kwargs") or {}, meta=config.get("meta") or {}
        ),
        result=item["result"],
        exception_info=item["exception_info"],
        meta={},
    )


def read_pages(folder: Path) -> list[dict[str, Any]]:
    """The pages listed in ``<folder>/runs.jsonl``, newest first (empty when none was built)."""
    manifest = Path(folder) / "runs.jsonl"
    if not manifest.is_file():
        return []
    pages = []
    for line in manifest.read_text(encoding="utf-8").splitlines():
        try:
            pages.append(json.loads(line))
        except ValueError:
            continue
    return sorted(pages, key=lambda page: str(page.get("validated_at")), reverse=True)
