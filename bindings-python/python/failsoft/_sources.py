"""Where a client's values come from. Each source becomes the ``source`` object of the client
options JSON that C, Python and Node share (``{"kind": "http", "url": ...}``); every option left
as ``None`` takes its environment variable or default in the core."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Dict, Mapping, Optional, Union

from ._native import _redact

__all__ = ["Http", "File", "Langfuse", "Opik", "Source"]


class _Source:
    """What the four sources share: their options JSON and a repr with credentials redacted."""

    _kind: ClassVar[str]

    def _spec(self) -> Dict[str, Any]:
        # The native side converts any mapping (`headers`); a path is made text here.
        options = {k: os.fspath(v) if k == "path" else v for k, v in vars(self).items() if v is not None}
        return {"kind": self._kind, **options}

    def __repr__(self) -> str:
        values = ((f.name, getattr(self, f.name)) for f in fields(self) if f.repr)  # type: ignore[arg-type]
        shown = ", ".join(f"{n}={(_redact(v) if isinstance(v, str) else v)!r}" for n, v in values)
        return f"{type(self).__name__}({shown})"


@dataclass(frozen=True, repr=False)
class Http(_Source):
    """Any HTTP endpoint answering JSON: ``url`` contains ``{key}``, replaced by the URL-encoded
    key. ``headers`` (e.g. ``Authorization``) are sent with every request and never logged.
    The version is the ``X-Version`` header or the body's top-level integer ``version_field``
    (default ``"version"``)."""

    _kind: ClassVar[str] = "http"
    url: str
    headers: Optional[Mapping[str, str]] = field(default=None, repr=False)
    version_field: Optional[str] = None


@dataclass(frozen=True, repr=False)
class File(_Source):
    """A local JSON file holding an object of key → value, re-read when it changes."""

    _kind: ClassVar[str] = "file"
    path: Union[str, "os.PathLike[str]"]


@dataclass(frozen=True, repr=False)
class Langfuse(_Source):
    """Langfuse prompt management. ``None`` takes ``LANGFUSE_BASE_URL`` (or ``LANGFUSE_HOST``,
    default ``https://cloud.langfuse.com``), ``LANGFUSE_PUBLIC_KEY``, ``LANGFUSE_SECRET_KEY`` and
    ``LANGFUSE_TIMEOUT`` (the bound on one request, default 10 s)."""

    _kind: ClassVar[str] = "langfuse"
    base_url: Optional[str] = None
    public_key: Optional[str] = None
    secret_key: Optional[str] = field(default=None, repr=False)
    timeout_seconds: Optional[float] = None


@dataclass(frozen=True, repr=False)
class Opik(_Source):
    """Opik agent configuration. ``None`` takes ``OPIK_URL_OVERRIDE`` (default Comet's hosted
    Opik), ``OPIK_API_KEY``, ``OPIK_WORKSPACE`` and ``OPIK_PROJECT_NAME``."""

    _kind: ClassVar[str] = "opik"
    base_url: Optional[str] = None
    api_key: Optional[str] = field(default=None, repr=False)
    workspace: Optional[str] = None
    project_name: Optional[str] = None


Source = Union[Http, File, Langfuse, Opik]
