"""The shared scenarios of tests/scenarios/ (SPEC §2-4, §6), run exactly as their README says."""

from __future__ import annotations

import os
import time
from typing import Any, Dict

import pytest

import failsoft
from conftest import load_json
from simulator import Simulator

CACHE = load_json("cache.json")
TEMPLATES = load_json("templates.json")
LLM = load_json("llm.json")

# Wall-time bounds (`max_ms`) are the scenario's; a loaded CI machine may widen them.
SLACK_MS = float(os.environ.get("FAILSOFT_TIMING_SLACK_MS", "0"))

_MISSING = object()


def check_value(v: failsoft.Value, expect: Dict[str, Any], where: str) -> None:
    if "source" in expect:
        assert v.source == expect["source"], f"{where}: source {v.source!r} != {expect['source']!r} ({v!r})"
    if "is_fallback" in expect:
        assert v.is_fallback is expect["is_fallback"], f"{where}: is_fallback {v.is_fallback} ({v!r})"
    if "version" in expect:
        assert v.version == expect["version"], f"{where}: version {v.version!r} != {expect['version']!r}"
    if "value" in expect:
        assert v.value == expect["value"], f"{where}: value {v.value!r} != {expect['value']!r}"
    if "error" in expect:
        assert v.error is not None, f"{where}: expected error {expect['error']}, the value has none ({v!r})"
        assert v.error.kind == expect["error"], f"{where}: error {v.error!r} is not {expect['error']}"


def holds(client: failsoft.Client, step: Dict[str, Any]) -> bool:
    until = step["until"]
    if "key" in step:
        try:
            v = read(client, step)
        except failsoft.Error:
            return False
        try:
            check_value(v, {k: x for k, x in until.items() if not k.startswith("status_")}, "poll")
        except AssertionError:
            return False
    status = client.status()
    if "status_state" in until and status["state"] != until["status_state"]:
        return False
    if "status_error" in until:
        last = status["last_error"]
        if last is None or last["kind"] != until["status_error"]:
            return False
    return True


def read(client: failsoft.Client, step: Dict[str, Any]) -> failsoft.Value:
    if "fallback" in step:
        return client.get(step["key"], fallback=step["fallback"])
    return client.get(step["key"])


def run_step(sim: Simulator, client: failsoft.Client, step: Dict[str, Any], where: str) -> None:
    op = step["op"]
    if op == "get":
        for i in range(step.get("repeat", 1)):
            at = f"{where} (read {i + 1})"
            started = time.monotonic()
            if "expect_error" in step:
                with pytest.raises(failsoft.Error) as info:
                    read(client, step)
                assert info.value.kind == step["expect_error"], f"{at}: {info.value!r}"
                assert isinstance(info.value, getattr(failsoft, step["expect_error"]))
            else:
                v = read(client, step)
                check_value(v, step.get("expect", {}), at)
            ms = (time.monotonic() - started) * 1000
            if "max_ms" in step:
                assert ms <= step["max_ms"] + SLACK_MS, f"{at}: took {ms:.1f} ms > {step['max_ms']} ms"
            if "min_ms" in step:
                assert ms >= step["min_ms"], f"{at}: took {ms:.1f} ms < {step['min_ms']} ms"
    elif op == "poll":
        deadline = time.monotonic() + step["timeout_ms"] / 1000
        while not holds(client, step):
            assert time.monotonic() < deadline, f"{where}: {step['until']} not reached in {step['timeout_ms']} ms"
            time.sleep(0.01)
    elif op == "fault":
        options = {"delay_ms": step["delay_ms"]} if "delay_ms" in step else {}
        sim.fault(step["route"], step["mode"], **options)
    elif op == "sleep":
        time.sleep(step["ms"] / 1000)
    elif op == "set_kv":
        sim.set_kv(step["key"], step["value"], step["version"])
    elif op == "delete_kv":
        sim.delete_kv(step["key"])
    elif op == "count":
        n = sim.count(step["path"])
        assert n == step["expect"], f"{where}: {step['path']} was requested {n} times, expected {step['expect']}"
    elif op == "status":
        state = client.status()["state"]
        assert state == step["expect"]["state"], f"{where}: status {state!r}"
    elif op == "prefetch":
        if "expect_error" not in step:
            client.prefetch(step["keys"])
        else:
            with pytest.raises(failsoft.PrefetchError) as info:
                client.prefetch(step["keys"])
            kinds = [e.kind for e in info.value.failures.values()]
            assert step["expect_error"] in kinds, f"{where}: failures {info.value.failures!r}"
            assert step.get("error_mentions", "") in str(info.value), f"{where}: {info.value}"
    else:
        raise AssertionError(f"{where}: unknown op {op!r}")


@pytest.mark.parametrize("scenario", CACHE["scenarios"], ids=[s["name"] for s in CACHE["scenarios"]])
def test_cache_scenario(scenario: Dict[str, Any]) -> None:
    with Simulator(CACHE["fixture"]) as sim:
        with failsoft.Client(failsoft.Http(sim.url + "/kv/{key}"), **scenario["client"]) as client:
            for i, step in enumerate(scenario["steps"]):
                run_step(sim, client, step, f"{scenario['name']} step {i + 1} {step['op']}")


@pytest.mark.parametrize("case", TEMPLATES["cases"], ids=[c["name"] for c in TEMPLATES["cases"]])
def test_template_vector(case: Dict[str, Any]) -> None:
    name = case["name"]
    chat = "messages" in case
    if "variables_used" in case:
        used = failsoft.chat_variables(case["messages"]) if chat else failsoft.variables(case["template"])
        assert used == case["variables_used"], name

    def run() -> Any:
        if chat:
            return failsoft.compile_chat(
                case["messages"], placeholders=case.get("placeholders"), strict=case["strict"], **case["variables"]
            )
        return failsoft.compile(case["template"], strict=case["strict"], **case["variables"])

    if case["error"] is None:
        assert run() == case["expected"], name
    else:
        with pytest.raises(failsoft.Error) as info:
            run()
        assert info.value.kind == case["error"]["kind"], f"{name}: {info.value!r}"
        for s in case["error"]["contains"]:
            assert s in str(info.value), f"{name}: {s!r} not in {info.value}"


def test_every_scenario_op_is_known() -> None:
    known = {"get", "poll", "fault", "sleep", "set_kv", "delete_kv", "count", "status", "prefetch"}
    ops = {step["op"] for s in CACHE["scenarios"] for step in s["steps"]}
    assert ops <= known, ops - known


# ---------------------------------------------------------------------------------------------
# llm.json: LLM fallback under provider faults (SPEC §8), through failsoft.OpenAI.


def _llm_call(sim: Simulator, scenario: Dict[str, Any]) -> Dict[str, Any]:
    """Runs the scenario's call; returns what llm.json's expectations name."""
    key = "sk-scenario-key"
    kwargs: Dict[str, Any] = dict(scenario.get("call", {}))
    messages = [{"role": "user", "content": "hi"}]
    out: Dict[str, Any] = {"text": "", "restarts": 0, "error": None}
    fallback = scenario.get("fallback", {"model": "m"})
    try:
        client = failsoft.OpenAI(
            base_url=sim.openai_base_url("primary"),
            api_key=key,
            fallback_client=failsoft.OpenAICompatibleClient(base_url=sim.openai_base_url("fallback"), api_key=key),
            **scenario.get("options", {}),
        )
        if not scenario.get("stream"):
            r = client.chat.completions.create(model="m", messages=messages, fallback=fallback)
            out.update(text=r.choices[0].message.content, served_by=r.served_by.index, attempts=r.attempts)
            return out
        s = client.chat.completions.create(model="m", messages=messages, fallback=fallback, stream=True, **kwargs)
    except failsoft.InvalidArgument as e:
        if "invalid_option" in scenario["expect"]:
            out["invalid"] = e
            return out
        out.update(error=e, attempts=e.attempts)
        return out
    except failsoft.Error as e:
        out.update(error=e, attempts=e.attempts)
        return out
    try:
        for chunk in s:
            if chunk.is_restart:
                out["text"] = ""
            out["text"] += chunk.choices[0].delta.content or "" if chunk.choices else ""
    except failsoft.Error as e:
        out["error"] = e
    out.update(served_by=s.served_by.index, restarts=s.restarts, attempts=s.attempts)
    return out


@pytest.mark.parametrize("scenario", LLM["scenarios"], ids=lambda s: s["name"])
def test_llm_scenario(scenario: Dict[str, Any]) -> None:
    name, expect = scenario["name"], scenario["expect"]
    with Simulator(LLM["fixture"]) as sim:
        if "reply" in scenario:
            sim.set_openai(reply=scenario["reply"])
        for f in scenario.get("faults", []):
            sim.fault(**f)
        start = time.monotonic()
        out = _llm_call(sim, scenario)
        took_ms = (time.monotonic() - start) * 1000
        if "invalid_option" in expect:
            e = out.get("invalid")
            assert e is not None, f"{name}: no InvalidArgument ({out})"
            assert expect["invalid_option"] in str(e), f"{name}: {e}"
            return
        if "max_ms" in scenario:
            assert took_ms <= scenario["max_ms"] + SLACK_MS, f"{name}: took {took_ms:.0f} ms"
        e = out["error"]
        if "error_kind" in expect:
            assert e is not None, f"{name}: no error ({out})"
            assert e.kind == expect["error_kind"], f"{name}: {e!r}"
            assert expect.get("error_contains", "") in e.message, f"{name}: {e.message}"
        else:
            assert e is None, f"{name}: {e!r}"
        if "text" in expect:
            assert out["text"] == expect["text"], name
        if "text_starts_with" in expect:
            assert out["text"].startswith(expect["text_starts_with"]), f"{name}: {out['text']}"
        if "text_ends_with" in expect:
            assert out["text"].endswith(expect["text_ends_with"]), f"{name}: {out['text']}"
        if "served_by" in expect:
            assert out["served_by"] == expect["served_by"], name
        if "restarts" in expect:
            assert out["restarts"] == expect["restarts"], name
        if "classes" in expect:
            assert [a.error_class for a in out["attempts"]] == expect["classes"], f"{name}: {out['attempts']}"
        for target, n in expect.get("hits", {}).items():
            assert sim.count(f"/t/{target}/v1/chat/completions") == n, f"{name}: hits on {target}"


# config.json: typed configuration (SPEC §7) through Client.get_or_create_config. Every field is
# annotated `Any`, so what is checked is the core's type rule, not Python's annotations.
CONFIG = load_json("config.json")


def _config_class(fallback: Dict[str, Any]) -> type:
    return type("ScenarioConfig", (failsoft.Config,), {"__annotations__": {k: Any for k in fallback}, **fallback})


@pytest.mark.parametrize("scenario", CONFIG["scenarios"], ids=[s["name"] for s in CONFIG["scenarios"]])
def test_config_scenario(scenario: Dict[str, Any]) -> None:
    name = scenario["name"]
    with Simulator(CONFIG["fixture"]) as sim:
        for f in scenario.get("faults", []):
            sim.fault(**f)
        source = failsoft.Opik(base_url=sim.url, project_name="agent")
        with failsoft.Client(source, cold_deadline_seconds=2) as client:
            fallback = _config_class(scenario["fallback"])()
            read = lambda: client.get_or_create_config(  # noqa: E731
                fallback, env=scenario.get("env"), version=scenario.get("version")
            )
            want = scenario.get("expect_error")
            if want is not None:
                with pytest.raises(failsoft.Error) as info:
                    read()
                assert info.value.kind == want["kind"], f"{name}: {info.value!r}"
                if "key" in want:
                    assert info.value.key == want["key"], f"{name}: {info.value!r}"
                for text in want.get("contains", []):
                    assert text in str(info.value), f"{name}: {text!r} not in {info.value}"
                return
            cfg = read()
            expect = scenario["expect"]
            assert cfg.is_fallback == (expect["source"] == "fallback"), name
            if "is_fallback" in expect:
                assert cfg.is_fallback == expect["is_fallback"], name
            for field, value in expect["value"].items():
                assert getattr(cfg, field) == value, f"{name}: {field} = {getattr(cfg, field)!r}"
