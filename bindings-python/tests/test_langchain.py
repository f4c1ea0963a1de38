"""Prompt.get_langchain_prompt(): the shared vectors of tests/scenarios/langchain.json on fallback
prompts, and LangChain itself (langchain-core) formatting the results to the text compile() gives."""

from __future__ import annotations

import sys
from typing import Any, Dict, Iterator, List

import pytest
from langchain_core.messages import BaseMessage
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder, PromptTemplate

import failsoft
from conftest import load_json

CASES = load_json("langchain.json")["cases"]
# LangChain's message types, read back as the roles failsoft's prompts use.
ROLES = {"human": "user", "ai": "assistant", "system": "system"}


@pytest.fixture(scope="module")
def down() -> Iterator[failsoft.Client]:
    """A client whose Langfuse refuses connections: every prompt read serves its fallback."""
    source = failsoft.Langfuse(base_url="http://127.0.0.1:9", public_key="pk-lf-test", secret_key="sk-lf-test")
    with failsoft.Client(source, cold_deadline_seconds=0.5) as c:
        yield c


def fallback_prompt(client: failsoft.Client, case: Dict[str, Any]) -> failsoft.Prompt:
    kind = "chat" if isinstance(case["prompt"], list) else "text"
    p = client.get_prompt("lc", type=kind, fallback=case["prompt"])
    assert p.is_fallback, case["name"]
    return p


def arguments(case: Dict[str, Any]) -> Dict[str, Any]:
    """Python's keyword arguments: placeholders and variables in one namespace."""
    return {**case["variables"], **case["placeholders"]}


def as_json(converted: Any) -> Any:
    """The result in the vectors' JSON form."""
    if isinstance(converted, str):
        return converted
    out: List[Any] = []
    for item in converted:
        if isinstance(item, MessagesPlaceholder):
            out.append(["placeholder", "{" + item.variable_name + "}"])
        else:
            assert isinstance(item, tuple) and len(item) == 2, item
            out.append({"role": item[0], "content": item[1]})
    return out


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_shared_vector(down: failsoft.Client, case: Dict[str, Any]) -> None:
    p = fallback_prompt(down, case)
    if case["error"] is None:
        assert as_json(p.get_langchain_prompt(**arguments(case))) == case["expected"]
    else:
        with pytest.raises(failsoft.InvalidArgument) as info:
            p.get_langchain_prompt(**arguments(case))
        assert info.value.key == "lc"
        for part in case["error"]["contains"]:
            assert part in str(info.value), f"{info.value} lacks {part}"


def messages(formatted: List[BaseMessage]) -> List[Dict[str, Any]]:
    return [{"role": ROLES[m.type], "content": m.content} for m in formatted]


FORMAT_CASES = [c for c in CASES if "format_variables" in c]


@pytest.mark.parametrize("case", FORMAT_CASES, ids=[c["name"] for c in FORMAT_CASES])
def test_langchain_formats_to_the_compiled_text(down: failsoft.Client, case: Dict[str, Any]) -> None:
    p = fallback_prompt(down, case)
    converted = p.get_langchain_prompt(**arguments(case))
    fmt = case["format_variables"]
    every_variable = {**case["variables"], **fmt}
    if p.type == "text":
        template = PromptTemplate.from_template(converted)
        assert sorted(template.input_variables) == sorted(fmt)
        assert template.format(**fmt) == p.compile(strict=True, **every_variable)
    else:
        format_placeholders = case.get("format_placeholders", {})
        chat = ChatPromptTemplate.from_messages(converted)
        formatted = chat.format_messages(**fmt, **format_placeholders)
        compiled = p.compile(
            strict=True, placeholders={**case["placeholders"], **format_placeholders}, **every_variable
        )
        assert messages(formatted) == [{"role": m["role"], "content": m["content"]} for m in compiled]


def test_a_prompt_made_by_hand_converts_too() -> None:
    p = failsoft.Prompt("json", 'Reply {"answer": "{{ answer }}"}')
    assert p.get_langchain_prompt() == 'Reply {{"answer": "{answer}"}}'
    assert PromptTemplate.from_template(p.get_langchain_prompt()).format(answer="yes") == p.compile(answer="yes")


def test_missing_langchain_core_is_named_only_when_a_placeholder_needs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    p = failsoft.Prompt("c", [{"role": "user", "content": "{{q}}"}, {"type": "placeholder", "name": "history"}])
    # A module set to None in sys.modules makes its import raise ImportError.
    monkeypatch.setitem(sys.modules, "langchain_core.prompts", None)
    with pytest.raises(ImportError, match=r"langchain-core.*history=\[\.\.\.\]") as info:
        p.get_langchain_prompt()
    assert isinstance(info.value.__cause__, ImportError)
    assert p.get_langchain_prompt(history=[]) == [("user", "{q}")]
    assert p.get_langchain_prompt(q="hi", history=[{"role": "assistant", "content": "{x}"}]) == [
        ("user", "hi"),
        ("assistant", "{{x}}"),
    ]


def test_unresolved_placeholder_is_a_required_messages_placeholder() -> None:
    p = failsoft.Prompt("c", [{"type": "placeholder", "name": "history"}])
    (placeholder,) = p.get_langchain_prompt()
    assert isinstance(placeholder, MessagesPlaceholder)
    assert placeholder.variable_name == "history" and placeholder.optional is False
