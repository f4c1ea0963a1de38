"""Arguments of the read methods, which parse their own (METH_FASTCALL, see src/args.rs): the
same errors as a Python function's, keywords by interned or run-time names, and the warm path
of every spelling of a read."""

from __future__ import annotations

import inspect
from typing import Any, Dict

import pytest

import failsoft
from simulator import Simulator

PROMPTS = "/api/public/v2/prompts/"


def langfuse(sim: Simulator, **options: Any) -> failsoft.Client:
    source = failsoft.Langfuse(base_url=sim.url, public_key="pk-lf-test", secret_key="sk-lf-test")
    return failsoft.Client(source, **options)


def test_signatures_are_introspectable() -> None:
    sig = inspect.signature(failsoft.Client.get_prompt)
    assert list(sig.parameters) == ["self", "name", "label", "version", "type", "fallback", "cache_ttl_seconds"]
    assert sig.parameters["label"].kind is inspect.Parameter.KEYWORD_ONLY
    assert sig.parameters["type"].default == "text"
    assert list(inspect.signature(failsoft.Client.get).parameters) == ["self", "key", "fallback", "ttl_seconds"]
    assert "Langfuse" in (failsoft.Client.get_prompt.__doc__ or "")


def test_get_prompt_argument_errors_are_type_errors(sim: Simulator) -> None:
    with langfuse(sim) as c:
        with pytest.raises(TypeError, match="missing required argument: 'name'"):
            c.get_prompt()  # type: ignore[call-arg]
        with pytest.raises(TypeError, match="takes 1 positional argument but 2 were given"):
            c.get_prompt("movie-critic", "staging")  # type: ignore[misc]
        with pytest.raises(TypeError, match="unexpected keyword argument 'lable'"):
            c.get_prompt("movie-critic", lable="staging")  # type: ignore[call-arg]
        with pytest.raises(TypeError, match="multiple values for argument 'name'"):
            c.get_prompt("movie-critic", name="other")  # type: ignore[misc]
        with pytest.raises(TypeError, match="'cache_ttl_seconds' must be a number, not str"):
            c.get_prompt("movie-critic", cache_ttl_seconds="60")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="'type' must be str, not int"):
            c.get_prompt("movie-critic", type=1)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="name must be a str"):
            c.get_prompt(3)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="label must be a str"):
            c.get_prompt("movie-critic", label=3)  # type: ignore[arg-type]
        with pytest.raises(failsoft.InvalidArgument, match="version"):
            c.get_prompt("movie-critic", version=-1)
        with pytest.raises(failsoft.InvalidArgument, match="ttl_seconds"):
            c.get_prompt("movie-critic", cache_ttl_seconds=-1)
        # Unbound, with the wrong `self`: CPython's own check.
        with pytest.raises(TypeError):
            failsoft.Client.get_prompt(object(), "movie-critic")  # type: ignore[arg-type]
        assert sim.count(PROMPTS + "movie-critic") == 0


def test_get_argument_errors_are_type_errors(sim: Simulator) -> None:
    with failsoft.Client(failsoft.Http(sim.url + "/kv/{key}")) as c:
        with pytest.raises(TypeError, match="missing required argument: 'key'"):
            c.get()  # type: ignore[call-arg]
        with pytest.raises(TypeError, match="takes 3 positional arguments but 4 were given"):
            c.get("greeting", None, 60, 1)  # type: ignore[call-arg]
        with pytest.raises(TypeError, match="unexpected keyword argument 'ttl'"):
            c.get("greeting", ttl=60)  # type: ignore[call-arg]
        with pytest.raises(TypeError, match="multiple values for argument 'fallback'"):
            c.get("greeting", {}, fallback={})  # type: ignore[misc]
        with pytest.raises(TypeError, match="key must be a str"):
            c.get(b"greeting")  # type: ignore[arg-type]


def test_every_spelling_of_a_read_is_warm_and_the_same_object(sim: Simulator) -> None:
    with langfuse(sim, ttl_seconds=60) as c:
        p = c.get_prompt("movie-critic", fallback="x")
        # Keywords given by name, positionally, or with names built at run time (not interned).
        fb = "".join(["fall", "back"])
        options: Dict[str, Any] = {fb: "x", "".join(["cache_ttl", "_seconds"]): 60}
        assert c.get_prompt(name="movie-critic") is p
        assert c.get_prompt("movie-critic", **options) is p
        assert c.get_prompt("movie-critic", label="production", cache_ttl_seconds=60.0) is p
        assert c.get_prompt("".join(["movie", "-critic"])) is p
        # The same name object as the last read, another name, then the first again (the last
        # name is remembered by identity): each read is its own prompt.
        chat = c.get_prompt("chat-agent", type="chat", fallback=[])
        for name, want in [("movie-critic", p), ("chat-agent", chat), ("movie-critic", p), ("movie-critic", p)]:
            assert c.get_prompt(name) is want
        assert chat is not p and chat.name == "chat-agent"
        staging = c.get_prompt("movie-critic", label="staging")
        v1 = c.get_prompt("movie-critic", version=1)
        assert staging.version == 2 and v1.version == 1 and v1 is not p
        for _ in range(100):
            assert c.get_prompt("movie-critic", label="staging", type="text") is staging
            assert c.get_prompt("movie-critic", version=1) is v1
        # A str subclass is read, but never used as an index key.
        class Name(str):
            pass

        assert c.get_prompt(Name("movie-critic")) is p
        # 1.0 is not version 1, nor is True, even once version 1 is cached.
        with pytest.raises(failsoft.InvalidArgument):
            c.get_prompt("movie-critic", version=1.0)  # type: ignore[arg-type]
        with pytest.raises(failsoft.InvalidArgument):
            c.get_prompt("movie-critic", version=True)
        assert sim.count(PROMPTS + "movie-critic") == 3  # production, staging, version 1


def test_get_keywords_and_explicit_none_fallback(sim: Simulator) -> None:
    with failsoft.Client(failsoft.Http(sim.url + "/kv/{key}"), ttl_seconds=60) as c:
        v = c.get(key="greeting")
        assert c.get("greeting", None) is v
        assert c.get("greeting", ttl_seconds=30) is v
        assert c.get("greeting", **{"".join(["ttl_", "seconds"]): 30}) is v
        # For get, an explicit None is a fallback value (JSON null).
        missing = c.get("missing", None)
        assert missing.is_fallback and missing.value is None
        with pytest.raises(failsoft.NotFound):
            c.get("missing")
        assert sim.count("/kv/greeting") == 1


def test_a_python_exception_in_a_fallback_function_propagates(sim: Simulator) -> None:
    def boom() -> str:
        raise KeyError("from the fallback")

    with langfuse(sim, cold_deadline_seconds=0.5) as c:
        sim.fault("*", "503")
        with pytest.raises(KeyError, match="from the fallback"):
            c.get_prompt("movie-critic", fallback=boom)
