"""Validating deliveries with the contracts' Great Expectations suites.

One ephemeral GX context per process (creating one costs about a second), one pandas data source and
one whole-dataframe batch definition, reused for every validation. Results are reduced at once to
counts and row positions: GX's own result objects hold the unexpected *values* and never leave here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from data_contracts.contract import Contract, load_suite

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuite

    from data_contracts.data_docs import DataDocs


@dataclass(frozen=True)
class RuleBreach:
    """One expectation that failed on some positions of the validated frame (no values)."""

    column: str | None
    expectation: str
    rule: str
    severity: str
    positions: np.ndarray
    failing_rows: int
    could_not_evaluate: bool = False


def _column_label(kwargs: dict[str, Any]) -> str | None:
    if "column" in kwargs:
        return str(kwargs["column"])
    if "column_A" in kwargs:
        return f"{kwargs['column_A']}, {kwargs['column_B']}"
    if "column_list" in kwargs:
        return ", ".join(c for c in kwargs["column_list"] if c != "_delivery")
    return None


def _error_type(outcome: Any) -> str:
    """The exception's type name only: GX messages may quote data."""
    info = outcome.exception_info or {}
    if info.get("exception_traceback"):
        last = str(info["exception_traceback"]).strip().splitlines()[-1]
        return last.split(":", 1)[0][:80]
    return "no result"


EXACT_FLOAT_INTEGERS = 2**53  # every integer below this in magnitude is exact in float64


def _for_gx(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with nullable integer columns as float64 (missing as NaN) where that is exact.

    GX's pandas range check is vectorised only for NumPy int and float columns; on a nullable ``Int64``
    column it calls a Python function per value (millions of calls for a 60k world's home care and
    services). The values, the missing positions and so every expectation's result are the same.
    """
    changed = {}
    for name in frame.columns:
        values = frame[name]
        if isinstance(values.dtype, pd.Int64Dtype):
            largest = values.abs().max()
            if largest is pd.NA or int(largest) < EXACT_FLOAT_INTEGERS:
                changed[name] = values.astype("float64")
    return frame.assign(**changed) if changed else frame


class ContractValidator:
    """Validates frames against contracts with one shared, ephemeral GX context."""

    def __init__(self) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig
        from great_expectations.execution_engine import pandas_execution_engine

        # GX fingerprints every in-memory frame under 1 GB (an MD5 of pandas' row hashes, twice per
        # validation) only to label the batch; Tidlig never reads that label, and at 60k citizens it cost
        # about a tenth of the ingest's CPU. A threshold of 0 skips the fingerprint, nothing else.
        pandas_execution_engine.HASH_THRESHOLD = 0

        self._context = gx.get_context(mode="ephemeral")
        self._context.variables.progress_bars = ProgressBarsConfig(globally=False)
        source = self._context.data_sources.add_pandas("tidlig_deliveries")
        asset = source.add_dataframe_asset("delivery")
        self._batch_definition = asset.add_batch_definition_whole_dataframe("whole_delivery")
        self._suites: dict[str, ExpectationSuite] = {}

    def suite(self, contract: Contract) -> ExpectationSuite:
        if contract.source not in self._suites:
            self._suites[contract.source] = load_suite(contract)
        return self._suites[contract.source]

    def validate(
        self,
        frame: pd.DataFrame,
        contract: Contract,
        *,
        docs: DataDocs | None = None,
        deliveries: str = "",
    ) -> list[RuleBreach]:
        """The expectations of ``contract`` that ``frame`` breaks, with failing positions (0-based).

        ``frame`` must have a default RangeIndex. An expectation that errors (for example a column the
        frame lacks) is reported as a blocking breach on all rows, never as a pass. With ``docs`` the
        result is also recorded, without any value, for the Data Docs (``data_contracts.data_docs``),
        labelled with ``deliveries``.
        """
        if not isinstance(frame.index, pd.RangeIndex) or frame.index.start != 0:
            raise ValueError(
                "validate() needs a frame with a default RangeIndex (use reset_index(drop=True))."
            )
        batch = self._batch_definition.get_batch(batch_parameters={"dataframe": _for_gx(frame)})
        result = batch.validate(self.suite(contract), result_format={"result_format": "COMPLETE"})
        if docs is not None:
            try:
                docs.record(result, self.suite(contract), source=contract.source, deliveries=deliveries)
            except Exception as error:  # the docs are a view: a failure there must not change the intake
                logger.warning(
                    "Data Docs: %s's validation was not recorded (%s)", contract.source, type(error).__name__
                )
        breaches: list[RuleBreach] = []
        for outcome in result.results:
            if outcome.success:
                continue
            config = outcome.expectation_config
            meta = config.meta or {}
            column = _column_label(config.kwargs)
            raised = bool(outcome.exception_info and outcome.exception_info.get("raised_exception"))
            details = outcome.result or {}
            if raised or "unexpected_index_list" not in details:
                breaches.append(
                    RuleBreach(
                        column,
                        config.type,
                        f"{meta.get('rule', config.type)} (could not be evaluated: {_error_type(outcome)})",
                        "blocking",
                        np.arange(len(frame)),
                        len(frame),
                        could_not_evaluate=True,
                    )
                )
                continue
            positions = np.asarray(details.get("unexpected_index_list") or [], dtype=np.int64)
            breaches.append(
                RuleBreach(
                    column,
                    config.type,
                    meta.get("rule", config.type),
                    meta.get("severity", "blocking"),
                    np.unique(positions),
                    int(details.get("unexpected_count", len(positions))),
                )
            )
            del details
        return breaches
