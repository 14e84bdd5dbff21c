"""``model.summary()``: one row per layer (name, type, output shape, parameters), then totals."""

from __future__ import annotations

from xpnet import backend as B

__all__ = ["summary_lines"]


def _fmt_shape(shape) -> str:
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return ", ".join(_fmt_shape(s) for s in shape)
    dims = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({dims},)" if len(shape) == 1 else f"({dims})"


def _fmt_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} GB"


def _rows(model) -> tuple[list[list[str]], bool]:
    """Table cells per layer, and whether the table has a "Connected to" column."""
    from xpnet.models.functional import Functional, flatten
    from xpnet.models.sequential import Sequential

    rows = []
    if isinstance(model, Sequential):
        for layer, shape in zip(model.layers, model.layer_output_shapes()):
            rows.append(
                [
                    f"{layer.name} ({type(layer).__name__})",
                    _fmt_shape(shape),
                    f"{layer.count_params():,}",
                ]
            )
        return rows, False
    if isinstance(model, Functional):
        nodes_of: dict[int, list] = {}
        for node in model._graph_holder.graph.nodes:
            nodes_of.setdefault(id(node.layer), []).append(node)
        for layer in model.layers:
            nodes = nodes_of.get(id(layer), [])
            outs = [t.shape for n in nodes for t in n.outputs]
            if len(nodes) > 1:
                shape = "multiple"
            else:
                shape = _fmt_shape(outs if len(outs) > 1 else (outs[0] if outs else None))
            sources = [t.name for n in nodes for t in flatten(n.inputs)]
            rows.append(
                [
                    f"{layer.name} ({type(layer).__name__})",
                    shape,
                    f"{layer.count_params():,}",
                    ", ".join(sources) or "-",
                ]
            )
        return rows, True
    for layer in model.layers:
        rows.append([f"{layer.name} ({type(layer).__name__})", "?", f"{layer.count_params():,}"])
    return rows, False


def _nbytes(params) -> int:
    return sum(p.size * B.numpy_dtype(p.data.dtype).itemsize for p in params)


def summary_lines(
    model, line_length: int | None = None, show_trainable: bool = False, expand_nested: bool = False
) -> list[str]:
    """The lines ``model.summary()`` prints."""
    rows, connected = _rows(model)
    headers = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if connected else [])
    if show_trainable:
        headers.append("Trainable")
        layers = model.layers
        for row, layer in zip(rows, layers):
            row.append("Y" if layer.trainable else "N")
    if expand_nested:
        expanded = []
        for row, layer in zip(rows, model.layers):
            expanded.append(row)
            if hasattr(layer, "summary") and layer.layers:
                inner, _ = _rows(layer)
                for cells in inner:
                    expanded.append(["  " + cells[0], *cells[1:3]] + [""] * (len(headers) - 3))
        rows = expanded
    minimum = (28, 22, 12, 24, 10)  # about Keras's layout
    widths = [
        max([len(h), minimum[i] - 2] + [len(r[i]) for r in rows if i < len(r)]) + 2
        for i, h in enumerate(headers)
    ]
    width = max(sum(widths), line_length or 0)

    def fmt(cells):
        return "".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

    train = model.trainable_weights
    ids = {id(p) for p in train}
    other = [p for p in model.weights if id(p) not in ids]
    n_train, n_other = sum(p.size for p in train), sum(p.size for p in other)
    b_train, b_other = _nbytes(train), _nbytes(other)
    lines = [f'Model: "{model.name}"', "_" * width, fmt(headers), "=" * width]
    for i, row in enumerate(rows):
        lines.append(fmt(row))
        if i < len(rows) - 1:
            lines.append("")
    lines += [
        "=" * width,
        f"Total params: {n_train + n_other:,} ({_fmt_bytes(b_train + b_other)})",
        f"Trainable params: {n_train:,} ({_fmt_bytes(b_train)})",
        f"Non-trainable params: {n_other:,} ({_fmt_bytes(b_other)})",
        "_" * width,
    ]
    return lines
