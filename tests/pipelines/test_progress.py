"""Progress goes through Prefect's run logger; outside a run it falls back to the `tidlig` logger."""

import logging

from pipelines.progress import say, step_logger


def test_outside_a_run_progress_goes_to_the_tidlig_logger(caplog):
    assert step_logger() is logging.getLogger("tidlig")
    with caplog.at_level(logging.INFO, logger="tidlig"):
        say("3 prediction dates")
    assert [(r.name, r.getMessage()) for r in caplog.records] == [("tidlig", "3 prediction dates")]
