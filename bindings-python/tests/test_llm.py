"""LLM calls with fallback (SPEC §8, issue 7) through failsoft.OpenAI against the simulator's
OpenAI-compatible routes: ``/t/primary/v1`` and ``/t/fallback/v1``, faults on ``/t/primary``."""

from __future__ import annotations

import ast
import pickle
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import pytest

import failsoft
from simulator import Simulator

PRIMARY_KEY = "sk-primary-secret-0123456789"
FALLBACK_KEY = "sk-fallback-secret-9876543210"
MESSAGES = [{"role": "user", "content": "hi"}]
PRIMARY_CHAT = "/t/primary/v1/chat/completions"
FALLBACK_CHAT = "/t/fallback/v1/chat/completions"
PRIMARY_REPLY = "Hello from the simulator [target=primary]"
FALLBACK_REPLY = "Hello from the simulator [target=fallback]"


def openai(sim: Simulator, **options: Any) -> failsoft.OpenAI:
    """A client on the primary route, falling over to the fallback route; no retries unless asked."""
    options.setdefault("max_retries", 0)
    options.setdefault("timeout", 5)
    fallback_client = failsoft.OpenAICompatibleClient(base_url=sim.openai_base_url("fallback"), api_key=FALLBACK_KEY)
    return failsoft.OpenAI(
        base_url=sim.openai_base_url("primary"), api_key=PRIMARY_KEY, fallback_client=fallback_client, **options
    )


def create(client: failsoft.OpenAI, **kwargs: Any) -> Any:
    kwargs.setdefault("fallback", {"model": "fallback-model"})
    return client.chat.completions.create(model="primary-model", messages=MESSAGES, **kwargs)


def assert_no_secret(*texts: Any) -> None:
    for t in texts:
        s = str(t)
        assert PRIMARY_KEY not in s and FALLBACK_KEY not in s, s


def error_texts(e: failsoft.Error) -> List[Any]:
    return [str(e), repr(e), e.message, *[repr(a) for a in e.attempts]]


def test_the_result_reads_like_the_openai_sdk(sim: Simulator) -> None:
    c = openai(sim)
    r = create(c, temperature=0.25, max_tokens=7, extra_body={"seed": 3})
    assert isinstance(r, failsoft.ChatCompletion)
    assert r.choices[0].message.content == PRIMARY_REPLY and r.choices[0].message.role == "assistant"
    assert r.choices[0].finish_reason == "stop" and r.choices[0].index == 0
    assert r.model == "primary-model" and r.object == "chat.completion" and r.id.startswith("chatcmpl-")
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    # Fields the OpenAI types define but the server left out read as None; others do not exist.
    assert r.choices[0].message.tool_calls is None and r.service_tier is None
    with pytest.raises(AttributeError):
        r.no_such_field
    with pytest.raises(AttributeError):
        r.model = "x"  # type: ignore[misc]
    d = r.to_dict()
    assert d["choices"][0]["message"]["content"] == PRIMARY_REPLY and d == r.model_dump()
    d["model"] = "changed"
    assert r.model == "primary-model"  # to_dict() is a copy
    assert '"chat.completion"' in r.to_json()
    assert r.is_fallback is False
    assert r.served_by == failsoft.ServedBy(0, "primary-model", sim.openai_base_url("primary"))
    [a] = r.attempts
    assert (a.target, a.model, a.error_kind, a.status, a.skipped) == (0, "primary-model", None, None, False)
    assert a.elapsed_ms > 0 and a.to_dict()["target"] == 0
    again = pickle.loads(pickle.dumps(r))
    assert again == r and again.served_by == r.served_by and again.attempts == r.attempts
    # The request went out untouched, but for the failsoft-only arguments.
    sent = sim.last_openai_request("primary")
    assert sent == {"model": "primary-model", "messages": MESSAGES, "temperature": 0.25, "max_tokens": 7, "seed": 3}
    headers = sim._call("GET", "/_sim/requests?path=" + PRIMARY_CHAT)[-1]["headers"]
    assert headers["authorization"] == "Bearer " + PRIMARY_KEY


@pytest.mark.parametrize(
    "fault, kind",
    [
        ({"mode": "refused"}, "Unavailable"),
        ({"mode": "500"}, "Unavailable"),
        ({"mode": "502"}, "Unavailable"),
        ({"mode": "503"}, "Unavailable"),
        ({"mode": "504"}, "Timeout"),
        ({"mode": "429", "retry_after": 30}, "Unavailable"),  # longer than the cap: no wait
        ({"mode": "401"}, "Unauthorized"),
        ({"mode": "403"}, "Unauthorized"),
        ({"mode": "404"}, "NotFound"),
        ({"mode": "408"}, "Timeout"),
        ({"mode": "409"}, "Unavailable"),
        ({"mode": "garbage"}, "InvalidResponse"),
    ],
)
def test_each_trigger_falls_over(sim: Simulator, fault: Dict[str, Any], kind: str) -> None:
    sim.fault("/t/primary", **fault)
    started = time.monotonic()
    r = create(openai(sim, max_retries=1))
    took = time.monotonic() - started
    assert r.choices[0].message.content == FALLBACK_REPLY
    assert r.is_fallback and r.served_by.index == 1 and r.served_by.model == "fallback-model"
    assert r.served_by.base_url == sim.openai_base_url("fallback") and r.model == "fallback-model"
    assert r.attempts[0].target == 0 and r.attempts[0].error_kind == kind, r.attempts
    assert r.attempts[-1].target == 1 and r.attempts[-1].error_kind is None
    if fault["mode"].isdigit():
        assert r.attempts[0].status == int(fault["mode"])
    assert took < 2.0, f"{fault}: {took:.2f}s"  # one short retry at most, never the Retry-After
    assert sim.last_openai_request("fallback")["model"] == "fallback-model"


@pytest.mark.parametrize("status", [400, 413, 422])
def test_a_request_error_does_not_fall_over(sim: Simulator, status: int) -> None:
    sim.fault("/t/primary", str(status))
    with pytest.raises(failsoft.InvalidArgument) as info:
        create(openai(sim, max_retries=1))
    e = info.value
    assert e.status == status
    assert [(a.target, a.status, a.error_kind) for a in e.attempts] == [(0, status, "InvalidArgument")]
    assert sim.count(FALLBACK_CHAT) == 0 and sim.count(PRIMARY_CHAT) == 1


def test_every_target_failing_raises_the_last_error_with_every_attempt(sim: Simulator) -> None:
    sim.fault("/t/primary", "503")
    sim.fault("/t/fallback", "500")
    with pytest.raises(failsoft.Unavailable) as info:
        create(openai(sim))
    e = info.value
    assert [(a.target, a.status) for a in e.attempts] == [(0, 503), (1, 500)]
    assert e.status == 500 and isinstance(e, failsoft.Error)
    assert_no_secret(*error_texts(e))


def test_retry_after_is_honoured_within_a_target(sim: Simulator) -> None:
    sim.fault("/t/primary", "429", retry_after_ms=300, count=1)
    started = time.monotonic()
    r = create(openai(sim, max_retries=1))
    took = time.monotonic() - started
    assert r.served_by.index == 0 and not r.is_fallback  # the retry after the wait answered
    assert [(a.target, a.status) for a in r.attempts] == [(0, 429), (0, None)]
    assert 0.3 <= took < 1.0, took


def test_a_per_target_timeout_holds_within_100_ms(sim: Simulator) -> None:
    sim.fault("/t/primary", "hang")
    c = openai(sim, timeout=0.5)
    started = time.monotonic()
    r = create(c)
    took = time.monotonic() - started
    assert r.served_by.index == 1
    first = r.attempts[0]
    assert first.error_kind == "Timeout" and 500 <= first.elapsed_ms < 600, first
    assert took < 0.5 + 0.25 + r.attempts[-1].elapsed_ms / 1000, took
    # The fallback's own timeout, from the seed's `fallback={"model", "timeout"}`.
    sim.fault("/t/fallback", "hang")
    started = time.monotonic()
    with pytest.raises(failsoft.Timeout) as info:
        create(c, fallback={"model": "fallback-model", "timeout": 0.3})
    took = time.monotonic() - started
    assert [a.error_kind for a in info.value.attempts] == ["Timeout", "Timeout"]
    # The whole call is its two attempts plus Python's own time (0.25 s margin: CI once took
    # 0.91 s here on a loaded 2-core machine, with each attempt within its timeout).
    assert 300 <= info.value.attempts[1].elapsed_ms < 400 and took < 0.8 + 0.25, took


def test_the_overall_deadline_bounds_the_whole_call(sim: Simulator) -> None:
    sim.fault("/t/primary", "hang")
    sim.fault("/t/fallback", "hang")
    c = openai(sim, timeout=5, deadline_seconds=0.4, max_retries=1)
    started = time.monotonic()
    with pytest.raises(failsoft.Timeout, match="deadline"):
        create(c)
    took = time.monotonic() - started
    assert 0.4 <= took < 0.5, took


def test_the_breaker_skips_a_dead_primary(sim: Simulator) -> None:
    sim.fault("/t/primary", "refused")
    c = openai(sim)
    for _ in range(3):
        r = create(c)
        assert r.served_by.index == 1 and not r.attempts[0].skipped
    assert sim.count(PRIMARY_CHAT) == 3
    started = time.perf_counter()
    r = create(c)
    took_ms = (time.perf_counter() - started) * 1000
    assert r.served_by.index == 1
    skipped = r.attempts[0]
    assert skipped.skipped and skipped.error_kind == "Unavailable" and skipped.elapsed_ms == 0, skipped
    assert sim.count(PRIMARY_CHAT) == 3  # no request to the dead primary
    # The 4th call costs the fallback's own latency and < 5 ms more.
    assert took_ms - r.attempts[-1].elapsed_ms < 5, (took_ms, r.attempts)
    assert_no_secret(skipped.message)
    # The breaker belongs to this client's target list: another client tries the primary again.
    r = create(openai(sim))
    assert not r.attempts[0].skipped and sim.count(PRIMARY_CHAT) == 4


def test_one_native_client_per_target_list(sim: Simulator) -> None:
    # The pool is core's (failsoft::llm::Front, proven there); this proves the door reaches it.
    c = openai(sim)
    create(c, fallback={"model": "a"})
    create(c, fallback=[{"model": "a"}])
    create(c, fallback="a")
    assert c._front.pooled() == 1
    create(c, fallback={"model": "b"})
    create(c, fallback={"model": "a"}, timeout=1.5)  # another primary timeout
    assert c._front.pooled() == 3


def test_a_list_of_fallbacks_and_the_openpipe_spellings(sim: Simulator) -> None:
    dead = failsoft.OpenAICompatibleClient(base_url="http://127.0.0.1:9/v1", api_key="sk-dead-0123456789")
    c = openai(sim)
    sim.fault("/t/primary", "503")
    r = create(c, fallback=[{"model": "m-dead", "client": dead}, {"model": "m-second"}])
    assert r.served_by.index == 2 and r.served_by.model == "m-second" and r.choices[0].message.content
    assert [(a.target, a.error_kind) for a in r.attempts] == [(0, "Unavailable"), (1, "Unavailable"), (2, None)]
    # OpenPipe's `openpipe={"fallback": ...}` in the call, `openpipe={"fallback_client": ...}` in the client.
    fallback_client = failsoft.OpenAICompatibleClient(base_url=sim.openai_base_url("fallback"), api_key=FALLBACK_KEY)
    op = failsoft.OpenAI(
        base_url=sim.openai_base_url("primary"), api_key=PRIMARY_KEY, openpipe={"fallback_client": fallback_client}
    )
    r = op.chat.completions.create(
        model="openpipe:my-ft-model", messages=MESSAGES, openpipe={"fallback": {"model": "gpt-4-turbo"}}
    )
    assert r.is_fallback and r.served_by.model == "gpt-4-turbo" and r.choices[0].message.content == FALLBACK_REPLY
    assert "openpipe" not in sim.last_openai_request("fallback")
    # No fallback client: the fallback is another model on the primary's own API.
    same_api = failsoft.OpenAI(base_url=sim.openai_base_url("fallback"), api_key=FALLBACK_KEY, max_retries=0)
    sim.fault("/t/fallback", "503", count=1)
    r = same_api.chat.completions.create(model="a", messages=MESSAGES, fallback={"model": "b"})
    assert r.served_by.index == 1 and r.served_by.model == "b"
    assert r.served_by.base_url == sim.openai_base_url("fallback")


def test_a_stream_falls_over_before_its_first_chunk(sim: Simulator) -> None:
    sim.fault("/t/primary", "hang_stream")
    c = openai(sim, first_chunk_timeout_seconds=0.4)
    started = time.monotonic()
    with create(c, stream=True) as s:
        assert isinstance(s, failsoft.Stream)
        opened = time.monotonic() - started
        assert s.is_fallback and s.served_by.index == 1 and s.attempts[0].error_kind == "Timeout"
        chunks = list(s)
    assert 0.4 <= opened < 0.6, opened
    assert all(isinstance(ch, failsoft.ChatCompletionChunk) for ch in chunks)
    assert chunks[0].choices[0].delta.role == "assistant" and chunks[0].object == "chat.completion.chunk"
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == FALLBACK_REPLY and chunks[-1].choices[0].finish_reason == "stop"
    assert s.done and not s.incomplete
    assert repr(s) == f"Stream(served_by={s.served_by!r}, done=True, incomplete=False)"
    # An HTTP error before the first chunk falls over too.
    sim.fault("/t/primary", "503")
    s = create(c, stream=True)
    assert s.served_by.index == 1 and s.attempts[0].status == 503
    assert "".join(ch.choices[0].delta.content or "" for ch in s if ch.choices) == FALLBACK_REPLY


def test_a_stream_broken_after_its_first_chunk_is_incomplete(sim: Simulator) -> None:
    sim.fault("/t/primary", "break_stream")
    s = create(openai(sim), stream=True)
    assert s.served_by.index == 0  # it never falls over once a chunk arrived
    got: List[Any] = []
    with pytest.raises(failsoft.Unavailable, match="incomplete") as info:
        for ch in s:
            got.append(ch)
    assert len(got) == 2 and got[1].choices[0].delta.content == "Hello "
    assert s.incomplete and not s.done
    assert [a.target for a in info.value.attempts] == [0]
    assert_no_secret(*error_texts(info.value))
    with pytest.raises(StopIteration):
        next(s)  # ended for good


def test_a_streams_served_by_is_one_object_until_a_restart_changes_it(sim: Simulator) -> None:
    sim.fault("/t/primary", "break_stream", at=3)
    s = create(openai(sim), stream=True, stream_recovery="restart")
    first = s.served_by
    assert first.index == 0 and s.served_by is first and s.attempts[0] is s.attempts[0]
    s.attempts.clear()  # each read is a copy: the stream's own list is left alone
    assert len(s.attempts) == 1
    chunks = list(s)
    assert any(ch.is_restart for ch in chunks) and s.restarts == 1 and s.done
    assert s.served_by is not first and s.served_by.index == 1 and s.served_by is s.served_by
    assert [a.target for a in s.attempts] == [0, 1]


def test_a_stream_can_be_weakly_referenced(sim: Simulator) -> None:
    s = create(openai(sim), stream=True)
    ref, streams = weakref.ref(s), weakref.WeakSet([s])
    assert ref() is s and s in streams
    s.close()
    del s
    assert ref() is None and not streams


def test_two_readers_of_one_stream_leave_its_last_state(sim: Simulator) -> None:
    # Each step stores its state while it holds the stream: a reader that got an earlier chunk
    # cannot store its older state over the end another reader reached (a race: this run only
    # catches the old order when the threads happen to interleave so; it rarely does).
    for _ in range(10):
        s = create(openai(sim), stream=True)
        got: List[Any] = []
        readers = [threading.Thread(target=lambda: got.extend(s)) for _ in range(2)]
        for r in readers:
            r.start()
        for r in readers:
            r.join()
        assert s.done and not s.incomplete and len(got) >= 6
        assert repr(s) == f"Stream(served_by={s.served_by!r}, done=True, incomplete=False)"


def test_the_stub_documents_stream_as_the_runtime_does() -> None:
    stub = Path(failsoft._native.__file__).with_name("_native.pyi").read_text()
    [cls] = [n for n in ast.parse(stub).body if isinstance(n, ast.ClassDef) and n.name == "Stream"]
    assert ast.get_docstring(cls) == failsoft.Stream.__doc__


def test_chunks_arrive_as_they_are_sent_and_the_gil_is_released(sim: Simulator) -> None:
    sim.set_openai(chunk_delay_ms=150)
    ticks = [0]
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            ticks[0] += 1

    spinner = threading.Thread(target=spin)
    spinner.start()
    try:
        started = time.monotonic()
        s = create(openai(sim), stream=True)
        arrivals: List[float] = []
        during_waits: List[int] = []
        for _ in s:
            before = ticks[0]
            arrivals.append(time.monotonic() - started)
            during_waits.append(before)
        # A plain call while the primary hangs: Python threads keep running meanwhile.
        sim.fault("/t/primary", "hang")
        before = ticks[0]
        create(openai(sim, timeout=0.3))
        spun_during_call = ticks[0] - before
    finally:
        stop.set()
        spinner.join()
    # 7 events 150 ms apart: the first chunk long before the last (no buffering of the answer).
    assert len(arrivals) >= 6 and arrivals[-1] - arrivals[1] >= 0.6, arrivals
    assert during_waits[-1] - during_waits[1] > 1000, during_waits  # the spinner ran between chunks
    assert spun_during_call > 1000, spun_during_call


def test_no_api_key_in_any_error(sim: Simulator) -> None:
    c = openai(sim)
    assert_no_secret(repr(c), repr(c.fallback_client))
    texts: List[Any] = []
    for primary, fallback in [("401", "403"), ("refused", "refused"), ("500", "garbage"), ("400", "healthy")]:
        sim.fault("/t/primary", primary)
        sim.fault("/t/fallback", fallback)
        with pytest.raises(failsoft.Error) as info:
            create(openai(sim))
        texts += error_texts(info.value)
    sim.fault("/t/primary", "401")
    sim.fault("/t/fallback", "break_stream")
    s = create(openai(sim), stream=True)
    with pytest.raises(failsoft.Error) as info:
        list(s)
    texts += error_texts(info.value)
    assert texts
    assert_no_secret(*texts)
    # Not in bad-argument errors either.
    bad = failsoft.OpenAI(base_url="ftp://h/v1", api_key=PRIMARY_KEY)
    with pytest.raises(failsoft.InvalidArgument) as bad_info:
        bad.chat.completions.create(model="m", messages=MESSAGES)
    assert_no_secret(*error_texts(bad_info.value))


def test_bad_arguments_are_invalid_argument(sim: Simulator) -> None:
    c = openai(sim)
    cases: List[Callable[[], Any]] = [
        lambda: c.chat.completions.create(model="m", messages="hi"),  # type: ignore[arg-type]
        lambda: c.chat.completions.create(model=3, messages=MESSAGES),  # type: ignore[arg-type]
        lambda: create(c, fallback=3),  # a model name is a fallback (issue 11), a number is not
        lambda: create(c, fallback={"model": "x", "retries": 3}),
        lambda: create(c, fallback={"model": "x", "client": "not a client"}),
        lambda: create(c, fallback={"model": "x"}, openpipe={"fallback": {"model": "y"}}),
        lambda: create(c, extra_headers={"X": "1"}),
        lambda: create(c, timeout=-1),
        lambda: failsoft.OpenAI(base_url="http://h/v1", fallback_client="x"),  # type: ignore[arg-type]
        lambda: failsoft.OpenAI(base_url="http://h/v1", max_retries=-1),
        lambda: failsoft.OpenAI(base_url="http://h/v1", stop_statuses=[99]),
    ]
    for case in cases:
        with pytest.raises(failsoft.InvalidArgument):
            case()
    assert sim.count(PRIMARY_CHAT) == 0


def test_env_defaults_of_base_url_and_key(sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", sim.openai_base_url("primary"))
    monkeypatch.setenv("OPENAI_API_KEY", PRIMARY_KEY)
    c = failsoft.OpenAI()
    assert c.base_url == sim.openai_base_url("primary")
    r = c.chat.completions.create(model="m", messages=MESSAGES)
    assert r.choices[0].message.content == PRIMARY_REPLY
    monkeypatch.delenv("OPENAI_BASE_URL")
    assert failsoft.OpenAICompatibleClient().base_url == "https://api.openai.com/v1"


def test_stop_statuses_are_configurable(sim: Simulator) -> None:
    sim.fault("/t/primary", "422")
    r = create(openai(sim, stop_statuses=[400]))
    assert r.served_by.index == 1 and r.attempts[0].status == 422


def test_threads_share_one_client(sim: Simulator) -> None:
    c = openai(sim)
    results: List[Optional[str]] = []
    errors: List[BaseException] = []

    def call() -> None:
        try:
            for _ in range(3):
                results.append(create(c).choices[0].message.content)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    # Four threads: failsoft-sim serves at most four keep-alive connections at once (its HTTP
    # server's worker pool); a fifth waits until one closes, and the pool keeps them open.
    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors and results == [PRIMARY_REPLY] * 12


def test_the_interpreter_exits_promptly_with_calls_in_flight(sim: Simulator) -> None:
    script = Path(__file__).resolve().parent / "scripts" / "exit_llm.py"
    sim.fault("/t/primary", "hang")
    started = time.monotonic()
    out = subprocess.run([sys.executable, str(script), sim.url], capture_output=True, text=True, timeout=30)
    took = time.monotonic() - started
    assert out.returncode == 0 and out.stdout.strip() == "exiting", out.stdout + out.stderr
    assert "panic" not in out.stderr and "Fatal" not in out.stderr, out.stderr
    assert took < 3.0, took


def test_the_fleet_option_reaches_core_which_names_a_bad_one_without_the_password(sim: Simulator) -> None:
    # Core checks every option when the client is made (issue 11: one rule in every language).
    with pytest.raises(failsoft.InvalidArgument) as info:
        openai(sim, fleet={"redis_url": "http://:hunter2@127.0.0.1:1/0"})
    assert "fleet.redis_url" in str(info.value) and "hunter2" not in str(info.value)
    assert sim.count(PRIMARY_CHAT) == 0
