"""The simulator answers like an OpenAI-compatible server: the official `openai` package, pointed at
it, gets the same completion and the same stream chunks as `failsoft chat --json` does.

    FAILSOFT_SIM_BIN=target/release/failsoft-sim FAILSOFT_BIN=target/release/failsoft \
        python -m pytest tests/sdk_compat/openai_sdk_compat.py
"""

import json
import os
import pathlib
import subprocess

import openai
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
KEY = "sk-test-compat"
MESSAGES = [{"role": "user", "content": "Count to 3"}]
# Generated per answer by the server, so never equal between two calls.
VOLATILE = {"id", "created", "system_fingerprint"}


def _binary(env_name, default):
    path = os.environ.get(env_name) or str(ROOT / "target" / "debug" / default)
    if not os.path.exists(path):
        pytest.skip(f"{env_name} is not set and {path} does not exist")
    return path


@pytest.fixture(scope="module")
def sim():
    proc = subprocess.Popen([_binary("FAILSOFT_SIM_BIN", "failsoft-sim"), "--exit-on-stdin-eof"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        yield json.loads(proc.stdout.readline())
    finally:
        proc.stdin.close()
        proc.wait(5)


def failsoft_chat(base_url, *extra):
    out = subprocess.run(
        [_binary("FAILSOFT_BIN", "failsoft"), "chat", "Count to 3", "--base-url", base_url, "--api-key", KEY,
         "--model", "gpt-4o-mini", "--json", *extra],
        check=True, capture_output=True, text=True, timeout=30)
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def stable(d):
    return {k: v for k, v in d.items() if k not in VOLATILE and v is not None}


def test_completion_matches_the_openai_sdk(sim):
    base = sim["url"] + "/t/primary/v1"
    sdk = openai.OpenAI(base_url=base, api_key=KEY, max_retries=0).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES)
    [ours] = failsoft_chat(base)
    theirs = sdk.model_dump(exclude_none=True)
    assert stable(ours).keys() == stable(theirs).keys()
    assert ours["object"] == theirs["object"] == "chat.completion"
    assert ours["model"] == theirs["model"] == "gpt-4o-mini"
    assert ours["choices"][0]["message"]["content"] == sdk.choices[0].message.content
    assert ours["choices"][0]["finish_reason"] == sdk.choices[0].finish_reason
    assert ours["usage"] == theirs["usage"]


def test_stream_chunks_match_the_openai_sdk(sim):
    base = sim["url"] + "/t/primary/v1"
    stream = openai.OpenAI(base_url=base, api_key=KEY, max_retries=0).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True)
    theirs = [c.model_dump(exclude_none=True) for c in stream]
    ours = failsoft_chat(base, "--stream")
    assert len(ours) == len(theirs) > 2
    for a, b in zip(ours, theirs):
        assert a["object"] == b["object"] == "chat.completion.chunk"
        assert a["choices"][0].get("delta", {}) == b["choices"][0].get("delta", {})
        assert a["choices"][0].get("finish_reason") == b["choices"][0].get("finish_reason")
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in ours)
    assert text.startswith("Hello from the simulator")


def test_errors_have_openai_s_shape(sim):
    base = sim["url"] + "/t/broken/v1"
    with pytest.raises(openai.AuthenticationError) as info:
        openai.OpenAI(base_url=base, api_key="", max_retries=0).chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, extra_headers={"Authorization": ""})
    assert info.value.status_code == 401
