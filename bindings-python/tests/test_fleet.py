"""Fleet mode from Python (SPEC §10, issue 13): the option passes through the shared spec, and a
client started while the backend is down serves the fleet's last known good from Redis.

Needs the redis-server that scripts/test.sh starts (FAILSOFT_TEST_REDIS_URL): fails under CI
without it, skips otherwise.
"""

from __future__ import annotations

import os
import time
import uuid

import pytest

import failsoft
from simulator import Simulator

REDIS = os.environ.get("FAILSOFT_TEST_REDIS_URL")
if not REDIS:
    if os.environ.get("CI"):
        raise RuntimeError("CI is set but FAILSOFT_TEST_REDIS_URL is not: the fleet tests need redis-server")
    pytest.skip("FAILSOFT_TEST_REDIS_URL not set (scripts/test.sh starts a redis-server)", allow_module_level=True)


def fleet() -> dict:
    return {"redis_url": REDIS, "prefix": f"py-{uuid.uuid4().hex[:8]}", "retention_seconds": 60}


def test_a_client_started_during_an_outage_serves_the_fleets_value(sim: Simulator) -> None:
    opts = fleet()
    first = failsoft.Client({"kind": "http", "url": f"{sim.url}/kv/{{key}}"}, fleet=opts)
    assert first.get("greeting").version == 1
    sim.fault("*", "refused")
    later = failsoft.Client({"kind": "http", "url": f"{sim.url}/kv/{{key}}"}, fleet=opts)
    t = time.monotonic()
    v = later.get("greeting", fallback={"text": "fallback"})
    assert time.monotonic() - t < 0.1
    assert (v.is_fallback, v.version, v.value) == (False, 1, {"text": "hello"})
    status = later.status()
    assert status["fleet"]["store"] == "up"
    assert status["fleet"]["counters"]["adopted"] >= 1
    assert sim.count("/kv/greeting") == 1
    first.close()
    later.close()


def test_fleet_options_are_checked_by_name_and_never_echo_the_password(sim: Simulator) -> None:
    source = {"kind": "http", "url": f"{sim.url}/kv/{{key}}"}
    with pytest.raises(failsoft.InvalidArgument, match="fleet.mode"):
        failsoft.Client(source, fleet={"redis_url": REDIS, "mode": "sometimes"})
    with pytest.raises(failsoft.InvalidArgument) as e:
        failsoft.Client(source, fleet={"redis_url": "http://app:hunter2@127.0.0.1:1"})
    assert "fleet.redis_url" in str(e.value) and "hunter2" not in str(e.value)
    c = failsoft.Client(source, fleet={"redis_url": "redis://app:hunter2@127.0.0.1:1/0"})
    assert "hunter2" not in repr(c) and "hunter2" not in str(c.status())
    c.close()
