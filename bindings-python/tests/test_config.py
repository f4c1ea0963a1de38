"""Typed configuration (SPEC §7): coercion and errors of failsoft.Config, and
get_or_create_config against the simulator's Opik."""

from __future__ import annotations

import pickle
from typing import Any, Dict, List, Literal, Optional, Union

import pytest

import failsoft
from simulator import Simulator


class Agent(failsoft.Config):
    model: str = "gpt-4o-mini"
    max_tokens: int = 100
    temperature: float = 0.7
    use_tools: bool = False
    system_prompt: Optional[failsoft.Prompt] = None


class Nested(failsoft.Config):
    name: str = "n"
    weight: float = 1


class Everything(failsoft.Config):
    text: str
    count: int = 1
    ratio: float = 0.5
    flag: bool = True
    maybe: Optional[int] = None
    either: Union[int, str] = 0
    mode: Literal["fast", "slow"] = "fast"
    items: List[int] = []
    plain_list: list = []  # type: ignore[type-arg]
    mapping: Dict[str, float] = {}
    anything: Any = None
    prompt: failsoft.Prompt = failsoft.Prompt("p", "hello")
    nested: Nested = Nested()


def opik(sim: Simulator, project: str = "my-agent", **options: Any) -> failsoft.Client:
    return failsoft.Client(failsoft.Opik(base_url=sim.url, project_name=project), **options)


def test_fields_are_coerced_to_their_annotations() -> None:
    e = Everything(text="t", count=3.0, ratio=2, items=(1, 2), mapping={"a": 1}, nested={"name": "x"}, prompt="Hi {{x}}")
    assert e.count == 3 and type(e.count) is int
    assert e.ratio == 2.0 and type(e.ratio) is float
    assert e.items == [1, 2] and isinstance(e.items, failsoft.FrozenList)
    assert e.mapping == {"a": 1.0} and isinstance(e.mapping["a"], float)
    assert isinstance(e.nested, Nested) and e.nested.name == "x" and e.nested.weight == 1.0
    assert isinstance(e.prompt, failsoft.Prompt) and e.prompt.name == "prompt" and e.prompt.variables == ["x"]
    assert e.either == 0 and Everything(text="t", either="s").either == "s"
    assert Everything(text="t", maybe=None).maybe is None and Everything(text="t", maybe=4).maybe == 4
    assert not e.is_fallback


@pytest.mark.parametrize(
    "values, field",
    [
        ({"text": 3}, "text"),
        ({"text": "t", "count": "3"}, "count"),
        ({"text": "t", "count": 2.5}, "count"),
        ({"text": "t", "count": True}, "count"),
        ({"text": "t", "ratio": "0.5"}, "ratio"),
        ({"text": "t", "flag": 1}, "flag"),
        ({"text": "t", "flag": "true"}, "flag"),
        ({"text": "t", "maybe": "x"}, "maybe"),
        ({"text": "t", "mode": "medium"}, "mode"),
        ({"text": "t", "items": [1, "2"]}, "items[1]"),
        ({"text": "t", "plain_list": {"a": 1}}, "plain_list"),
        ({"text": "t", "mapping": {"a": "b"}}, "mapping['a']"),
        ({"text": "t", "prompt": 3}, "prompt"),
        ({"text": "t", "nested": {"weight": "heavy"}}, "nested.weight"),
    ],
)
def test_a_mistyped_field_is_an_error_naming_it(values: Dict[str, Any], field: str) -> None:
    with pytest.raises(failsoft.InvalidArgument) as info:
        Everything(**values)
    assert f"Everything.{field}" in str(info.value) or field in str(info.value), str(info.value)


def test_a_missing_or_unknown_field_is_an_error_naming_it() -> None:
    with pytest.raises(failsoft.InvalidArgument, match=r"Everything\.text: missing"):
        Everything()
    with pytest.raises(failsoft.InvalidArgument, match="colour"):
        Agent(colour="red")


def test_configs_are_immutable_values() -> None:
    a = Agent(model="m")
    with pytest.raises(TypeError):
        a.model = "x"
    assert a == Agent(model="m") and a != Agent(model="n")
    assert "model='m'" in repr(a) and "is_fallback=False" in repr(a)
    assert pickle.loads(pickle.dumps(a)) == a
    assert a.to_dict() == {"model": "m", "max_tokens": 100, "temperature": 0.7, "use_tools": False, "system_prompt": None}


def test_get_or_create_reads_typed_values(sim: Simulator) -> None:
    with opik(sim) as c:
        cfg = c.get_or_create_config(fallback=Agent())
        assert isinstance(cfg, Agent) and not cfg.is_fallback
        assert (cfg.model, cfg.max_tokens, cfg.temperature, cfg.use_tools) == ("gpt-4o-mini", 256, 0.2, True)
        assert type(cfg.temperature) is float
        assert cfg.system_prompt is not None and cfg.system_prompt.compile(role="a critic") == "You are a critic."
        assert c.get_or_create_config(fallback=Agent()) is cfg  # warm: the same object
        staging = c.get_or_create_config(fallback=Agent(), env="staging")
        assert staging.model == "gpt-4o" and staging.use_tools is False
        assert c.get_or_create_config(Agent(), version=1).model == "gpt-4o-mini"
        assert c.get_or_create_config(Agent(), version="v2").model == "gpt-4o"
        assert c.get_or_create_config(Agent, version="latest").max_tokens == 512


def test_one_version_spelled_two_ways_is_one_typed_config(sim: Simulator) -> None:
    # `1`, "1" and "v1" are one key in core (config_key): one read, so one object.
    with opik(sim) as c:
        first = c.get_or_create_config(Agent(), version=1)
        assert c.get_or_create_config(Agent(), version="v1") is first
        assert c.get_or_create_config(Agent(), version="1") is first


def test_get_or_create_creates_the_first_config(sim: Simulator) -> None:
    class Fresh(failsoft.Config):
        model: str = "gpt-4.1"
        retries: int = 2
        stops: List[str] = ["\n"]

    with opik(sim, project="empty-agent") as c:
        cfg = c.get_or_create_config(fallback=Fresh())
        assert not cfg.is_fallback and cfg.model == "gpt-4.1" and cfg.retries == 2 and cfg.stops == ["\n"]
    projects = {p["name"]: p for p in sim.state()["opik"]["projects"]}
    created = projects["empty-agent"]["blueprints"]
    assert len(created) == 1 and {v["key"] for v in created[0]["values"]} == {"model", "retries", "stops"}


def test_fallback_when_the_backend_is_down(sim: Simulator) -> None:
    fallback = Agent(model="local")
    sim.fault("*", "refused")
    with opik(sim) as c:
        cfg = c.get_or_create_config(fallback=fallback)
        assert cfg.is_fallback and cfg.model == "local" and cfg == fallback
        assert not fallback.is_fallback  # the caller's constant is left alone
        calls: List[int] = []

        def make() -> Agent:
            calls.append(1)
            return Agent(model="from function")

        assert c.get_or_create_config(fallback=make).model == "from function" and calls == [1]


class OwnInit(Agent):
    def __init__(self, model: str) -> None:
        super().__init__(model=model)


def test_a_fallback_with_its_own_init_is_served_and_pickled(sim: Simulator) -> None:
    sim.fault("*", "refused")
    with opik(sim) as c:
        cfg = c.get_or_create_config(fallback=OwnInit("mine"))
        assert cfg.is_fallback and type(cfg) is OwnInit and cfg.model == "mine"
        again = pickle.loads(pickle.dumps(cfg))
        assert again == cfg and again.is_fallback


def test_a_field_missing_at_the_backend_is_an_error(sim: Simulator) -> None:
    class MoreThanStored(Agent):
        extra_field: str = "x"

    with opik(sim) as c:
        with pytest.raises(failsoft.InvalidResponse, match="extra_field"):
            c.get_or_create_config(fallback=MoreThanStored())


def test_a_to_dict_override_changes_neither_the_check_nor_the_created_config(sim: Simulator) -> None:
    # `to_dict` is the user's to override: the declaration sent to core is not taken from it.
    class Trimmed(failsoft.Config):
        model: str = "gpt-4.1"
        retries: int = 2

        def to_dict(self) -> Dict[str, Any]:
            return {"model": self.model}

    with opik(sim, project="trimmed-agent") as c:
        assert c.get_or_create_config(fallback=Trimmed()).retries == 2
    created = {p["name"]: p for p in sim.state()["opik"]["projects"]}["trimmed-agent"]["blueprints"]
    assert {v["key"] for v in created[0]["values"]} == {"model", "retries"}

    class TrimmedMore(Agent):
        extra_field: str = "x"

        def to_dict(self) -> Dict[str, Any]:
            return {"model": self.model}

    with opik(sim) as c:
        with pytest.raises(failsoft.InvalidResponse, match="extra_field"):
            c.get_or_create_config(fallback=TrimmedMore())


def test_a_fallback_read_shares_the_fallback_values(sim: Simulator) -> None:
    class Tagged(failsoft.Config):
        tags: List[str] = ["a"]
        limits: Dict[str, int] = {"x": 1}

    fallback = Tagged()
    sim.fault("*", "refused")
    with opik(sim) as c:
        cfg = c.get_or_create_config(fallback=fallback)
        assert cfg.is_fallback and cfg is not fallback
        assert cfg.tags is fallback.tags and cfg.limits is fallback.limits  # not coerced again


def test_a_mistyped_backend_field_is_an_error(sim: Simulator) -> None:
    class WrongType(failsoft.Config):
        model: int = 0

    with opik(sim) as c:
        with pytest.raises(failsoft.InvalidResponse, match="model"):
            c.get_or_create_config(fallback=WrongType())


def test_json_text_fields_become_lists(sim: Simulator) -> None:
    sim.publish_blueprint(
        {"project": "listy", "values": [{"key": "stops", "value": "[\"a\", \"b\"]", "type": "string"}], "envs": ["prod"]}
    )

    class Listy(failsoft.Config):
        stops: List[str] = []

    with opik(sim, project="listy") as c:
        assert c.get_or_create_config(fallback=Listy()).stops == ["a", "b"]


def test_fallback_must_be_a_config(sim: Simulator) -> None:
    with opik(sim) as c:
        bad: Any = {"model": "x"}
        with pytest.raises(failsoft.InvalidArgument, match="Config"):
            c.get_or_create_config(fallback=bad)


def test_optional_and_literal_fields_from_the_backend(sim: Simulator) -> None:
    class Modes(failsoft.Config):
        model: Literal["gpt-4o-mini", "gpt-4o"] = "gpt-4o"
        max_tokens: Optional[int] = None

    with opik(sim) as c:
        cfg = c.get_or_create_config(fallback=Modes())
        assert cfg.model == "gpt-4o-mini" and cfg.max_tokens == 256
