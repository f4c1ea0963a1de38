"""Where a client's values come from. Each source becomes the ``source`` object of the client
options JSON that C, Python and Node share (``{"kind": "http", "url": ...}``); every option left
as ``None`` takes its environment variable or default in the core."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any, Dict, Mapping, Optional, Union

from ._native import _redact

__all__ = ["Http", "File", "Langfuse", "Opik", "Source"]


def _repr(source: Any) -> str:
    """The dataclass repr, with any credential in a shown string (a URL's password) redacted."""
    shown = []
    for f in fields(source):
        if f.repr:
            value = getattr(source, f.name)
            shown.append(f"{f.name}={(_redact(value) if isinstance(value, str) else value)!r}")
    return f"{type(source).__name__}({', '.join(shown)})"


def _spec(kind: str, **options: Any) -> Dict[str, Any]:
    out: Dict[str, Any] = {"kind": kind}
    out.update({k: v for k, v in options.items() if v is not None})
    return out


@dataclass(frozen=True)
class Http:
    """Any HTTP endpoint answering JSON: ``url`` contains ``{key}``, replaced by the URL-encoded
    key. ``headers`` (e.g. ``Authorization``) are sent with every request and never logged.
    The version is the ``X-Version`` header or the body's top-level integer ``version_field``
    (default ``"version"``)."""

    url: str
    headers: Optional[Mapping[str, str]] = field(default=None, repr=False)
    version_field: Optional[str] = None

    __repr__ = _repr

    def _spec(self) -> Dict[str, Any]:
        headers = dict(self.headers) if self.headers else None
        return _spec("http", url=self.url, headers=headers, version_field=self.version_field)


@dataclass(frozen=True)
class File:
    """A local JSON file holding an object of key → value, re-read when it changes."""

    path: Union[str, "os.PathLike[str]"]

    def _spec(self) -> Dict[str, Any]:
        return _spec("file", path=os.fspath(self.path))


@dataclass(frozen=True)
class Langfuse:
    """Langfuse prompt management. ``None`` takes ``LANGFUSE_BASE_URL`` (or ``LANGFUSE_HOST``,
    default ``https://cloud.langfuse.com``), ``LANGFUSE_PUBLIC_KEY``, ``LANGFUSE_SECRET_KEY`` and
    ``LANGFUSE_TIMEOUT`` (the bound on one request, default 10 s)."""

    base_url: Optional[str] = None
    public_key: Optional[str] = None
    secret_key: Optional[str] = field(default=None, repr=False)
    timeout_seconds: Optional[float] = None

    __repr__ = _repr

    def _spec(self) -> Dict[str, Any]:
        return _spec(
            "langfuse",
            base_url=self.base_url,
            public_key=self.public_key,
            secret_key=self.secret_key,
            timeout_seconds=self.timeout_seconds,
        )


@dataclass(frozen=True)
class Opik:
    """Opik agent configuration. ``None`` takes ``OPIK_URL_OVERRIDE`` (default Comet's hosted
    Opik), ``OPIK_API_KEY``, ``OPIK_WORKSPACE`` and ``OPIK_PROJECT_NAME``."""

    base_url: Optional[str] = None
    api_key: Optional[str] = field(default=None, repr=False)
    workspace: Optional[str] = None
    project_name: Optional[str] = None

    __repr__ = _repr

    def _spec(self) -> Dict[str, Any]:
        return _spec(
            "opik",
            base_url=self.base_url,
            api_key=self.api_key,
            workspace=self.workspace,
            project_name=self.project_name,
        )


Source = Union[Http, File, Langfuse, Opik]
