"""Client behaviour through the http source: the Python side of reads, fallbacks, errors, the
warm path, status, on_change, snapshots and options."""

from __future__ import annotations

import copy
import json
import logging
import pickle
import threading
import time
from pathlib import Path
from typing import Any, List

import pytest

import failsoft
from conftest import poll
from simulator import Simulator


def kv_client(sim: Simulator, **options: Any) -> failsoft.Client:
    return failsoft.Client(failsoft.Http(sim.url + "/kv/{key}"), **options)


def test_every_core_error_kind_is_the_class_named_after_it() -> None:
    from failsoft import _native

    assert _native.ERROR_KINDS == ["NotFound", "Unauthorized", "Timeout", "Unavailable", "InvalidResponse", "InvalidArgument"]
    for kind in _native.ERROR_KINDS:
        cls = getattr(failsoft, kind)
        assert issubclass(cls, failsoft.Error) and cls.kind == kind == cls(kind).kind


def test_warm_read_returns_the_same_immutable_object(sim: Simulator) -> None:
    with kv_client(sim, ttl_seconds=60) as c:
        first = c.get("settings")
        assert first.source == "fresh" and first.version == 3 and not first.is_fallback
        assert first.value == {"model": "gpt-4o-mini", "temperature": 0.2, "max_tokens": 256, "tools": True}
        for _ in range(100):
            again = c.get("settings")
            assert again is first
            assert again.value is first.value
        assert isinstance(first.value, dict) and isinstance(first.value, failsoft.FrozenDict)
        with pytest.raises(TypeError):
            first.value["model"] = "x"
        with pytest.raises(TypeError):
            first.value.update(model="x")
        assert json.loads(json.dumps(first.value)) == first.value
        mutable = failsoft.thaw(first.value)
        mutable["model"] = "x"
        assert c.get("settings").value["model"] == "gpt-4o-mini"
        assert copy.deepcopy(first.value) is first.value
        assert pickle.loads(pickle.dumps(first.value)) == first.value
        assert sim.count("/kv/settings") == 1


def test_new_version_gives_a_new_object_and_data(sim: Simulator) -> None:
    with kv_client(sim, ttl_seconds=0.1) as c:
        v1 = c.get("greeting")
        sim.set_kv("greeting", {"text": "v2"}, 2)
        poll(lambda: c.get("greeting").version == 2, timeout=5)
        v2 = c.get("greeting")
        assert v2 is not v1 and v2.value == {"text": "v2"}
        assert v1.value == {"text": "hello"}


def test_age_is_live_and_none_for_fallback(sim: Simulator) -> None:
    with kv_client(sim, ttl_seconds=60) as c:
        v = c.get("greeting")
        a1 = v.age_seconds
        assert a1 is not None and 0 <= a1 < 1
        time.sleep(0.05)
        assert v.age_seconds is not None and v.age_seconds > a1
        fb = c.get("nope", fallback="x")
        assert fb.age_seconds is None and fb.version is None and fb.is_fallback


def test_fallback_function_is_called_only_when_needed(sim: Simulator) -> None:
    calls: List[int] = []

    def make() -> Any:
        calls.append(1)
        return {"text": "from function"}

    with kv_client(sim, ttl_seconds=60) as c:
        assert c.get("greeting", fallback=make).value == {"text": "hello"}
        assert calls == []
        v = c.get("missing", fallback=make)
        assert v.is_fallback and v.value == {"text": "from function"} and calls == [1]
        assert v.error is not None and v.error.kind == "NotFound" and isinstance(v.error, failsoft.NotFound)


def test_fallback_function_exception_propagates(sim: Simulator) -> None:
    def broken() -> Any:
        raise KeyError("boom")

    with kv_client(sim) as c:
        with pytest.raises(KeyError, match="boom"):
            c.get("missing", fallback=broken)


def test_none_is_a_fallback_value_for_get(sim: Simulator) -> None:
    with kv_client(sim) as c:
        v = c.get("missing", fallback=None)
        assert v.is_fallback and v.value is None
        with pytest.raises(failsoft.NotFound) as info:
            c.get("missing")
        assert info.value.key == "missing" and info.value.status == 404
        assert "missing" in str(info.value)


def test_fallback_must_be_json(sim: Simulator) -> None:
    with kv_client(sim) as c:
        with pytest.raises(failsoft.InvalidArgument, match=r"fallback\[\"a\"\]\[1\].*set"):
            c.get("missing", fallback={"a": [1, {1, 2}]})


def test_errors_are_typed(sim: Simulator) -> None:
    with kv_client(sim, cold_deadline_seconds=0.5) as c:
        sim.fault("/kv/greeting", "401")
        with pytest.raises(failsoft.Unauthorized) as info:
            c.get("greeting")
        assert info.value.status == 401 and info.value.kind == "Unauthorized"
        sim.fault("/kv/settings", "garbage")
        with pytest.raises(failsoft.InvalidResponse):
            c.get("settings")
        assert issubclass(failsoft.Timeout, failsoft.Error)
    with pytest.raises(failsoft.InvalidArgument, match="ttl_seconds"):
        failsoft.Client(failsoft.Http("http://127.0.0.1:1/{key}"), ttl_seconds=-1)
    with pytest.raises(failsoft.InvalidArgument, match="key"):
        failsoft.Client(failsoft.Http("http://127.0.0.1:1/nokey"))
    with pytest.raises(failsoft.InvalidArgument, match="refresh_workers"):
        failsoft.Client(failsoft.Http("http://127.0.0.1:1/{key}"), refresh_workers=0)
    err = failsoft.NotFound("gone", key="k", status=404)
    assert pickle.loads(pickle.dumps(err)).key == "k"


def test_secrets_never_show(sim: Simulator) -> None:
    source = failsoft.Http(sim.url + "/kv/{key}", headers={"Authorization": "Bearer s3cret"})
    assert "s3cret" not in repr(source)
    assert "s3cret" not in repr(failsoft.Langfuse(public_key="pk", secret_key="sk-s3cret"))
    with failsoft.Client(source) as c:
        assert "s3cret" not in repr(c)
        assert c.get("greeting").value == {"text": "hello"}
        recorded = sim._call("GET", "/_sim/requests?path=/kv/greeting")
        assert recorded[-1]["headers"]["authorization"] == "Bearer s3cret"


def test_status_is_a_plain_dict(sim: Simulator) -> None:
    with kv_client(sim, ttl_seconds=60) as c:
        assert c.status()["state"] == "starting"
        c.get("greeting")
        c.get("greeting")
        s = c.status()
        assert s["state"] == "ready" and s["keys"] == 1 and s["last_error"] is None
        assert s["counters"]["reads"] == 2 and s["counters"]["fetches"] == 1
        s["state"] = "mutable"  # the caller's own copy


def test_prefetch_reports_failures(sim: Simulator) -> None:
    with kv_client(sim) as c:
        c.prefetch(["greeting", "settings"])
        assert sim.count("/kv/settings") == 1
        with pytest.raises(failsoft.PrefetchError) as info:
            c.prefetch(["plain", "nope"])
        e = info.value
        assert isinstance(e, failsoft.Error)
        assert set(e.failures) == {"nope"} and isinstance(e.failures["nope"], failsoft.NotFound)
        assert e.succeeded == ["plain"] and e.kind == "NotFound"


def test_cold_read_releases_the_gil(sim: Simulator) -> None:
    sim.fault("/kv/greeting", "hang")
    ticks: List[float] = []
    stop = threading.Event()

    def ticker() -> None:
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.005)

    t = threading.Thread(target=ticker)
    with kv_client(sim, cold_deadline_seconds=0.4) as c:
        t.start()
        started = time.monotonic()
        v = c.get("greeting", fallback="fb")
        took = time.monotonic() - started
        stop.set()
        t.join()
        sim.fault("/kv/greeting", "healthy")
    assert v.is_fallback and v.error is not None and v.error.kind == "Timeout"
    assert 0.35 < took < 1.0
    during = [x for x in ticks if started < x < started + took]
    assert len(during) > 20, f"the other thread ran {len(during)} times while the read waited"


def test_close_is_idempotent_and_bounded(sim: Simulator) -> None:
    c = kv_client(sim, ttl_seconds=0.05, cold_deadline_seconds=0.2)
    c.get("greeting")
    sim.fault("/kv/greeting", "hang")
    time.sleep(0.1)
    c.get("greeting")  # stale: starts a refresh that hangs
    time.sleep(0.05)
    started = time.monotonic()
    c.close()
    c.close()
    assert time.monotonic() - started < 1.2
    assert c.closed
    assert c.get("greeting").value == {"text": "hello"}  # still served after close
    sim.fault("/kv/greeting", "healthy")


def test_context_manager_closes(sim: Simulator) -> None:
    with kv_client(sim) as c:
        assert not c.closed
    assert c.closed


def test_on_change_runs_callbacks_and_logs_their_errors(sim: Simulator, caplog: pytest.LogCaptureFixture) -> None:
    seen: List[failsoft.Change] = []
    threads: List[str] = []

    def good(change: failsoft.Change) -> None:
        threads.append(threading.current_thread().name)
        seen.append(change)

    def bad(change: failsoft.Change) -> None:
        raise RuntimeError("callback bug")

    with caplog.at_level(logging.ERROR, logger="failsoft"):
        with kv_client(sim, ttl_seconds=0.1) as c:
            c.on_change(good)
            bad_id = c.on_change(bad)
            c.get("greeting")
            sim.set_kv("greeting", {"text": "v2"}, 2)
            poll(lambda: c.get("greeting").version == 2 and len(seen) == 1, timeout=5)
            change = seen[0]
            assert change.key == "greeting" and change.old_version == 1 and change.new_version == 2
            assert change.value.value == {"text": "v2"}
            assert threads[0] != threading.main_thread().name
            poll(lambda: any("callback bug" in (r.exc_text or "") or "callback" in r.getMessage() for r in caplog.records))
            c.remove_listener(bad_id)


def test_remove_listener_waits_for_a_call_under_way_and_none_follows(sim: Simulator) -> None:
    inside = threading.Event()
    calls: List[int] = []

    def slow(change: failsoft.Change) -> None:
        calls.append(1)
        inside.set()
        time.sleep(0.3)  # releases the GIL: remove_listener runs meanwhile
        inside.clear()

    with kv_client(sim, ttl_seconds=0.05) as c:
        listener = c.on_change(slow)
        c.get("greeting")
        sim.set_kv("greeting", {"text": "v2"}, 2)
        poll(lambda: (c.get("greeting"), inside.is_set())[1], timeout=5)
        c.remove_listener(listener)  # from the main thread, with the GIL: must not deadlock
        assert not inside.is_set(), "the callback still ran after remove_listener returned"
        n = len(calls)
        sim.set_kv("greeting", {"text": "v3"}, 3)
        poll(lambda: c.get("greeting").version == 3, timeout=5)
        time.sleep(0.1)
        assert len(calls) == n, "called after remove_listener returned"


def test_core_logs_reach_python_logging(sim: Simulator, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="failsoft"):
        with kv_client(sim, ttl_seconds=0.1) as c:
            c.get("greeting")
            sim.fault("/kv/greeting", "503")
            time.sleep(0.15)
            c.get("greeting")
            poll(lambda: any(r.name == "failsoft" and "fetch failed" in r.getMessage() for r in caplog.records))
    record = next(r for r in caplog.records if "fetch failed" in r.getMessage())
    assert record.levelno == logging.WARNING


def test_snapshot_serves_a_new_process_while_the_backend_is_down(sim: Simulator, tmp_path: Path) -> None:
    with kv_client(sim, snapshot_dir=tmp_path) as c:
        c.get("greeting")
    poll(lambda: any(tmp_path.iterdir()))
    sim.fault("*", "refused")
    with kv_client(sim, snapshot_dir=str(tmp_path), cold_deadline_seconds=1) as c:
        v = c.get("greeting", fallback="fb")
        assert v.source == "snapshot" and not v.is_fallback and v.value == {"text": "hello"}
        assert v.age_seconds is not None and v.error is not None


def test_file_source(tmp_path: Path) -> None:
    path = tmp_path / "values.json"
    path.write_text(json.dumps({"model": {"name": "m", "version": 4}}))
    with failsoft.Client(failsoft.File(path)) as c:
        v = c.get("model")
        assert v.value == {"name": "m", "version": 4} and v.version == 4
        with pytest.raises(failsoft.NotFound):
            c.get("other")


def test_options_dict_source(sim: Simulator) -> None:
    with failsoft.Client({"kind": "http", "url": sim.url + "/kv/{key}"}, ttl_seconds=5) as c:
        assert c.ttl_seconds == 5
        assert c.get("plain").value == "just a string"
    with pytest.raises(failsoft.InvalidArgument, match="ftp"):
        failsoft.Client({"kind": "ftp"})


def test_a_callback_referring_to_its_client_does_not_leak_it(sim: Simulator) -> None:
    import gc
    import weakref

    def make() -> "weakref.ref[failsoft.Client]":
        c = kv_client(sim)
        c.on_change(lambda change: c.status())
        c.get("greeting")
        return weakref.ref(c)

    ref = make()
    gc.collect()
    assert ref() is None


def test_reads_count_once_each(sim: Simulator, tmp_path: Path) -> None:
    # The warm path and the waiting path together count each read exactly once.
    with kv_client(sim, ttl_seconds=60, snapshot_dir=tmp_path) as c:
        for _ in range(5):
            c.get("greeting")
    poll(lambda: any(tmp_path.iterdir()))
    sim.fault("*", "refused")
    with kv_client(sim, ttl_seconds=60, snapshot_dir=tmp_path) as c:
        for _ in range(4):
            assert c.get("greeting").source == "snapshot"
        counters = c.status()["counters"]
        assert counters["reads"] == counters["snapshot_reads"] == 4, counters
