"""``xn.utils``: the helpers of ``keras.utils`` that porting code calls first.

``to_categorical``, ``set_random_seed``, ``pad_sequences``, ``split_dataset``,
``plot_model`` (through pydot and Graphviz, when both are installed) and
``custom_object_scope`` / ``register_keras_serializable``. They work on host
(NumPy) data, as Keras's do: one-hot labels and padded sequences are prepared
once, before ``fit`` moves batches to the model's device.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Sequence
from typing import Any

from xpnet import backend as B
from xpnet.data import to_categorical
from xpnet.layers.serialization import custom_object_scope
from xpnet.saving import get_registered_name, get_registered_object, register_keras_serializable

__all__ = [
    "custom_object_scope",
    "get_registered_name",
    "get_registered_object",
    "model_to_dot",
    "normalize",
    "pad_sequences",
    "plot_model",
    "register_keras_serializable",
    "set_random_seed",
    "split_dataset",
    "to_categorical",
]

np = B.host_numpy


def set_random_seed(seed: int) -> None:
    """Seed every random draw of xpnet (initial weights, dropout, shuffling) and Python's
    ``random`` module, as ``keras.utils.set_random_seed`` does; see :func:`xpnet.set_seed`."""
    import random

    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"set_random_seed expected a non-negative int; received seed={seed!r}.")
    random.seed(int(seed))
    B.set_seed(int(seed))


def normalize(x: Any, axis: int = -1, order: int = 2) -> Any:
    """``x`` divided by its ``order``-norm along ``axis`` (zero vectors stay zero); host NumPy."""
    arr = np.asarray(B.to_numpy(x) if B.is_array(x) else x)
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(B.floatx())
    norm = np.linalg.norm(arr, ord=order, axis=axis, keepdims=True)
    norm[norm == 0] = 1
    return (arr / norm).astype(arr.dtype)


def pad_sequences(
    sequences: Sequence[Sequence[Any]],
    maxlen: int | None = None,
    dtype: str = "int32",
    padding: str = "pre",
    truncating: str = "pre",
    value: float = 0.0,
) -> Any:
    """Lists of ids to one ``(num_samples, maxlen)`` host array, as ``keras.utils.pad_sequences``.

    Sequences shorter than ``maxlen`` (default: the longest) are padded with
    ``value`` before (``padding="pre"``, Keras's default) or after ("post");
    longer ones lose their first (``truncating="pre"``) or last ("post") items.

    >>> import xpnet as xn
    >>> xn.utils.pad_sequences([[1, 2], [3]], maxlen=3).tolist()
    [[0, 1, 2], [0, 0, 3]]
    """
    for arg, given in (("padding", padding), ("truncating", truncating)):
        if given not in ("pre", "post"):
            raise ValueError(f"pad_sequences: {arg} must be 'pre' or 'post'; received {given!r}.")
    if not hasattr(sequences, "__len__"):
        raise ValueError(
            f"pad_sequences expected a list of sequences; received {type(sequences).__name__}."
        )
    rows = []
    for i, seq in enumerate(sequences):
        if not hasattr(seq, "__len__"):
            raise ValueError(
                f"pad_sequences: sequence {i} is a {type(seq).__name__}, not a sequence of ids."
            )
        rows.append(np.asarray(seq))
    if maxlen is None:
        maxlen = max((len(r) for r in rows), default=0)
    elif not isinstance(maxlen, numbers.Integral) or maxlen < 0:
        raise ValueError(f"pad_sequences: maxlen must be a non-negative int; received {maxlen!r}.")
    sample_shape = ()
    for r in rows:
        if len(r):
            sample_shape = r.shape[1:]
            break
    out = np.full((len(rows), int(maxlen), *sample_shape), value, dtype=dtype)
    for i, r in enumerate(rows):
        if not len(r) or not maxlen:
            continue
        r = r[-maxlen:] if truncating == "pre" else r[:maxlen]
        if r.shape[1:] != sample_shape:
            raise ValueError(
                f"pad_sequences: sequence {i} has items of shape {r.shape[1:]}, the others "
                f"{sample_shape}."
            )
        if padding == "post":
            out[i, : len(r)] = r
        else:
            out[i, -len(r) :] = r
    return out


def _size(what: str, value: Any, total: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"split_dataset: {what} must be an int or a float; received {value!r}.")
    if isinstance(value, numbers.Integral):
        if not 0 < value <= total:
            raise ValueError(
                f"split_dataset: {what}={value} must be in [1, {total}] (the dataset has "
                f"{total} samples)."
            )
        return int(value)
    if not 0.0 < value < 1.0:
        raise ValueError(f"split_dataset: a float {what} must be in (0, 1); received {value}.")
    return math.floor(value * total)


def split_dataset(
    dataset: Any,
    left_size: int | float | None = None,
    right_size: int | float | None = None,
    shuffle: bool = False,
    seed: int | None = None,
) -> tuple[Any, Any]:
    """Split arrays (one array, or a tuple/list/dict of arrays of equal length) in two.

    ``left_size``/``right_size`` are sample counts (ints) or fractions (floats);
    with neither, the left part gets 80%, as in Keras. Keras returns
    ``tf.data.Dataset`` objects; xpnet returns the same structure as its input,
    with host arrays (what ``fit`` takes).
    """
    leaves: list[Any]
    if isinstance(dataset, dict):
        keys = list(dataset)
        leaves = [dataset[k] for k in keys]
    elif (
        isinstance(dataset, (tuple, list))
        and dataset
        and all(hasattr(v, "shape") or isinstance(v, (list, tuple)) for v in dataset)
        and not all(isinstance(v, numbers.Number) for v in dataset)
    ):
        leaves = list(dataset)
    else:
        leaves = [dataset]
    arrays = [np.asarray(B.to_numpy(v) if B.is_array(v) else v) for v in leaves]
    total = len(arrays[0])
    for a in arrays[1:]:
        if len(a) != total:
            raise ValueError(
                f"split_dataset: the arrays have different lengths ({[len(a) for a in arrays]})."
            )
    left = _size("left_size", left_size, total)
    right = _size("right_size", right_size, total)
    if left is None and right is None:
        left = math.floor(0.8 * total)
    if left is None:
        left = total - right
    if right is None:
        right = total - left
    if left + right > total:
        raise ValueError(
            f"split_dataset: left_size + right_size ({left} + {right}) exceeds the dataset's "
            f"{total} samples."
        )
    order = np.arange(total)
    if shuffle:
        order = (np.random.default_rng(seed) if seed is not None else B.host_rng()).permutation(
            total
        )
    parts = [[a[order[:left]] for a in arrays], [a[order[left : left + right]] for a in arrays]]

    def shaped(part):
        if isinstance(dataset, dict):
            return dict(zip(keys, part))
        if len(leaves) == 1 and leaves[0] is dataset:
            return part[0]
        return type(dataset)(part) if isinstance(dataset, (tuple, list)) else tuple(part)

    return shaped(parts[0]), shaped(parts[1])


def model_to_dot(model: Any, show_shapes: bool = False, rankdir: str = "TB", **kwargs: Any):
    """The model's layers as a pydot graph (needs ``pydot``; drawing needs Graphviz)."""
    try:
        import pydot
    except ImportError:
        raise ImportError(
            "plot_model/model_to_dot need pydot and Graphviz: `pip install pydot` and install "
            "Graphviz (https://graphviz.org/download/). model.summary() prints the layers "
            "without them."
        ) from None
    graph = pydot.Dot(graph_type="digraph", rankdir=rankdir)
    layers = list(getattr(model, "layers", []))
    ids = {id(layer): f"n{i}" for i, layer in enumerate(layers)}
    for layer in layers:
        label = f"{layer.name} ({type(layer).__name__})"
        graph.add_node(pydot.Node(ids[id(layer)], label=label, shape="record"))
    edges = getattr(model, "_layer_edges", None)
    pairs = edges() if callable(edges) else list(itertools.pairwise(layers))
    for a, b in pairs:
        if id(a) in ids and id(b) in ids:
            graph.add_edge(pydot.Edge(ids[id(a)], ids[id(b)]))
    return graph


def plot_model(model: Any, to_file: str = "model.png", show_shapes: bool = False, **kwargs: Any):
    """Draw the model's layers to ``to_file`` (needs pydot and Graphviz, as in Keras)."""
    graph = model_to_dot(model, show_shapes=show_shapes, **kwargs)
    ext = str(to_file).rsplit(".", 1)[-1] if "." in str(to_file) else "png"
    try:
        graph.write(str(to_file), format=ext)
    except (OSError, FileNotFoundError) as err:  # pydot raises these when `dot` is missing
        raise ImportError(
            f"plot_model could not run Graphviz's `dot` ({err}); install Graphviz "
            "(https://graphviz.org/download/)."
        ) from err
    return graph
