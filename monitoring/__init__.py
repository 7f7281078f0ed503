"""Monitoring of published lists: input and score drift before outcomes are known, expected performance
from calibrated risks, realised performance once outcomes mature, visit yield, and alerts that can hold
publication until an analyst acknowledges them (docs/monitoring.md).

A layer downstream of ``screening/`` (it reads published lists) and beside ``review/`` (whose analyst pages
read its tables). Plain functions without Prefect; the monitor flow implements
:class:`monitoring.run.MonitorInputs` over the warehouse, the feature sets and MLflow and calls
:func:`monitoring.run.run_monitor` and :func:`monitoring.store.record_report`.
"""
