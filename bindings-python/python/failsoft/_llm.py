"""LLM calls with fallback (SPEC §8), shaped like the OpenAI SDK and OpenPipe's ``fallback``::

    client = failsoft.OpenAI(
        base_url="https://api.openpipe.ai/api/v1", api_key=..., timeout=10,
        fallback_client=failsoft.OpenAICompatibleClient(base_url="https://api.openai.com/v1", api_key=...),
    )
    completion = client.chat.completions.create(
        model="openpipe:my-ft-model",
        messages=[{"role": "system", "content": "count to 10"}],
        fallback={"model": "gpt-4o-mini", "timeout": 20},
    )
    completion.choices[0].message.content, completion.is_fallback, completion.served_by

The work is the core's ``failsoft::llm::LlmClient``: targets tried in order, per-attempt
timeouts and one optional deadline, one short retry within a target, fallover on connection
errors, timeouts, 401/403/404, 408/409/429 and 5xx (never on 400/413/422), and a circuit breaker
per target. Every decision about the OpenAI-style arguments (defaults, checks, fallbacks, which
timeout a fallback inherits, one native client per target list) is core's ``failsoft::llm::Front``;
this module passes the arguments on and wraps the answers in OpenAI-style objects. Calls wait
with the GIL released.
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Dict,
    FrozenSet,
    List,
    Literal,
    Mapping,
    Optional,
    Sequence,
    Type,
    Union,
    cast,
    overload,
)

from ._errors import InvalidArgument
from ._native import Stream, _Front, _llm_api, _redact

__all__ = [
    "OpenAI",
    "OpenAICompatibleClient",
    "ChatCompletion",
    "ChatCompletionChunk",
    "Stream",
    "ServedBy",
    "Attempt",
    "OpenAIObject",
]


@dataclass(frozen=True)
class ServedBy:
    """The target that answered: its index in the target list (0 the primary, 1 the first
    fallback, ...), the model sent to it, and its base URL without credentials."""

    index: int
    model: Optional[str]
    base_url: str

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Attempt:
    """One attempt of a call, in order (or a target skipped because its circuit breaker was
    open: ``skipped`` true, no request made). ``error_kind`` is the failsoft error's kind
    (``"Unavailable"``, ``"Timeout"``, ...), ``None`` for the attempt that succeeded; ``status``
    the HTTP status when an answer arrived; ``message`` what went wrong, never a secret."""

    target: int
    model: Optional[str]
    error_kind: Optional[str]
    status: Optional[int]
    elapsed_ms: float
    skipped: bool
    message: Optional[str]
    error_class: Optional[str] = None
    """Why it failed, as the fallover policy saw it: ``"context_length"``, ``"content_policy"``,
    ``"quota"``, ``"rate_limit"``, ``"server"``, ``"timeout"``, ``"connection"``, ``"auth"``,
    ``"not_found"``, ``"bad_request"``; ``None`` for a success or a skipped target."""

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


class OpenAIObject:
    """Attribute access over a JSON object from the server, read-only, like the OpenAI SDK's
    models: ``completion.choices[0].message.content``. A field the OpenAI type defines but the
    server left out reads as ``None``; any other missing name raises ``AttributeError``.
    ``to_dict()`` gives the server's JSON (a copy), ``to_json()`` the same as text."""

    __slots__ = ("_data", "_attrs")
    _fields: ClassVar[FrozenSet[str]] = frozenset()
    _children: ClassVar[Dict[str, str]] = {}

    def __init__(self, data: Mapping[str, Any]) -> None:
        attrs = {k: _wrap(v, self._children.get(k)) for k, v in data.items()}
        object.__setattr__(self, "_data", data)
        object.__setattr__(self, "_attrs", attrs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._attrs[name]
        except KeyError:
            pass
        if name in self._fields:
            return None
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only (use to_dict() for a mutable copy)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __dir__(self) -> List[str]:
        return sorted(set(object.__dir__(self)) | set(self._attrs) | set(self._fields))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, OpenAIObject):
            return type(self) is type(other) and self._data == other._data
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._attrs.items())
        return f"{type(self).__name__}({inner})"

    def to_dict(self) -> Dict[str, Any]:
        """The server's JSON object, as a new plain dict."""
        return copy.deepcopy(dict(self._data))

    def to_json(self, *, indent: Optional[int] = 2) -> str:
        """The server's JSON object as text."""
        return json.dumps(self._data, indent=indent)

    def model_dump(self) -> Dict[str, Any]:
        """``to_dict()``, under pydantic's name (as the OpenAI SDK's objects have it)."""
        return self.to_dict()

    def model_dump_json(self, *, indent: Optional[int] = None) -> str:
        """``to_json()``, under pydantic's name."""
        return self.to_json(indent=indent)

    def __reduce__(self) -> Any:
        return (type(self), (self.to_dict(),))


def _model(name: str, fields: str, children: Optional[Dict[str, str]] = None) -> Type[OpenAIObject]:
    namespace = {"__slots__": (), "_fields": frozenset(fields.split()), "_children": children or {}}
    cls = cast(Type[OpenAIObject], type(name, (OpenAIObject,), namespace))
    cls.__module__ = "failsoft"
    return cls


# The OpenAI SDK's chat types (openai.types.chat), by the fields they define.
_MODELS: Dict[str, Type[OpenAIObject]] = {}
for _name, _fields, _children in [
    ("Function", "arguments name", None),
    ("ChatCompletionMessageToolCall", "id function type", {"function": "Function"}),
    ("FunctionCall", "arguments name", None),
    ("ChatCompletionAudio", "id data expires_at transcript", None),
    (
        "ChatCompletionMessage",
        "content refusal role annotations audio function_call tool_calls",
        {"tool_calls": "ChatCompletionMessageToolCall", "function_call": "FunctionCall", "audio": "ChatCompletionAudio"},
    ),
    ("ChoiceLogprobs", "content refusal", None),
    ("Choice", "finish_reason index logprobs message", {"message": "ChatCompletionMessage", "logprobs": "ChoiceLogprobs"}),
    ("CompletionTokensDetails", "accepted_prediction_tokens audio_tokens reasoning_tokens rejected_prediction_tokens", None),
    ("PromptTokensDetails", "audio_tokens cached_tokens", None),
    (
        "CompletionUsage",
        "completion_tokens prompt_tokens total_tokens completion_tokens_details prompt_tokens_details",
        {"completion_tokens_details": "CompletionTokensDetails", "prompt_tokens_details": "PromptTokensDetails"},
    ),
    ("ChoiceDeltaToolCallFunction", "arguments name", None),
    ("ChoiceDeltaToolCall", "index id function type", {"function": "ChoiceDeltaToolCallFunction"}),
    ("ChoiceDeltaFunctionCall", "arguments name", None),
    (
        "ChoiceDelta",
        "content function_call refusal role tool_calls",
        {"tool_calls": "ChoiceDeltaToolCall", "function_call": "ChoiceDeltaFunctionCall"},
    ),
    ("ChunkChoice", "delta finish_reason index logprobs", {"delta": "ChoiceDelta", "logprobs": "ChoiceLogprobs"}),
]:
    _MODELS[_name] = _model(_name, _fields, _children)
del _name, _fields, _children


def _wrap(v: Any, model: Optional[str]) -> Any:
    if isinstance(v, dict):
        return _MODELS.get(model or "", OpenAIObject)(v)
    if isinstance(v, list):
        return [_wrap(x, model) for x in v]
    return v


class ChatCompletion(OpenAIObject):
    """A completion as the server sent it (``id``, ``model``, ``choices``, ``usage``, ...), plus
    who served it: ``is_fallback`` (a target other than the primary answered), ``served_by`` and
    ``attempts``."""

    __slots__ = ("is_fallback", "served_by", "attempts")
    _fields = frozenset("id choices created model object service_tier system_fingerprint usage".split())
    _children = {"choices": "Choice", "usage": "CompletionUsage"}

    if TYPE_CHECKING:  # set in `_from_native`
        is_fallback: bool
        served_by: ServedBy
        attempts: List[Attempt]

    @classmethod
    def _from_native(
        cls, data: Dict[str, Any], served_by: ServedBy, is_fallback: bool, attempts: List[Attempt]
    ) -> ChatCompletion:
        c = cls(data)
        object.__setattr__(c, "is_fallback", is_fallback)
        object.__setattr__(c, "served_by", served_by)
        object.__setattr__(c, "attempts", attempts)
        return c

    def __reduce__(self) -> Any:
        return (ChatCompletion._from_native, (self.to_dict(), self.served_by, self.is_fallback, self.attempts))


class ChatCompletionChunk(OpenAIObject):
    """One chunk of a stream, as the server sent it (``choices[0].delta.content``, ...).
    ``is_restart`` is true on the first chunk of a restarted attempt (``stream_recovery=
    "restart"``): discard the text shown so far, the answer starts again here."""

    __slots__ = ("is_restart",)

    def __init__(self, data: Any, is_restart: bool = False) -> None:
        super().__init__(data)
        object.__setattr__(self, "is_restart", is_restart)

    if TYPE_CHECKING:  # set in `__init__`
        is_restart: bool
    _fields = frozenset("id choices created model object service_tier system_fingerprint usage".split())
    _children = {"choices": "ChunkChoice", "usage": "CompletionUsage"}


def _core(v: Any) -> Any:
    """An argument as core's JSON: an ``OpenAICompatibleClient`` as its options, at any depth."""
    if isinstance(v, OpenAICompatibleClient):
        return {"base_url": v.base_url, "api_key": v.api_key, "timeout": v.timeout}
    if isinstance(v, Mapping):
        return {k: _core(x) for k, x in v.items() if x is not None}
    if isinstance(v, (list, tuple)):
        return [_core(x) for x in v]
    return v


class OpenAICompatibleClient:
    """An OpenAI-compatible API that serves fallbacks (OpenPipe's ``OpenAICompatibleClient``).

    ``base_url`` defaults to ``OPENAI_BASE_URL``, else ``https://api.openai.com/v1``;
    ``api_key`` to ``OPENAI_API_KEY`` (sent as ``Authorization: Bearer``, never shown);
    ``timeout`` is the per-attempt timeout in seconds of the fallbacks it serves.
    """

    def __init__(
        self, *, base_url: Optional[str] = None, api_key: Optional[str] = None, timeout: Optional[float] = None
    ) -> None:
        api = _core({"base_url": base_url, "api_key": api_key, "timeout": timeout})
        self.base_url: str
        self.api_key: Optional[str]
        self.timeout: Optional[float]
        self.base_url, self.api_key, self.timeout = _llm_api(api)

    def __repr__(self) -> str:
        # The URL may carry a password (``https://user:pw@host``); the repr never shows it.
        return f"{type(self).__name__}(base_url={_redact(self.base_url)!r}, timeout={self.timeout!r})"


FallbackSpec = Union[str, Mapping[str, Any]]
"""One fallback: a model name, or ``{"model": ..., "timeout": seconds, "client":
OpenAICompatibleClient}``, each optional (the request's model; the client's timeout, else the
``OpenAI`` client's; the ``fallback_client``, else the primary's own API)."""


class OpenAI(OpenAICompatibleClient):
    """An OpenAI-compatible client whose chat completions fall over to fallback targets::

        client = failsoft.OpenAI(base_url=..., api_key=..., timeout=10,
                                 fallback_client=failsoft.OpenAICompatibleClient(base_url=..., api_key=...))
        client.chat.completions.create(model=..., messages=..., fallback={"model": "gpt-4o-mini"})

    ``timeout`` (seconds) bounds each attempt on the primary, and on fallbacks that set none
    (default 60). Options beyond the OpenAI SDK's, with the names of the shared LLM options JSON:
    ``max_retries`` (retries on one target before falling over, default 1), ``deadline_seconds``
    (one bound on a whole call, streams included; default none), ``first_chunk_timeout_seconds``
    (streams: the wait for the first chunk before falling over; default the target's timeout),
    ``retry_after_cap_seconds`` (the longest ``Retry-After`` honoured, default 2),
    ``breaker_threshold`` (failed calls in a row before a target is skipped, default 3; 0 never)
    and ``breaker_cooldown_seconds`` (how long it is skipped, default 5), ``stop_statuses``
    (statuses that end a call without fallover, default ``[400, 413, 422]``),
    ``fallover_classes`` (the error classes that fall over, default every class but
    ``"content_policy"`` and ``"bad_request"``), ``stream_idle_timeout_seconds`` (streams: the
    longest silence between events, default 30) and ``stream_recovery`` (``"error"``, the
    default, or ``"restart"``; also per call), ``fleet`` (the client's ``fleet`` dict: the
    breakers are shared through Redis, so one process finding a target dead makes the others
    skip it; default ``FAILSOFT_REDIS_URL``). Core (``failsoft::llm::Front``) checks these and
    names a bad one by its path. ``openpipe={"fallback_client": ...}`` is OpenPipe's spelling of
    ``fallback_client``.

    One native client (and so one circuit breaker per target) serves every call with the same
    target list. Thread-safe. Creating it never touches the network.
    """

    def __init__(
        self,
        *,
        base_url: Optional[str] = None,
        api_key: Optional[str] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
        fallback_client: Optional[OpenAICompatibleClient] = None,
        openpipe: Optional[Mapping[str, Any]] = None,
        deadline_seconds: Optional[float] = None,
        first_chunk_timeout_seconds: Optional[float] = None,
        retry_after_cap_seconds: Optional[float] = None,
        breaker_threshold: Optional[int] = None,
        breaker_cooldown_seconds: Optional[float] = None,
        stop_statuses: Optional[Sequence[int]] = None,
        fallover_classes: Optional[Sequence[str]] = None,
        stream_idle_timeout_seconds: Optional[float] = None,
        stream_recovery: Optional[str] = None,
        fleet: Optional[Mapping[str, Any]] = None,
    ) -> None:
        self._front = _Front(_core({k: v for k, v in locals().items() if k != "self"}))
        self.base_url, self.api_key, self.timeout = self._front.primary
        self.max_retries: Optional[int] = max_retries
        if fallback_client is None and openpipe is not None:
            fallback_client = openpipe.get("fallback_client")
        self.fallback_client: Optional[OpenAICompatibleClient] = fallback_client
        self.chat = Chat(self)


class Chat:
    """``client.chat``."""

    def __init__(self, client: OpenAI) -> None:
        self.completions = Completions(client)


class Completions:
    """``client.chat.completions``."""

    def __init__(self, client: OpenAI) -> None:
        self._client = client

    @overload
    def create(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[True],
        fallback: Union[FallbackSpec, Sequence[FallbackSpec], None] = None,
        openpipe: Optional[Mapping[str, Any]] = None,
        timeout: Optional[float] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        **params: Any,
    ) -> Stream: ...

    @overload
    def create(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        stream: Literal[False, None] = None,
        fallback: Union[FallbackSpec, Sequence[FallbackSpec], None] = None,
        openpipe: Optional[Mapping[str, Any]] = None,
        timeout: Optional[float] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        **params: Any,
    ) -> ChatCompletion: ...

    @overload
    def create(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        stream: Optional[bool] = None,
        fallback: Union[FallbackSpec, Sequence[FallbackSpec], None] = None,
        openpipe: Optional[Mapping[str, Any]] = None,
        timeout: Optional[float] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        **params: Any,
    ) -> Union[ChatCompletion, Stream]: ...

    def create(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        stream: Optional[bool] = None,
        fallback: Union[FallbackSpec, Sequence[FallbackSpec], None] = None,
        openpipe: Optional[Mapping[str, Any]] = None,
        timeout: Optional[float] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        **params: Any,
    ) -> Union[ChatCompletion, Stream]:
        """A chat completion from the first target that answers: the primary, then each
        fallback in order (``fallback`` is one ``{"model", "timeout", "client"}`` dict or a list
        of them; ``openpipe={"fallback": ...}`` is OpenPipe's spelling). The request (``model``,
        ``messages`` and every other keyword, plus ``extra_body``) is sent untouched but for each
        fallback's ``model``. ``timeout`` (seconds) is the primary's per-attempt timeout for
        this call.

        Raises the last error's class (``failsoft.Unavailable``, ``Timeout``, ``Unauthorized``,
        ``NotFound``, ``InvalidResponse``, ``InvalidArgument`` for 400/413/422), with
        ``.attempts``, when no target answered. With ``stream=True`` returns a ``Stream`` once
        the first chunk arrived; ``stream_recovery="restart"`` (or ``"error"``) overrides the
        client's recovery for this stream (not sent).
        """
        # failsoft's own per-call options, not sent; checked by core.
        call = _core({"fallback": fallback, "openpipe": openpipe, "timeout": timeout})
        call["stream_recovery"] = params.pop("stream_recovery", None)
        for unsupported in ("extra_headers", "extra_query"):
            if params.pop(unsupported, None) is not None:
                raise InvalidArgument(f"{unsupported} is not supported by failsoft.OpenAI")
        request: Dict[str, Any] = {"model": model, "messages": messages, **params, **(extra_body or {})}
        if stream:
            return self._client._front.chat_stream(request, call)
        request.pop("stream", None)
        return ChatCompletion._from_native(*self._client._front.chat(request, call))
