"""Typed configuration (SPEC §7): subclass ``failsoft.Config`` with annotated fields.

The core checks that a backend value carries every field the fallback declares, with its JSON
type (core/src/config.rs), and parses JSON-text lists and objects; this module only coerces each
field to its Python annotation: ``str``, ``int`` (a whole float too), ``float``, ``bool`` (never
``1`` or ``"1"``), optionals and unions (tried in order), ``Literal``, lists / tuples / sequences
and dicts / mappings (as read-only ``FrozenList`` / ``FrozenDict``), ``failsoft.Prompt`` (a
prompt, prompt JSON or a template string), nested ``Config`` classes, ``Any``, and any other
class (its instances). A missing or mistyped field is an error naming it: ``InvalidArgument``
for a hand-made instance, ``InvalidResponse`` (with the key) for a backend value.
"""

from __future__ import annotations

import collections.abc
import types
import typing
from typing import Any, Callable, ClassVar, Dict, List, Mapping, NoReturn, Sequence, Tuple, TypeVar, Union

from ._errors import Error, InvalidArgument, InvalidResponse
from ._frozen import FrozenDict, FrozenList
from ._native import Prompt, Value, _prompt_from_json

__all__ = ["Config"]

_MISSING: Any = object()
_UnionType: Any = getattr(types, "UnionType", None)  # `X | Y` (Python 3.10+)
# Whether a value fits a scalar annotation: a bool is no number, a whole float is an int.
_SCALARS: Dict[Any, Callable[[Any], bool]] = {
    bool: lambda v: isinstance(v, bool),
    int: lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
    float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    str: lambda v: isinstance(v, str),
}

C = TypeVar("C", bound="Config")


class _Mistyped(Exception):
    """A field whose value does not fit its annotation; the message names the field."""


def _mistyped(path: str, expected: Any, got: Any) -> _Mistyped:
    shown = repr(got) if len(repr(got)) <= 60 else repr(got)[:57] + "..."
    return _Mistyped(f"{path}: expected {_type_name(expected)}, got {type(got).__name__} {shown}")


def _type_name(tp: Any) -> str:
    """How an error names an annotation (a text is already a name)."""
    if isinstance(tp, str):
        return tp
    if tp is type(None):
        return "None"
    return tp.__name__ if isinstance(tp, type) else str(tp).replace("typing.", "")


def _coerce(tp: Any, v: Any, path: str, source: str) -> Any:
    """``v`` as the annotation ``tp`` asks, or ``_Mistyped`` naming ``path``."""
    if tp is Any or tp is object:
        return _freeze(v)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Union or (_UnionType is not None and isinstance(tp, _UnionType)):
        for arg in args:
            try:
                return _coerce(arg, v, path, source)
            except _Mistyped:
                pass
        raise _mistyped(path, " or ".join(map(_type_name, args)), v)
    if tp is type(None) or tp is None:
        if v is None:
            return None
        raise _mistyped(path, "None", v)
    if origin is typing.Literal:
        if any(v == allowed and type(v) is type(allowed) for allowed in args):
            return v
        raise _mistyped(path, " or ".join(map(repr, args)), v)
    if tp in _SCALARS:
        if not _SCALARS[tp](v):
            raise _mistyped(path, tp, v)
        return tp(v) if tp is float or isinstance(v, float) else v
    if tp in (list, tuple, List, Tuple, Sequence) or origin in (list, tuple, collections.abc.Sequence):
        if not isinstance(v, (list, tuple)):
            raise _mistyped(path, "list", v)
        if origin is tuple and args and args[-1] is not Ellipsis:  # a fixed-length tuple
            if len(args) != len(v):
                raise _mistyped(path, tp, v)
            items = args
        else:
            items = (args[0] if args else Any,) * len(v)
        return FrozenList(_coerce(a, x, f"{path}[{i}]", source) for i, (a, x) in enumerate(zip(items, v)))
    if tp in (dict, Dict, Mapping) or origin in (dict, collections.abc.Mapping):
        if not isinstance(v, Mapping):
            raise _mistyped(path, "dict", v)
        for k in v:
            if not isinstance(k, str):
                raise _mistyped(f"{path}[{k!r}]", "a str key", k)
        item = args[1] if len(args) == 2 else Any
        return FrozenDict((k, _coerce(item, x, f"{path}[{k!r}]", source)) for k, x in v.items())
    if tp is Prompt and isinstance(v, str):
        return Prompt(path.split(".")[-1], v)
    if tp is Prompt and isinstance(v, Mapping):
        try:
            return _prompt_from_json(v, source)
        except Error as e:
            raise _mistyped(path, f"a prompt ({e.message})", v) from None
    if isinstance(tp, type) and issubclass(tp, Config) and isinstance(v, Mapping):
        return tp._build(v, path, source)
    if isinstance(tp, type):
        if isinstance(v, tp):
            return v
        raise _mistyped(path, tp, v)
    raise TypeError(f"{path}: failsoft.Config does not support the annotation {tp!r}")


def _freeze(v: Any) -> Any:
    if isinstance(v, (FrozenDict, FrozenList)):
        return v
    if isinstance(v, Mapping):
        return FrozenDict((k, _freeze(x)) for k, x in v.items())
    if isinstance(v, (list, tuple)):
        return FrozenList(map(_freeze, v))
    return v


def _to_json(v: Any) -> Any:
    if isinstance(v, Prompt):
        return v.to_json()
    if isinstance(v, Config):
        return v._failsoft_json()
    if isinstance(v, Mapping):
        return {k: _to_json(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_to_json(x) for x in v]
    return v


def _immutable(self: object, *args: object) -> NoReturn:
    raise TypeError(f"{type(self).__name__} is immutable (it may be shared by every read of this config)")


class Config:
    """Base class of a typed configuration, like ``opik.Config``::

        class MyConfig(failsoft.Config):
            model: str = "gpt-4o-mini"
            temperature: float = 0.7
            system_prompt: Optional[failsoft.Prompt] = None

        cfg = client.get_or_create_config(fallback=MyConfig())
        cfg.model, cfg.is_fallback

    Instances are immutable (a config read from the cache is shared by every read of its
    version). ``is_fallback`` is true when the config is the caller's fallback rather than the
    backend's (or a snapshot of it).
    """

    if typing.TYPE_CHECKING:
        # Not runtime annotations: they are no fields (and `failsoft.Config` is re-homed to the
        # `failsoft` module, where these names would not resolve).
        is_fallback: bool
        _failsoft_fields: ClassVar[Dict[str, Tuple[Any, Any]]]

    def __init__(self, **values: Any) -> None:
        cls = type(self)
        unknown = [k for k in values if k not in cls._fields()]
        if unknown:
            raise InvalidArgument(f"{cls.__name__} has no field{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")
        try:
            self._fill(values, cls.__name__, "fallback")
        except _Mistyped as e:
            raise InvalidArgument(str(e)) from None

    @classmethod
    def _fields(cls) -> Dict[str, Tuple[Any, Any]]:
        """Each field's annotation and default (``_MISSING`` when it has none), found once per class."""
        if "_failsoft_fields" not in cls.__dict__:
            # Each class's annotations are evaluated in its own module (string annotations included).
            fields = {
                name: (tp, getattr(cls, name, _MISSING))
                for name, tp in typing.get_type_hints(cls).items()
                if not name.startswith("_") and name != "is_fallback" and typing.get_origin(tp) is not ClassVar
            }
            type.__setattr__(cls, "_failsoft_fields", fields)
        return cls._failsoft_fields

    def _fill(self, data: Mapping[str, Any], path: str, source: str, is_fallback: bool = False) -> None:
        """Sets every field from ``data`` (else its default), as its annotation asks."""
        for name, (annotation, default) in type(self)._fields().items():
            where = f"{path}.{name}" if path else name
            v = data.get(name, default)
            if v is _MISSING:
                raise _Mistyped(f"{where}: missing (the field has no default)")
            object.__setattr__(self, name, _coerce(annotation, v, where, source))
        object.__setattr__(self, "is_fallback", is_fallback)

    @classmethod
    def _build(cls: type[C], data: Mapping[str, Any], path: str, source: str, is_fallback: bool = False) -> C:
        """An instance from data, without calling ``__init__`` (a subclass may have its own)."""
        self = cls.__new__(cls)
        self._fill(data, path, source, is_fallback)
        return self

    @classmethod
    def _from_value(cls: type[C], value: Value, key: str = "") -> C:
        """The typed config of a value read from the backend (an object with every declared
        field of the fallback's JSON type: the core checked it)."""
        try:
            return cls._build(value.value, "", value.source)
        except _Mistyped as e:
            raise InvalidResponse(f"config field {e}", key=key) from None

    def _values(self) -> Dict[str, Any]:
        return {name: getattr(self, name) for name in type(self)._fields()}

    def _as_fallback(self: C) -> C:
        """A copy of this fallback, marked ``is_fallback``: its values are already coerced, so
        they are shared as they are (no second check on every fallback read)."""
        copy = type(self).__new__(type(self))
        for name in type(self)._fields():
            object.__setattr__(copy, name, getattr(self, name))
        object.__setattr__(copy, "is_fallback", True)
        return copy

    def _failsoft_json(self) -> Dict[str, Any]:
        """The fields as JSON: the declaration the core checks, and the seed of a new config.
        Private so that a subclass overriding ``to_dict`` cannot change either."""
        return {name: _to_json(v) for name, v in self._values().items()}

    def to_dict(self) -> Dict[str, Any]:
        """The fields as a plain dict (prompts and nested configs as JSON)."""
        return self._failsoft_json()

    __setattr__ = __delattr__ = _immutable

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Config) or type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = "".join(f"{n}={v!r}, " for n, v in self._values().items())
        return f"{type(self).__name__}({fields}is_fallback={self.is_fallback!r})"

    def __reduce__(self) -> Any:
        # Rebuilt through `_build`, like the fallback copy: a subclass may have its own `__init__`.
        return (type(self)._build, (self._values(), type(self).__name__, "fallback", self.is_fallback))
