"""failsoft's exceptions: one class per kind of the core's error, the same six in every language.

Each class is named after its kind (``ErrorKind::as_str`` in core, whose ``failsoft::error``
documentation holds the spelling rule of every language); ``kind`` is the class name, and the
native module maps core's kinds to these classes by that name, so no list of kinds is kept here.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

__all__ = [
    "Error",
    "NotFound",
    "Unauthorized",
    "Timeout",
    "Unavailable",
    "InvalidResponse",
    "InvalidArgument",
    "PrefetchError",
]


class Error(Exception):
    """Base class of every failsoft error.

    ``kind`` is the stable name of the error (``"NotFound"``, ...), ``key`` the key it concerns
    (empty when not about a key), ``status`` the HTTP status behind it when there was one, and
    ``message`` the text without the key. Messages never contain a secret. An error of an LLM
    call (``failsoft.OpenAI``) also has ``attempts``: every attempt the call made
    (``failsoft.Attempt``), in order; empty for other errors.
    """

    kind: str = "Error"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.kind = cls.__name__

    def __init__(
        self, message: str = "", *, key: str = "", status: Optional[int] = None, attempts: Optional[List[Any]] = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.key = key
        self.status = status
        # LLM calls (failsoft.OpenAI): every attempt made, as `failsoft.Attempt` objects.
        self.attempts: List[Any] = list(attempts or [])

    def __str__(self) -> str:
        return f"{self.key}: {self.message}" if self.key else self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, key={self.key!r}, status={self.status!r})"


class NotFound(Error):
    """The key does not exist at the source (HTTP 404; a missing prompt, label, env or version)."""


class Unauthorized(Error):
    """The source refused the credentials (HTTP 401/403)."""


class Timeout(Error):
    """The deadline passed before an answer arrived."""


class Unavailable(Error):
    """Connection refused or reset, DNS failure, HTTP 429 or 5xx."""


class InvalidResponse(Error):
    """The answer could not be parsed, had the wrong shape, or was over the size cap."""


class InvalidArgument(Error):
    """The caller passed something that cannot work (bad option, bad key, strict template miss)."""


class PrefetchError(Error):
    """``Client.prefetch`` could not fetch every key.

    ``failures`` maps each failed key to its error (an instance of one of the classes above);
    ``succeeded`` lists the keys that were fetched and are cached. ``kind`` is the kind of the
    first failure.
    """

    def __init__(
        self,
        message: str = "",
        *,
        key: str = "",
        status: Optional[int] = None,
        failures: Optional[Dict[str, Error]] = None,
        succeeded: Optional[List[str]] = None,
    ) -> None:
        super().__init__(message, key=key, status=status)
        self.failures: Dict[str, Error] = dict(failures or {})
        self.succeeded: List[str] = list(succeeded or [])
        first = next(iter(self.failures.values()), None)
        self.kind = first.kind if first is not None else "Error"
