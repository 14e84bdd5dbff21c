"""Name lookup shared by every family (activations, losses, initializers, ...).

Each family module keeps one :class:`Registry` and exposes ``get``,
``serialize`` and ``deserialize`` built on it, so that Keras identifiers work
everywhere: ``None`` (the family's default), a name such as ``"glorot_uniform"``
or ``"GlorotUniform"``, a ``{"class_name": ..., "config": ...}`` dict, an
instance, or any callable.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any


def snake_case(name: str) -> str:
    """A class name as Keras names its instances: ``Conv2D`` -> ``conv2d``,
    ``BatchNormalization`` -> ``batch_normalization``, ``KLDivergence`` -> ``kl_divergence``."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


class Configurable:
    """Objects rebuilt from their constructor arguments: ``get_config``/``from_config``.

    The base of initializers, regularizers, constraints, losses and schedules;
    ``repr`` shows the config.
    """

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]):
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _key(name: str) -> str:
    return name.lower().replace("_", "")


class Registry:
    """Names to objects (classes or functions) for one family, e.g. ``"initializer"``."""

    def __init__(self, family: str) -> None:
        self.family = family
        self._items: dict[str, Any] = {}
        self._names: dict[int, str] = {}  # object id -> canonical name
        self._canonical: list[str] = []

    def register(self, *names: str) -> Callable:
        """Decorator: file the object under ``names`` (the first is canonical) and its
        class/function name."""

        def deco(obj):
            all_names = list(names) or [obj.__name__]
            for n in [*all_names, obj.__name__]:
                self._items.setdefault(_key(n), obj)
            self._names.setdefault(id(obj), all_names[0])
            self._canonical.append(all_names[0])
            return obj

        return deco

    def add(self, name: str, obj: Any) -> None:
        """File an object under one more name (an alias)."""
        self._items[_key(name)] = obj
        self._names.setdefault(id(obj), name)

    def names(self) -> list[str]:
        """The canonical names, in registration order."""
        return list(self._canonical)

    def __contains__(self, name: str) -> bool:
        return isinstance(name, str) and _key(name) in self._items

    def lookup(self, name: str) -> Any:
        try:
            return self._items[_key(name)]
        except KeyError:
            raise ValueError(
                f"Unknown {self.family} {name!r}. Valid names: {', '.join(self._canonical)}."
            ) from None

    def get(self, identifier: Any, *, instantiate: bool = True, **kwargs: Any) -> Any:
        """Resolve a Keras-style identifier (see the module docstring).

        Names of classes give instances (``instantiate``; ``kwargs`` go to the
        constructor); names of functions give the function.
        """
        if identifier is None:
            return None
        if isinstance(identifier, str):
            obj = self.lookup(identifier)
            return obj(**kwargs) if instantiate and isinstance(obj, type) else obj
        if isinstance(identifier, dict):
            return self.deserialize(identifier)
        if isinstance(identifier, type):
            return identifier(**kwargs) if instantiate else identifier
        if callable(identifier):
            return identifier
        raise TypeError(
            f"Cannot interpret {self.family} identifier {identifier!r} "
            f"({type(identifier).__name__}): expected None, a name (one of "
            f"{', '.join(self._canonical)}), a config dict or a callable."
        )

    def serialize(self, obj: Any) -> Any:
        """A JSON-ready form: a name for registered functions, a config dict for objects."""
        if obj is None:
            return None
        if id(obj) in self._names and not isinstance(obj, type):
            return self._names[id(obj)]
        get_config = getattr(obj, "get_config", None)
        if get_config is not None:
            return {"class_name": type(obj).__name__, "config": get_config()}
        raise ValueError(
            f"Cannot serialize {self.family} {obj!r}: it is not a registered name and has no "
            "get_config(). Register it or give it get_config()."
        )

    def deserialize(self, config: Any) -> Any:
        """Inverse of :meth:`serialize`."""
        if isinstance(config, dict):
            if "class_name" not in config:
                raise ValueError(
                    f"A {self.family} config dict needs 'class_name' and 'config'; got "
                    f"keys {sorted(config)}."
                )
            cls = self.lookup(config["class_name"])
            cfg = config.get("config") or {}
            from_config = getattr(cls, "from_config", None)
            return from_config(cfg) if from_config is not None else cls(**cfg)
        return self.get(config)
