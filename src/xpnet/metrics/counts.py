"""``TruePositives``, ``FalsePositives``, ``TrueNegatives``, ``FalseNegatives``: the
(weighted) confusion counts at ``thresholds`` (a score above the threshold is a predicted
positive), as in Keras 3."""

from __future__ import annotations

from xpnet.backend import host_numpy as np
from xpnet.metrics._base import _host, _registry
from xpnet.metrics.confusion import F1Score, _Confusion

__all__ = ["FBetaScore", "FalseNegatives", "FalsePositives", "TrueNegatives", "TruePositives"]


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


@_registry.register("fbeta_score", "FBetaScore")
class FBetaScore(F1Score):
    """F-beta per class: ``(1 + beta^2) P R / (beta^2 P + R)`` (``beta=1``: F1Score).

    ``average`` and ``threshold`` as for :class:`F1Score`.
    """

    def __init__(self, average=None, beta: float = 1.0, threshold=None, name="fbeta_score",
                 dtype=None):  # fmt: skip
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not beta > 0:
            raise ValueError(f"FBetaScore: beta must be a positive number; got {beta!r}.")
        self.beta = float(beta)
        super().__init__(average=average, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        config["beta"] = self.beta
        return config
