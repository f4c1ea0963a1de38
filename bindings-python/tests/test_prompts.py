"""get_prompt against the simulator's Langfuse: fields, labels and versions, chat prompts,
fallbacks (values and functions), errors, and failsoft.Prompt made by hand."""

from __future__ import annotations

import time
from typing import Any, List

import pytest

import failsoft
from conftest import poll
from simulator import Simulator

PROMPTS = "/api/public/v2/prompts/"


def langfuse(sim: Simulator, **options: Any) -> failsoft.Client:
    source = failsoft.Langfuse(base_url=sim.url, public_key="pk-lf-test", secret_key="sk-lf-test")
    return failsoft.Client(source, **options)


def test_text_prompt_fields_and_compile(sim: Simulator) -> None:
    with langfuse(sim) as c:
        p = c.get_prompt("movie-critic")
        assert (p.name, p.version, p.type, p.source) == ("movie-critic", 1, "text", "fresh")
        assert p.prompt == "Do you like {{movie}}?" and str(p) == p.prompt
        assert p.config == {"temperature": 0.7} and p.labels == ["production"] and p.tags == ["movies"]
        assert p.commit_message is None and not p.is_fallback and p.error is None
        assert p.age_seconds is not None and p.age_seconds < 5
        assert p.variables == ["movie"]
        assert p.compile(movie="Dune") == "Do you like Dune?"
        assert p.compile() == "Do you like {{movie}}?"
        with pytest.raises(failsoft.InvalidArgument, match="movie"):
            p.compile(strict=True)
        with pytest.raises(AttributeError):
            p.version = 3  # type: ignore[misc]


def test_warm_get_prompt_returns_the_same_object_without_io(sim: Simulator) -> None:
    with langfuse(sim, ttl_seconds=60) as c:
        p = c.get_prompt("movie-critic")
        for _ in range(200):
            assert c.get_prompt("movie-critic") is p
        # No label and label "production" are one cache entry, one request.
        assert c.get_prompt("movie-critic", label="production") is p
        assert sim.count(PROMPTS + "movie-critic") == 1


def test_labels_and_versions(sim: Simulator) -> None:
    with langfuse(sim) as c:
        staging = c.get_prompt("movie-critic", label="staging")
        assert staging.version == 2 and staging.commit_message == "ask for the critic level"
        assert staging.variables == ["criticLevel", "movie"]
        assert c.get_prompt("movie-critic", version=1).prompt == "Do you like {{movie}}?"
        assert c.get_prompt("movie-critic", label="latest").version == 2
        with pytest.raises(failsoft.InvalidArgument):
            c.get_prompt("movie-critic", label="staging", version=1)
        with pytest.raises(failsoft.InvalidArgument, match="label"):
            c.get_prompt("movie-critic", label="Not A Label")
        assert c.get_prompt("folder/x y ü").compile(thing="ok") == "Special ok"


def test_chat_prompt_and_placeholders(sim: Simulator) -> None:
    with langfuse(sim) as c:
        p = c.get_prompt("chat-agent", type="chat")
        assert p.type == "chat" and p.variables == ["role", "question"]
        history = [{"role": "user", "content": "earlier"}, {"role": "assistant", "content": "reply"}]
        out = p.compile(role="a critic", question="Dune?", placeholders={"history": history})
        assert out == [
            {"role": "system", "content": "You are a critic.", "type": "chatmessage"},
            {"role": "user", "content": "earlier"},
            {"role": "assistant", "content": "reply"},
            {"role": "user", "content": "Dune?", "type": "chatmessage"},
        ]
        out.append({"role": "user", "content": "mine"})  # a new, mutable list
        assert p.compile(role="x", question="y", placeholders={"history": []})[1]["content"] == "y"
        with pytest.raises(failsoft.InvalidArgument, match="history"):
            p.compile(role="x", question="y", strict=True)


def test_text_fallback_when_the_backend_is_down(sim: Simulator) -> None:
    sim.fault("*", "refused")
    with langfuse(sim) as c:
        started = time.monotonic()
        p = c.get_prompt("movie-critic", fallback="Do you like {{movie}}?")
        assert time.monotonic() - started < 0.5
        assert p.is_fallback and p.source == "fallback" and p.version == 0 and p.age_seconds is None
        assert p.error is not None and p.error.kind == "Unavailable"
        assert p.labels == [] and p.config == {}
        assert p.compile(movie="Dune") == "Do you like Dune?"
        with pytest.raises(failsoft.Unavailable):
            c.get_prompt("movie-critic")
        sim.fault("*", "healthy")
        poll(lambda: not c.get_prompt("movie-critic", fallback="fb").is_fallback)


def test_chat_fallback_function_and_config(sim: Simulator) -> None:
    calls: List[int] = []

    def make() -> Any:
        calls.append(1)
        return {"prompt": [{"role": "system", "content": "Be {{tone}}"}], "config": {"model": "m"}}

    with langfuse(sim) as c:
        assert not c.get_prompt("chat-agent", type="chat", fallback=make).is_fallback
        assert calls == []
        p = c.get_prompt("no-such-chat", type="chat", fallback=make)
        assert calls == [1] and p.is_fallback and p.type == "chat" and p.config == {"model": "m"}
        assert p.error is not None and p.error.kind == "NotFound"
        assert p.compile(tone="kind") == [{"role": "system", "content": "Be kind"}]


def test_fallback_of_the_wrong_type_is_refused(sim: Simulator) -> None:
    with langfuse(sim) as c:
        with pytest.raises(failsoft.InvalidArgument, match="chat"):
            c.get_prompt("movie-critic", fallback=[{"role": "user", "content": "x"}])
        with pytest.raises(failsoft.InvalidArgument):
            c.get_prompt("movie-critic", type="chat", fallback="text")
        with pytest.raises(failsoft.InvalidArgument):
            c.get_prompt("movie-critic", type="other")  # type: ignore[arg-type]


def test_missing_prompt_and_bad_credentials(sim: Simulator) -> None:
    with langfuse(sim) as c:
        with pytest.raises(failsoft.NotFound) as info:
            c.get_prompt("nope")
        assert info.value.key == "nope" and info.value.status == 404
    bad = failsoft.Langfuse(base_url=sim.url, public_key="pk-lf-test", secret_key="wrong-secret")
    with failsoft.Client(bad) as c:
        p = c.get_prompt("movie-critic", fallback="fb")
        assert p.is_fallback and p.error is not None and p.error.kind == "Unauthorized"
        assert "wrong-secret" not in str(p.error)
        poll(lambda: c.status()["state"] == "fatal")


def test_hung_backend_costs_the_cold_deadline(sim: Simulator) -> None:
    sim.fault("*", "hang")
    with langfuse(sim, cold_deadline_seconds=0.3) as c:
        started = time.monotonic()
        p = c.get_prompt("movie-critic", fallback="fb")
        took = time.monotonic() - started
        assert p.is_fallback and p.error is not None and p.error.kind == "Timeout"
        assert 0.28 <= took < 0.8, took
    sim.fault("*", "healthy")


def test_new_version_is_picked_up(sim: Simulator) -> None:
    with langfuse(sim, ttl_seconds=0.1) as c:
        first = c.get_prompt("movie-critic")
        sim.publish_prompt({"name": "movie-critic", "prompt": "v3 {{movie}}", "labels": ["production"]})
        poll(lambda: c.get_prompt("movie-critic").version == 3)
        p = c.get_prompt("movie-critic")
        assert p is not first and p.prompt == "v3 {{movie}}" and first.version == 1


def test_langfuse_environment_variables(sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGFUSE_BASE_URL", sim.url)
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", "pk-lf-test")
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", "sk-lf-test")
    monkeypatch.setenv("LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS", "42")
    with failsoft.Client(failsoft.Langfuse()) as c:
        assert c.ttl_seconds == 42
        assert c.get_prompt("movie-critic").version == 1


def test_prompt_made_by_hand() -> None:
    p = failsoft.Prompt("greet", "Hi {{name}}", config={"model": "m"})
    assert p.is_fallback and p.version == 0 and p.type == "text" and p.config == {"model": "m"}
    assert p.compile(name="Ann") == "Hi Ann" and str(p) == "Hi {{name}}"
    assert p == failsoft.Prompt("greet", "Hi {{name}}", config={"model": "m"}) and hash(p) == hash(p)
    chat = failsoft.Prompt("c", [{"role": "system", "content": "{{x}}"}, {"type": "placeholder", "name": "h"}])
    assert chat.type == "chat" and chat.variables == ["x"]
    assert chat.to_json()["prompt"][1] == {"type": "placeholder", "name": "h"}
    with pytest.raises(failsoft.InvalidArgument):
        failsoft.Prompt("bad", 3)  # type: ignore[arg-type]
    with pytest.raises(failsoft.InvalidArgument):
        failsoft.Prompt("bad", "x", type="chat")
