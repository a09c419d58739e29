"""A small version of the API load bench (bench/api_load.py) for CI: gunicorn + PostgreSQL +
Redis + 2 Celery worker processes, 30 uploads from 6 concurrent clients. Checks that every
upload is accepted and graded and none is lost; the latency numbers are printed, never
asserted (the machine is shared: timings are for the benchmark, see BENCHMARKS.md)."""
import pytest

from bench.api_load import REDIS_DB_LOAD_TEST, report, run_load
from tests.integration.realservices import PG_HOST, PG_PORT, REDIS_HOST, REDIS_PORT, require

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

UPLOADS, CLIENTS = 30, 6


def test_uploads_under_concurrency_are_all_graded_none_lost():
    require(PG_HOST, PG_PORT, "PostgreSQL")
    require(REDIS_HOST, REDIS_PORT, "Redis")
    row = run_load(uploads=UPLOADS, clients=CLIENTS, redis_db=REDIS_DB_LOAD_TEST,
                   grade_timeout=120)
    print(f"\nAPI load, {UPLOADS} uploads from {CLIENTS} clients:\n{report(row)}")

    assert row["errors"] == {}, row["errors"]
    assert row["sent"] == row["accepted"] == UPLOADS
    assert row["lost"] == 0
    assert row["db_rows"] == UPLOADS          # no duplicates either
    assert row["failed"] == 0, row["statuses"]
    assert row["graded"] == UPLOADS, row["statuses"]
    assert row["all_graded"]
