"""The fused step: any elementwise ``update_step``, once, over all parameters at once.

An optimizer's :meth:`~xpnet.optimizers.Optimizer.update_step` is written for one
parameter, as the textbook gives it. When it treats every element on its own
(``elementwise = True``: SGD, RMSprop, Adagrad, Adadelta, Adam, AdamW, Adamax,
Nadam, Lion, Ftrl), the same formula may run on all parameters laid end to end. On a
backend whose arrays update in place (NumPy and CuPy: the in-place kernel
family), :class:`FlatStep` keeps one flat buffer for the parameters, one for the
gradients, one scratch array and one per state variable; each parameter's
``.data`` and state are views of them. A step is then a fixed number of array
calls whatever the number of parameters: on a GPU, a fixed number of kernel
launches instead of one per parameter per operation, where per-parameter
launches cost most. (This is the strategy that PyTorch's ``foreach``/``fused``
optimizers and Keras's torch backend take; the formulas stay generic.)

The flat gradient's views are handed to the autograd as sinks
(:meth:`FlatStep.sinks`, ``loss.backward(sinks=...)``), so ``fit`` has every
gradient written into the step's buffer and the step copies none; a custom loop
that passes plain gradients gets one copy per parameter. Clipping by value or by
global norm and weight decay also run on the flat buffers; ``clipnorm`` (one
norm per parameter) and constraints go parameter by parameter.

The results are the same numbers as the parameter-by-parameter loop: the same
operations in the same order on the same values.
"""

from __future__ import annotations

import math
from typing import Any

from xpnet import backend as B

__all__ = ["FlatStep", "FlatVariable"]


class FlatVariable:
    """All parameters of a fused step, end to end, as ``update_step`` sees one
    parameter: ``data`` is the flat parameter buffer; the optimizer's ``slots`` and
    ``scratch`` answer for it with :attr:`slots` and :attr:`work`."""

    __slots__ = ("data", "name", "slots", "work")

    def __init__(self, data, slots, work) -> None:
        self.data = data
        self.name = "flat"
        self.slots = slots
        self.work = work

    def __repr__(self) -> str:
        return f"FlatVariable(size={int(self.data.shape[0])})"


class FlatStep:
    """Flat buffers for one optimizer and one list of parameters (see the module).

    Built by :meth:`build`, which returns None where fusing does not apply
    (a backend without in-place updates, mixed dtypes, a parameter listed twice,
    state of another shape); the optimizer then updates parameter by parameter.
    """

    def __init__(self, opt, params: list, kernels) -> None:
        self.kernels = kernels
        self.key = tuple(map(id, params))
        first = params[0].data
        self.dtype = first.dtype
        sizes = [math.prod(p.data.shape) for p in params]
        n = sum(sizes)
        states = [opt.slots(p) for p in params]
        names = list(states[0]._vars)
        flat_slots = type(states[0])({name: B.flat_buffer(first, n, zero=True) for name in names})
        self.var = FlatVariable(B.flat_buffer(first, n), flat_slots, B.flat_buffer(first, n))
        self.grad = B.flat_buffer(first, n)
        # (holder, view, registration index or None for state) for every array that
        # lives in a buffer, and (holder, buffer) for the buffers themselves
        self.views: list[tuple[Any, Any, int | None]] = []
        self.buffers: list[tuple[Any, Any]] = [(self.var, self.var.data)]
        self.buffers += [(v, v.data) for v in flat_slots._vars.values()]
        self.grad_views: list = []
        self.params = params
        start = 0
        for p, s, size in zip(params, states, sizes):
            i = opt._register(p)
            shape = p.data.shape
            v = B.copy_into(B.reshape(self.var.data[start : start + size], shape), p.data)
            p.data = opt._owned[i] = v
            self.views.append((p, v, i))
            self.grad_views.append(B.reshape(self.grad[start : start + size], shape))
            for name, var in s._vars.items():
                flat_state = flat_slots._vars[name].data
                sv = B.copy_into(B.reshape(flat_state[start : start + size], shape), var.data)
                var.data = sv
                self.views.append((var, sv, None))
            start += size
        self.decay_mask = None  # built on first use when some parameters skip decay
        self._decay_key = None

    @classmethod
    def build(cls, opt, params: list) -> FlatStep | None:
        first = params[0].data
        k = B.kernels_of(first)
        if not (k.inplace and k.writable(first)) or len({id(p) for p in params}) != len(params):
            return None
        dtype = first.dtype
        names = None
        for p in params:
            data = p.data
            if B.kernels_of(data) is not k or data.dtype != dtype or not k.writable(data):
                return None
            s = opt.slots(p)
            if names is None:
                names = list(s._vars)
            elif list(s._vars) != names:
                return None
            for var in s._vars.values():
                d = var.data
                if B.kernels_of(d) is not k or d.shape != data.shape or d.dtype != dtype:
                    return None
        return cls(opt, params, k)

    def sinks(self) -> dict:
        """``{parameter: its view of the flat gradient}``, for ``backward(sinks=...)``."""
        return dict(zip(self.params, self.grad_views))

    def _readopt(self, opt) -> bool:
        """Take back arrays rebound since the last step (``set_weights``, a constraint,
        a state assigned by hand): their values go into the buffer, the view back in
        place. False where one no longer fits (the optimizer then rebuilds)."""
        k = self.kernels
        for holder, view, i in self.views:
            data = holder.data
            if data is not view:
                if B.kernels_of(data) is not k or data.shape != view.shape:
                    return False
                holder.data = B.copy_into(view, data)
                if i is not None:  # a parameter: the view is again this optimizer's own
                    opt._owned[i] = view
        return True

    def step(self, opt, grads: list, lr) -> bool:
        """One update of every parameter from ``grads`` (arrays of the parameters'
        shapes and dtype); False, with nothing done, where the gradients do not fit
        (another library or dtype) or a parameter was replaced by an array that no
        longer fits."""
        k, dtype = self.kernels, self.dtype
        for g in grads:
            if B.kernels_of(g) is not k or g.dtype != dtype:
                return False
        if not self._readopt(opt):
            return False
        for view, g in zip(self.grad_views, grads):
            if g is not view:  # a sink (fit) holds the gradient already
                B.copy_into(view, g)
        grad = self._clip(opt, self.grad)
        var = self.var
        if opt.weight_decay:
            decay = var.data * (opt.weight_decay * lr)
            mask = self._decay_mask(opt)
            opt.assign_sub(var, decay if mask is None else B.multiply_into(decay, decay, mask))
        opt.begin_step()
        opt.update_step(grad, var, lr)
        # update_step may have rebound (``assign`` stores new arrays): copy back
        for holder, buffer in self.buffers:
            if holder.data is not buffer:
                holder.data = B.copy_into(buffer, holder.data)
        return True

    def _clip(self, opt, grad):
        if opt.clipnorm is not None:  # one norm per parameter: view by view
            for view in self.grad_views:
                B.copy_into(view, opt._clip_gradients([view])[0])
            return grad
        if opt.global_clipnorm is not None or opt.clipvalue is not None:
            return opt._clip_gradients([grad])[0]  # the flat gradient holds them all
        return grad

    def _decay_mask(self, opt):
        """None when every parameter decays; else a flat 0/1 array of which do."""
        use = tuple(opt._use_weight_decay(p) for p in self.params)
        if all(use):
            return None
        if use != self._decay_key:
            mask = B.flat_buffer(self.var.data, int(self.var.data.shape[0]), zero=True)
            start = 0
            for p, on in zip(self.params, use):
                size = math.prod(p.data.shape)
                if on:
                    mask[start : start + size] = 1.0
                start += size
            self.decay_mask, self._decay_key = mask, use
        return self.decay_mask
