"""Type stubs of ``failsoft._native``, the PyO3 module over the Rust core (checked by
``python -m mypy.stubtest failsoft``)."""

import os
from typing_extensions import disjoint_base
from typing import Any, Callable, Dict, List, Literal, Mapping, Optional, Sequence, Tuple, TypeVar, Union, final

from ._llm import Attempt, ChatCompletionChunk, ServedBy

__version__: str
ERROR_KINDS: List[str]

_C = TypeVar("_C", bound="Client")

__all__ = [
    "Client",
    "Value",
    "Change",
    "Prompt",
    "compile",
    "variables",
    "compile_chat",
    "chat_variables",
    "_prompt_from_json",
    "_shutdown",
    "_redact",
    "_Front",
    "_llm_api",
    "Stream",
    "__version__",
    "ERROR_KINDS",
]

@final
class Value:
    """A read's value: the data plus where it came from. Immutable; a warm read returns the same
    object while the key's value is unchanged."""

    @property
    def value(self) -> Any:
        """The data: a str, int, float, bool, None, or a read-only dict / list of them."""
    @property
    def source(self) -> Literal["fresh", "stale", "snapshot", "fallback"]: ...
    @property
    def is_fallback(self) -> bool:
        """Whether this is the caller's fallback rather than data from the source or a snapshot."""
    @property
    def version(self) -> Optional[int]:
        """The source's version number, when it has one."""
    @property
    def age_seconds(self) -> Optional[float]:
        """Seconds since the data was fetched (now, not at the read); ``None`` for a fallback."""
    @property
    def error(self) -> Optional[Any]:
        """Why the value is not fresh from the source (a ``failsoft.Error``), or ``None``."""

@final
class Change:
    """A key's value changed version (hot reload); passed to ``Client.on_change`` callbacks."""

    @property
    def key(self) -> str:
        """The key in its canonical text form (``name``, ``name@label:staging``, ...)."""
    @property
    def old_version(self) -> Optional[int]: ...
    @property
    def new_version(self) -> Optional[int]: ...
    @property
    def value(self) -> Value: ...

@final
class Prompt:
    """A text or chat prompt with its version, config, labels and tags, plus where it came from.
    Immutable; a warm ``get_prompt`` returns the same object while the version is unchanged.

    Made by hand (e.g. a field of a ``failsoft.Config`` fallback) it counts as a fallback.
    """

    def __new__(
        cls,
        name: str,
        prompt: Union[str, Sequence[Mapping[str, Any]]],
        *,
        type: Optional[Literal["text", "chat"]] = None,
        config: Optional[Mapping[str, Any]] = None,
        version: int = 0,
        labels: Optional[Sequence[str]] = None,
        tags: Optional[Sequence[str]] = None,
        commit_message: Optional[str] = None,
    ) -> Prompt: ...
    @property
    def name(self) -> str: ...
    @property
    def version(self) -> int:
        """The prompt's version; 0 for a fallback."""
    @property
    def type(self) -> Literal["text", "chat"]: ...
    @property
    def prompt(self) -> Union[str, List[Dict[str, Any]]]:
        """The template string (text) or the read-only list of messages (chat)."""
    @property
    def config(self) -> Dict[str, Any]:
        """The prompt's config (a read-only dict)."""
    @property
    def labels(self) -> List[str]: ...
    @property
    def tags(self) -> List[str]: ...
    @property
    def commit_message(self) -> Optional[str]: ...
    @property
    def commit(self) -> Optional[str]:
        """The prompt commit, for prompts referenced by an Opik config."""
    @property
    def variables(self) -> List[str]:
        """The variable names the prompt uses, in first-appearance order."""
    @property
    def source(self) -> Literal["fresh", "stale", "snapshot", "fallback"]: ...
    @property
    def is_fallback(self) -> bool: ...
    @property
    def age_seconds(self) -> Optional[float]:
        """Seconds since the prompt was fetched; ``None`` for a fallback."""
    @property
    def error(self) -> Optional[Any]:
        """Why the prompt is not fresh from the source (a ``failsoft.Error``), or ``None``."""
    def compile(
        self, *, strict: bool = False, placeholders: Optional[Mapping[str, Any]] = None, **variables: Any
    ) -> Any:
        """Substitutes ``{{name}}`` variables (SPEC §6): a text prompt gives a ``str``, a chat
        prompt a new ``list`` of message dicts with each placeholder replaced by
        ``placeholders[name]``. ``strict=True`` raises ``failsoft.InvalidArgument`` naming every
        missing variable (and placeholder)."""
    def get_langchain_prompt(self, **variables: Any) -> Any:
        """The prompt for LangChain, like Langfuse's ``get_langchain_prompt``: a text prompt gives
        a ``str`` for ``PromptTemplate.from_template``, a chat prompt a ``list`` of
        ``(role, content)`` tuples for ``ChatPromptTemplate.from_messages``. ``{{name}}`` becomes
        ``{name}`` unless given here (then it is filled in); every other brace is doubled. A
        keyword named after a placeholder (a list of messages) expands it; a placeholder not given
        becomes a ``langchain_core`` ``MessagesPlaceholder`` (``ImportError`` naming langchain-core
        when it is not installed). Bad input raises ``failsoft.InvalidArgument``."""
    def to_json(self) -> Dict[str, Any]:
        """The prompt JSON ``{name, version, type, prompt, config, labels, tags, commit_message}``."""
    def __reduce__(self) -> tuple[Any, ...]: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@disjoint_base
class Client:
    """The core client (``failsoft.Client`` adds typed configs)."""

    def __new__(
        cls,
        source: Any,
        *,
        ttl_seconds: Optional[float] = None,
        cold_deadline_seconds: Optional[float] = None,
        snapshot_dir: Union[str, os.PathLike[str], None] = None,
        request_timeout_seconds: Optional[float] = None,
        refresh_workers: Optional[int] = None,
        keep_on_not_found: Optional[bool] = None,
        fleet: Optional[Mapping[str, Any]] = None,
    ) -> Client: ...
    def get(self, key: str, fallback: Any = ..., ttl_seconds: Optional[float] = None) -> Value:
        """Reads ``key`` (SPEC §2): never waits once the key has a value; with nothing cached,
        waits at most the cold deadline, then serves the snapshot, the fallback (a value,
        ``None`` included, or a zero-argument function called only when needed), or raises the
        typed error."""
    def get_prompt(
        self,
        name: str,
        *,
        label: Optional[str] = None,
        version: Optional[int] = None,
        type: Literal["text", "chat"] = "text",
        fallback: Union[str, Sequence[Mapping[str, Any]], Mapping[str, Any], Callable[[], Any], None] = None,
        cache_ttl_seconds: Optional[float] = None,
    ) -> Prompt:
        """Reads a prompt by name and label or version (label ``production`` when neither), with
        a fallback (a template string, a list of messages, ``{"prompt", "config"}``, or a
        function returning one) served when nothing is cached and the source cannot answer."""
    def _read_config(
        self,
        fallback_fields: Callable[[], Dict[str, Any]],
        env: Optional[str] = None,
        version: Union[str, int, None] = None,
        ttl_seconds: Optional[float] = None,
        create: bool = True,
    ) -> Tuple[Value, str]: ...
    def prefetch(self, keys: Sequence[str], deadline_seconds: Optional[float] = None) -> None:
        """Fetches ``keys`` in parallel; raises ``failsoft.PrefetchError`` when any failed."""
    def status(self) -> Dict[str, Any]:
        """``{"state", "since", "last_error", "counters", "keys", "fleet"}`` as a plain dict."""
    def on_change(self, callback: Callable[[Change], Any]) -> int:
        """Calls ``callback(change)`` on a library thread after a key's value changes version;
        an exception it raises is logged (logger ``failsoft``). Returns an id."""
    def remove_listener(self, id: int) -> None:
        """Once this returns the callback is not running on another thread and is never called
        again (called from inside the callback itself, it returns at once)."""
    def close(self) -> None:
        """Stops the background threads (idempotent, bounded); cached values keep being served."""
    def invalidate(self, key: str) -> None:
        """Forces a refresh of ``key``: fleet-wide in fleet mode, else in this process."""
    @property
    def closed(self) -> bool: ...
    @property
    def ttl_seconds(self) -> float:
        """The TTL in force for reads without their own, in seconds."""
    def __enter__(self: _C) -> _C: ...
    def __exit__(self, *_exc: object) -> bool: ...

def compile(template: str, /, *, strict: bool = False, **variables: Any) -> str:
    """Substitutes ``{{name}}`` variables in a text template (SPEC §6)."""

def variables(template: str, /) -> List[str]:
    """The variable names a text template uses, in first-appearance order."""

def compile_chat(
    messages: Sequence[Mapping[str, Any]],
    /,
    *,
    placeholders: Optional[Mapping[str, Any]] = None,
    strict: bool = False,
    **variables: Any,
) -> List[Dict[str, Any]]:
    """Compiles a chat prompt: variables in each message's content, placeholders expanded."""

def chat_variables(messages: Sequence[Mapping[str, Any]], /) -> List[str]:
    """The variable names used across a chat prompt's message contents."""

def _prompt_from_json(data: Mapping[str, Any], source: str = "fresh") -> Prompt: ...
def _shutdown() -> None: ...
def _redact(text: str, /) -> str:
    """``text`` with credentials replaced by ``<redacted>``."""

def _llm_api(options: Mapping[str, Any]) -> tuple[str, Optional[str], Optional[float]]:
    """``(base_url, api_key, timeout)`` of an API, core's defaults applied and checked."""

@final
class _Front:
    """Core's OpenAI-shaped LLM front (``failsoft::llm::Front``): one per ``failsoft.OpenAI``."""

    def __new__(cls, options: Mapping[str, Any]) -> _Front: ...
    @property
    def primary(self) -> tuple[str, Optional[str], Optional[float]]: ...
    def pooled(self) -> int: ...
    def chat(
        self, request: Mapping[str, Any], call: Optional[Mapping[str, Any]] = None
    ) -> tuple[Dict[str, Any], Any, bool, List[Any]]:
        """``(completion, served_by, is_fallback, attempts)``; the GIL is released while waiting."""
    def chat_stream(self, request: Mapping[str, Any], call: Optional[Mapping[str, Any]] = None) -> Stream:
        """Opens a stream (falling over until its first chunk arrived); ``call`` is this call's
        options (``fallback``, ``openpipe``, ``timeout``, ``stream_recovery``)."""

@final
class Stream:
    """A streaming completion that already received its first chunk (the last point where it
    could fall over). Iterate it for each ``ChatCompletionChunk``, read from the connection as it
    arrives (the GIL is released while waiting). It ends after the server's ``[DONE]``; a stream
    that breaks, stalls or passes the deadline before that raises ``failsoft.Unavailable``,
    ``Timeout`` or ``InvalidResponse`` whose message says it is incomplete (and ``incomplete``
    turns true). It is also complete when the server closes it after the finish reason without
    ``[DONE]``; malformed events are skipped. With ``stream_recovery="restart"`` a break sends
    the request again instead (the same target while its retries last, then the fallbacks): the
    next chunk has ``is_restart`` true and ``restarts`` counts them. Leaving the loop early:
    ``close()`` it, or use it in a ``with`` block."""

    def __iter__(self) -> Stream: ...
    def __next__(self) -> ChatCompletionChunk: ...
    def close(self) -> None:
        """Closes the connection; idempotent."""
    def __enter__(self) -> Stream: ...
    def __exit__(self, *_exc: object) -> None: ...
    @property
    def is_fallback(self) -> bool: ...
    @property
    def served_by(self) -> ServedBy:
        """The target streaming now (after a restart, the one that took over)."""
    @property
    def attempts(self) -> List[Attempt]:
        """Every attempt of the call so far, broken streams included, the streaming one last."""
    @property
    def restarts(self) -> int:
        """How many times the stream restarted after a break."""
    @property
    def incomplete(self) -> bool:
        """True once the stream ended with an error before the server's end."""
    @property
    def done(self) -> bool:
        """True once the stream ended complete (``[DONE]``, or a close after the finish reason)."""
