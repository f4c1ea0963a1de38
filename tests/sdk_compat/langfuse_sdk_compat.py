"""failsoft reads what the official SDKs read.

Starts the simulator, reads prompts with the official `langfuse` Python SDK and Opik agent
configs with the official `opik` package's REST client, and compares every field with
`failsoft get --source langfuse|opik ...`.

    pip install -r tests/sdk_compat/requirements.txt
    cargo build -p failsoft-sim -p failsoft-cli
    FAILSOFT_SIM_BIN=target/debug/failsoft-sim FAILSOFT_BIN=target/debug/failsoft \
        python -m pytest tests/sdk_compat/langfuse_sdk_compat.py

Without the two variables, `target/debug/` of this checkout is used when the binaries exist;
otherwise the tests are skipped.
"""

import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
# The default fixture's Langfuse keys (tests/simulator/README.md).
PK, SK = "pk-lf-test", "sk-lf-test"


def _binary(env_name, default):
    path = os.environ.get(env_name) or str(ROOT / "target" / "debug" / default)
    if not os.path.exists(path):
        pytest.skip(f"{env_name} is not set and {path} does not exist (cargo build -p failsoft-sim -p failsoft-cli)")
    return path


@pytest.fixture(scope="module")
def sim():
    proc = subprocess.Popen(
        [_binary("FAILSOFT_SIM_BIN", "failsoft-sim"), "--exit-on-stdin-eof"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        urls = json.loads(proc.stdout.readline())
        yield urls
    finally:
        proc.stdin.close()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    # The SDKs prefer these over their arguments; the test decides where they point.
    for name in [
        "LANGFUSE_BASE_URL", "LANGFUSE_HOST", "LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY",
        "OPIK_URL_OVERRIDE", "OPIK_API_KEY", "OPIK_WORKSPACE", "OPIK_PROJECT_NAME",
        "FAILSOFT_TTL_SECONDS", "FAILSOFT_SNAPSHOT_DIR",
    ]:
        monkeypatch.delenv(name, raising=False)


def failsoft_get(url, source, key, *flags, env=None):
    """`failsoft get` as JSON: {"value","source","is_fallback","version","age","error","key"}."""
    run_env = dict(os.environ, **(env or {}))
    out = subprocess.run(
        [_binary("FAILSOFT_BIN", "failsoft"), "get", "--source", source, "--url", url, key, *flags],
        capture_output=True, text=True, env=run_env, timeout=30,
    )
    assert out.returncode == 0, f"failsoft get failed ({out.returncode}): {out.stderr}"
    return json.loads(out.stdout)


# ---------------------------------------------------------------------------------------------
# Langfuse


def langfuse_client(url):
    from langfuse import Langfuse

    return Langfuse(public_key=PK, secret_key=SK, host=url, tracing_enabled=False)


def failsoft_prompt(url, name, label=None, version=None):
    flags = []
    if label is not None:
        flags += ["--label", label]
    if version is not None:
        flags += ["--version", str(version)]
    return failsoft_get(url, "langfuse", name, *flags,
                        env={"LANGFUSE_PUBLIC_KEY": PK, "LANGFUSE_SECRET_KEY": SK})


def chat_items(items):
    """Chat items as (kind, role or placeholder name, content): the SDK tags messages
    `type: "message"`, the API (and failsoft) `type: "chatmessage"`; the rest must match."""
    out = []
    for item in items:
        if item.get("type") == "placeholder":
            out.append(("placeholder", item["name"], None))
        else:
            out.append(("message", item["role"], item["content"]))
    return out


@pytest.mark.parametrize(
    "name,label,version,kind",
    [
        ("movie-critic", None, None, "text"),
        ("movie-critic", "production", None, "text"),
        ("movie-critic", "staging", None, "text"),
        ("movie-critic", "latest", None, "text"),
        ("movie-critic", None, 1, "text"),
        ("movie-critic", None, 2, "text"),
        ("folder/x y ü", None, None, "text"),
        ("chat-agent", None, None, "chat"),
        ("chat-agent", "production", None, "chat"),
    ],
)
def test_langfuse_prompt_fields_match_the_sdk(sim, name, label, version, kind):
    lf = langfuse_client(sim["url"])
    sdk = lf.get_prompt(name, label=label, version=version, type=kind, cache_ttl_seconds=0, max_retries=0)
    assert not sdk.is_fallback

    got = failsoft_prompt(sim["url"], name, label, version)
    assert got["source"] == "fresh" and got["is_fallback"] is False and got["error"] is None
    fs = got["value"]

    assert fs["name"] == sdk.name
    assert fs["version"] == sdk.version == got["version"]
    assert fs["type"] == kind
    assert fs["config"] == sdk.config
    assert fs["labels"] == sdk.labels
    assert fs["tags"] == sdk.tags
    assert fs["commit_message"] == sdk.commit_message
    if kind == "text":
        assert fs["prompt"] == sdk.prompt
    else:
        assert chat_items(fs["prompt"]) == chat_items(sdk.prompt)


def test_langfuse_fallback_matches_the_sdk(sim):
    """A prompt that does not exist: both answer the caller's fallback, version 0, config {}."""
    lf = langfuse_client(sim["url"])
    sdk = lf.get_prompt("no-such-prompt", fallback="Hi {{name}}", cache_ttl_seconds=0, max_retries=0)
    assert sdk.is_fallback
    got = failsoft_get(sim["url"], "langfuse", "no-such-prompt", "--fallback",
                       json.dumps({"name": "no-such-prompt", "version": 0, "type": "text", "prompt": "Hi {{name}}",
                                   "config": {}, "labels": [], "tags": [], "commit_message": None}),
                       env={"LANGFUSE_PUBLIC_KEY": PK, "LANGFUSE_SECRET_KEY": SK})
    assert got["is_fallback"] is True
    assert got["error"]["kind"] == "NotFound"
    fs = got["value"]
    assert (fs["version"], fs["prompt"], fs["config"], fs["labels"]) == (sdk.version, sdk.prompt, sdk.config, sdk.labels)


# ---------------------------------------------------------------------------------------------
# Opik: the official package's REST client (`opik.rest_api.OpikApi`) and its blueprint decoding
# (`opik.api_objects.agent_config.blueprint.Blueprint`) work against the simulator; the full
# `opik.Opik().get_or_create_config` needs a `@opik.track` context and the tracing backend, so it
# is not driven here.


def opik_api(url):
    from opik.rest_api import OpikApi

    return OpikApi(base_url=url)


def opik_blueprint(api, project, env=None, name=None):
    """The SDK's decoded values (prompts left as their commit: see below)."""
    from opik.api_objects.agent_config.blueprint import Blueprint

    project_id = api.projects.retrieve_project(name=project).id
    if name is not None:
        raw = api.agent_configs.get_blueprint_by_name(project_id=project_id, name=name)
    elif env is not None:
        raw = api.agent_configs.get_blueprint_by_env(env_name=env, project_id=project_id)
    else:
        raw = api.agent_configs.get_latest_blueprint(project_id=project_id)
    # rest_client_=None: no prompt resolution. The simulator's `prompts/by-commit` answers a flat
    # prompt version, while Opik (and so its SDK) uses a PromptDetail with `requested_version`,
    # which the SDK cannot read from the simulator. failsoft accepts both shapes.
    return raw, Blueprint(raw_blueprint=raw, rest_client_=None)


@pytest.mark.parametrize(
    "flags,env,name",
    [([], "prod", None), (["--env", "staging"], "staging", None), (["--version", "v1"], None, "v1"),
     (["--version", "latest"], None, None)],
)
def test_opik_values_match_the_sdk(sim, flags, env, name):
    api = opik_api(sim["url"])
    raw, bp = opik_blueprint(api, "my-agent", env=env, name=name)
    got = failsoft_get(sim["url"], "opik", "my-agent", *flags)
    assert got["source"] == "fresh" and got["error"] is None
    fs = got["value"]
    assert set(fs) == set(bp.keys())
    assert got["version"] == int(bp.name.lstrip("v"))
    types = {v.key: v.type for v in raw.values}
    for key, value in bp.values.items():
        if types[key] in ("prompt", "prompt_commit"):
            assert fs[key]["commit"] == value
            assert fs[key]["prompt"]  # resolved by failsoft
        else:
            assert fs[key] == value, key
            assert type(fs[key]) is type(value), key


def test_failsoft_reads_a_config_the_opik_sdk_created(sim):
    """The SDK's own create path (typed values, first version tagged prod) read by failsoft."""
    from opik.api_objects.agent_config.config import ConfigManager

    api = opik_api(sim["url"])
    manager = ConfigManager(project_name="sdk-created", rest_client_=api)
    created = manager.create_blueprint(parameters={
        "model": "gpt-4o", "max_tokens": 64, "temperature": 0.25, "stream": False,
    })
    got = failsoft_get(sim["url"], "opik", "sdk-created")
    assert got["value"] == created.values == {"model": "gpt-4o", "max_tokens": 64, "temperature": 0.25, "stream": False}
    assert got["version"] == int(created.name.lstrip("v"))
