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
from typing import Any, ClassVar, Dict, List, Mapping, Optional, Sequence, Tuple, TypeVar, Union

from ._errors import Error, InvalidArgument, InvalidResponse
from ._frozen import FrozenDict, FrozenList
from ._native import Prompt, Value, _prompt_from_json

__all__ = ["Config"]

_MISSING: Any = object()
_RESERVED = frozenset({"is_fallback"})
_UnionType: Any = getattr(types, "UnionType", None)  # `X | Y` (Python 3.10+)

C = TypeVar("C", bound="Config")


class _Mistyped(Exception):
    def __init__(self, path: str, expected: str, got: Any) -> None:
        super().__init__(path)
        self.path = path
        self.expected = expected
        self.got = got

    def describe(self) -> str:
        got = self.got
        if got is _MISSING:
            return f"{self.path}: missing"
        shown = repr(got)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return f"{self.path}: expected {self.expected}, got {type(got).__name__} {shown}"


def _type_name(tp: Any) -> str:
    if tp is type(None):
        return "None"
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) is Union or (_UnionType is not None and isinstance(tp, _UnionType))


def _coerce(tp: Any, v: Any, path: str, source: str) -> Any:
    """``v`` as the annotation ``tp`` asks, or ``_Mistyped`` naming ``path``."""
    if tp is Any or tp is object:
        return _freeze(v)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if _is_union(tp):
        if v is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(arg, v, path, source)
            except _Mistyped:
                pass
        raise _Mistyped(path, " or ".join(_type_name(a) for a in args), v)
    if tp is type(None) or tp is None:
        if v is None:
            return None
        raise _Mistyped(path, "None", v)
    if origin is typing.Literal:
        for allowed in args:
            if v == allowed and type(v) is type(allowed):
                return v
        raise _Mistyped(path, " or ".join(repr(a) for a in args), v)
    if tp is bool:
        if isinstance(v, bool):
            return v
        raise _Mistyped(path, "bool", v)
    if tp is int:
        if isinstance(v, int) and not isinstance(v, bool):
            return v
        if isinstance(v, float) and v.is_integer():
            return int(v)
        raise _Mistyped(path, "int", v)
    if tp is float:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v)
        raise _Mistyped(path, "float", v)
    if tp is str:
        if isinstance(v, str):
            return v
        raise _Mistyped(path, "str", v)
    if tp in (list, tuple, List, Tuple, Sequence) or origin in (list, tuple, collections.abc.Sequence):
        if isinstance(v, (list, tuple)):
            item = args[0] if args and origin is not tuple else Any
            if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
                if len(args) != len(v):
                    raise _Mistyped(path, _type_name(tp), v)
                return FrozenList(_coerce(a, x, f"{path}[{i}]", source) for i, (a, x) in enumerate(zip(args, v)))
            if origin is tuple and args:
                item = args[0]
            return FrozenList(_coerce(item, x, f"{path}[{i}]", source) for i, x in enumerate(v))
        raise _Mistyped(path, "list", v)
    if tp in (dict, Dict, Mapping) or origin in (dict, collections.abc.Mapping):
        if isinstance(v, Mapping):
            item = args[1] if len(args) == 2 else Any
            out = FrozenDict()
            for k, x in v.items():
                if not isinstance(k, str):
                    raise _Mistyped(f"{path}[{k!r}]", "a str key", k)
                dict.__setitem__(out, k, _coerce(item, x, f"{path}[{k!r}]", source))
            return out
        raise _Mistyped(path, "dict", v)
    if tp is Prompt:
        if isinstance(v, Prompt):
            return v
        if isinstance(v, Mapping):
            try:
                return _prompt_from_json(v, source)
            except Error as e:
                raise _Mistyped(path, f"a prompt ({e.message})", v) from None
        if isinstance(v, str):
            return Prompt(path.split(".")[-1], v)
        raise _Mistyped(path, "Prompt", v)
    if isinstance(tp, type) and issubclass(tp, Config):
        if isinstance(v, tp):
            return v
        if isinstance(v, Mapping):
            return tp._build(v, is_fallback=False, path=path, source=source)
        raise _Mistyped(path, tp.__name__, v)
    if isinstance(tp, type):
        if isinstance(v, tp):
            return v
        raise _Mistyped(path, tp.__name__, v)
    raise TypeError(f"{path}: failsoft.Config does not support the annotation {tp!r}")


def _freeze(v: Any) -> Any:
    if isinstance(v, (FrozenDict, FrozenList)):
        return v
    if isinstance(v, Mapping):
        out = FrozenDict()
        for k, x in v.items():
            dict.__setitem__(out, k, _freeze(x))
        return out
    if isinstance(v, (list, tuple)):
        return FrozenList(_freeze(x) for x in v)
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


class _Field:
    __slots__ = ("name", "annotation", "default")

    def __init__(self, name: str, annotation: Any, default: Any) -> None:
        self.name = name
        self.annotation = annotation
        self.default = default


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
        _failsoft_fields: ClassVar[Optional[Dict[str, _Field]]]

    def __init__(self, **values: Any) -> None:
        cls = type(self)
        fields = cls._fields()
        unknown = [k for k in values if k not in fields]
        if unknown:
            raise InvalidArgument(f"{cls.__name__} has no field{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")
        for name, field in fields.items():
            v = values.get(name, field.default)
            if v is _MISSING:
                raise InvalidArgument(f"{cls.__name__}.{name}: missing (the field has no default)")
            try:
                object.__setattr__(self, name, _coerce(field.annotation, v, f"{cls.__name__}.{name}", "fallback"))
            except _Mistyped as e:
                raise InvalidArgument(e.describe()) from None
        object.__setattr__(self, "is_fallback", False)

    @classmethod
    def _fields(cls) -> Dict[str, _Field]:
        cached: Optional[Dict[str, _Field]] = cls.__dict__.get("_failsoft_fields") if cls is not Config else {}
        if cached is not None:
            return cached
        # Each class's annotations are evaluated in its own module (string annotations included).
        hints = typing.get_type_hints(cls)
        fields: Dict[str, _Field] = {}
        for name, annotation in hints.items():
            if name.startswith("_") or name in _RESERVED or typing.get_origin(annotation) is ClassVar:
                continue
            fields[name] = _Field(name, annotation, getattr(cls, name, _MISSING))
        type.__setattr__(cls, "_failsoft_fields", fields)
        return fields

    @classmethod
    def _build(cls: type[C], data: Mapping[str, Any], *, is_fallback: bool, path: str, source: str) -> C:
        """An instance from backend data (fields already checked present by the core)."""
        self = cls.__new__(cls)
        for name, field in cls._fields().items():
            where = f"{path}.{name}" if path else name
            if name not in data:
                if field.default is _MISSING:
                    raise _Mistyped(where, _type_name(field.annotation), _MISSING)
                v = field.default
            else:
                v = data[name]
            object.__setattr__(self, name, _coerce(field.annotation, v, where, source))
        object.__setattr__(self, "is_fallback", is_fallback)
        return self

    @classmethod
    def _from_value(cls: type[C], value: Value, key: str = "") -> C:
        """The typed config of a value read from the backend (an object with every declared
        field of the fallback's JSON type: the core checked it)."""
        try:
            return cls._build(value.value, is_fallback=False, path="", source=value.source)
        except _Mistyped as e:
            raise InvalidResponse(f"config field {e.describe()}", key=key) from None

    def _as_fallback(self: C) -> C:
        """A copy of this fallback, marked ``is_fallback``."""
        copy = type(self).__new__(type(self))
        for name in type(self)._fields():
            object.__setattr__(copy, name, getattr(self, name))
        object.__setattr__(copy, "is_fallback", True)
        return copy

    def _failsoft_json(self) -> Dict[str, Any]:
        """The fields as JSON: the declaration the core checks, and the seed of a new config."""
        return {name: _to_json(getattr(self, name)) for name in type(self)._fields()}

    def to_dict(self) -> Dict[str, Any]:
        """The fields as a plain dict (prompts and nested configs as JSON)."""
        return self._failsoft_json()

    def __setattr__(self, name: str, value: Any) -> None:
        raise TypeError(f"{type(self).__name__} is immutable (it may be shared by every read of this config)")

    def __delattr__(self, name: str) -> None:
        raise TypeError(f"{type(self).__name__} is immutable (it may be shared by every read of this config)")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in type(self)._fields())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in type(self)._fields())
        sep = ", " if fields else ""
        return f"{type(self).__name__}({fields}{sep}is_fallback={self.is_fallback!r})"

    def __reduce__(self) -> Any:
        return (_rebuild_config, (type(self), {n: getattr(self, n) for n in type(self)._fields()}, self.is_fallback))


def _rebuild_config(cls: type[C], values: Dict[str, Any], is_fallback: bool) -> C:
    cfg = cls(**values)
    object.__setattr__(cfg, "is_fallback", is_fallback)
    return cfg
