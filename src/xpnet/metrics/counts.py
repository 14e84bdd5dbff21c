"""``TruePositives``, ``FalsePositives``, ``TrueNegatives``, ``FalseNegatives``: the
(weighted) confusion counts at ``thresholds`` (a score above the threshold is a predicted
positive), as in Keras 3."""

from __future__ import annotations

from xpnet.backend import host_numpy as np
from xpnet.metrics._base import _host, _registry
from xpnet.metrics.confusion import _Confusion

__all__ = ["FalseNegatives", "FalsePositives", "TrueNegatives", "TruePositives"]


class _Count(_Confusion):
    _state = "tp"

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(thresholds=thresholds, name=name, dtype=dtype)

    def result(self):
        value = getattr(self, self._state)
        if value is None:
            return 0.0 if self._single else np.zeros(len(self.thresholds))
        host = np.asarray(_host(value), dtype=np.float64)
        return float(host[0]) if self._single else host

    def get_config(self):
        config = super().get_config()
        config.pop("top_k", None)
        config.pop("class_id", None)
        return config


@_registry.register("true_positives", "TruePositives")
class TruePositives(_Count):
    """How many (weighted) entries are positive and scored above the threshold."""

    _state, direction = "tp", "up"


@_registry.register("false_positives", "FalsePositives")
class FalsePositives(_Count):
    """How many (weighted) entries are negative but scored above the threshold."""

    _state, direction = "fp", "down"


@_registry.register("true_negatives", "TrueNegatives")
class TrueNegatives(_Count):
    """How many (weighted) entries are negative and scored at or below the threshold."""

    _state, direction = "tn", "up"


@_registry.register("false_negatives", "FalseNegatives")
class FalseNegatives(_Count):
    """How many (weighted) entries are positive but scored at or below the threshold."""

    _state, direction = "fn", "down"
