"""One retry rule for every task: transient I/O is retried, a missing file or a failed check is not."""

import pytest
import sqlalchemy.exc

from pipelines.errors import MissingInputError, PublishRefusedError
from pipelines.retry import is_transient_io
from warehouse.store import CatalogBusyError


@pytest.mark.parametrize(
    "error",
    [
        OSError("disk busy"),
        TimeoutError(),
        CatalogBusyError("catalog locked"),
        sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("database is locked")),
    ],
    ids=type,
)
def test_transient_io_is_retried(error):
    assert is_transient_io(error)


@pytest.mark.parametrize(
    "error",
    [
        FileNotFoundError("no delivery file"),
        PermissionError("read-only"),
        IsADirectoryError(),
        ValueError("bad value"),
        MissingInputError("no champion"),
        PublishRefusedError("drift"),
        None,
    ],
    ids=repr,
)
def test_a_missing_file_a_check_or_a_bug_is_not_retried(error):
    assert not is_transient_io(error)
