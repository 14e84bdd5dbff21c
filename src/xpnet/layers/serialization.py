"""Layers to JSON-ready configs and back: ``{"class_name": ..., "config": ...}``.

Classes are looked up by name among xpnet's layers, the classes registered with
:func:`register_builtin` (xpnet's models register themselves when
:mod:`xpnet.models` is imported, so this module never imports the models) and
the ``custom_objects`` given to ``load_model`` -- never imported from a module
path named in the file, so a saved config cannot run arbitrary code.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from xpnet.layers.base import Layer

__all__ = [
    "custom_object_scope",
    "deserialize_layer",
    "get_registered_name",
    "get_registered_object",
    "layer_class",
    "register_builtin",
    "register_keras_serializable",
    "serialize_layer",
]


class _Scope(threading.local):
    objects: tuple[Mapping[str, Any], ...] = ()


_scope = _Scope()


@contextlib.contextmanager
def custom_object_scope(objects: Mapping[str, Any] | None) -> Iterator[None]:
    """Make ``objects`` (name -> class) known to :func:`deserialize_layer` inside a block."""
    saved = _scope.objects
    _scope.objects = (*saved, dict(objects or {}))
    try:
        yield
    finally:
        _scope.objects = saved


def serialize_layer(layer: Layer) -> dict[str, Any]:
    """``{"class_name": type name, "config": layer.get_config()}``."""
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


_registered: dict[str, type] = {}


def register_builtin(*classes: type) -> None:
    """Make xpnet's own Layer subclasses defined outside ``xpnet.layers`` (the models)
    known to :func:`deserialize_layer` by their class names."""
    for cls in classes:
        _registered.setdefault(cls.__name__, cls)


_user: dict[str, Any] = {}  # "package>name" -> class or function
_user_names: dict[int, str] = {}  # id(object) -> "package>name"


def register_keras_serializable(package: str = "Custom", name: str | None = None):
    """Decorator: make a class or function of yours known by name when loading.

    As in Keras, it is filed under ``"package>name"`` (``name`` defaults to
    the class or function name), and ``load_model`` then finds it without
    ``custom_objects``. Only registered objects can be named by a file; nothing
    is ever imported from a module path written in one.
    """
    if not isinstance(package, str) or ">" in package or not package:
        raise ValueError(
            f"register_keras_serializable: package must be a non-empty string without '>'; "
            f"received {package!r}."
        )

    def deco(obj):
        if not callable(obj):
            raise TypeError(
                f"register_keras_serializable decorates classes and functions; received "
                f"{type(obj).__name__}."
            )
        key = f"{package}>{name or obj.__name__}"
        if isinstance(obj, type) and not hasattr(obj, "get_config"):
            raise TypeError(
                f"Cannot register {obj.__name__}: a registered class needs get_config() "
                "(and from_config if its constructor arguments differ)."
            )
        _user[key] = obj
        _user_names[id(obj)] = key
        return obj

    return deco


def get_registered_name(obj: Any) -> str:
    """The ``"package>name"`` under which ``obj`` was registered, else its own name."""
    return _user_names.get(id(obj), getattr(obj, "__name__", type(obj).__name__))


def get_registered_object(name: str, custom_objects: Mapping[str, Any] | None = None) -> Any:
    """The object registered (or passed in ``custom_objects`` / a scope) as ``name``, or None."""
    for objects in (dict(custom_objects or {}), *reversed(_scope.objects)):
        if name in objects:
            return objects[name]
    if name in _user:
        return _user[name]
    short = [obj for key, obj in _user.items() if key.split(">", 1)[1] == name]
    return short[0] if len(short) == 1 else None


def _builtin_classes() -> dict[str, type]:
    import xpnet.layers as layers_mod

    found: dict[str, type] = {}
    for name in dir(layers_mod):
        obj = getattr(layers_mod, name)
        if isinstance(obj, type) and issubclass(obj, Layer):
            found.setdefault(obj.__name__, obj)
    for name, cls in _registered.items():
        found.setdefault(name, cls)
    return found


def layer_class(name: str) -> type:
    """The Layer subclass called ``name`` (custom objects first, then xpnet's own)."""
    for objects in reversed(_scope.objects):
        if name in objects:
            return objects[name]
    classes = _builtin_classes()
    if name in classes:
        return classes[name]
    registered = get_registered_object(name)
    if isinstance(registered, type):
        return registered
    raise ValueError(
        f"Unknown layer class {name!r}. If it is your own layer or model, pass it to "
        f"load_model(..., custom_objects={{'{name}': {name}}}). Known: "
        f"{', '.join(sorted(classes))}."
    )


def deserialize_layer(spec: Mapping[str, Any] | Layer) -> Layer:
    """Rebuild a layer from :func:`serialize_layer`'s output (a Layer passes through)."""
    if isinstance(spec, Layer):
        return spec
    if not isinstance(spec, Mapping) or "class_name" not in spec:
        raise ValueError(f"A layer config needs 'class_name' and 'config'; got {spec!r}.")
    cls = layer_class(spec["class_name"])
    config = dict(spec.get("config") or {})
    try:
        return cls.from_config(config)
    except TypeError as err:
        raise ValueError(
            f"Cannot rebuild {spec['class_name']} from its config ({err}). A custom layer needs "
            "get_config() returning its constructor arguments (and from_config if they differ)."
        ) from err
