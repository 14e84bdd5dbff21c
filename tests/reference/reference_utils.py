"""Helpers for comparing xpnet with PyTorch: conversion and error bookkeeping."""

from __future__ import annotations

import numpy as np

import xpnet as xn

RECORDS: list[tuple[str, str, float]] = []

# float32 results of two libraries that sum in different orders agree to about
# 1e-6 relative to the largest entry; 1e-5 leaves room for a few rounding steps.
FLOAT32_RTOL = 1e-5


def torch_tensor(a, requires_grad: bool = False):
    import torch

    t = torch.tensor(np.asarray(a))
    if requires_grad:
        t.requires_grad_(True)
    return t


def relative_error(ours, theirs) -> float:
    """max |ours - theirs| / max |theirs| (0 when both are zero)."""
    a = np.asarray(xn.to_numpy(ours) if not isinstance(ours, np.ndarray) else ours, np.float64)
    if hasattr(theirs, "detach"):
        theirs = theirs.detach().cpu().numpy()
    b = np.asarray(theirs, np.float64)
    assert a.shape == b.shape, f"shapes differ: xpnet {a.shape} vs torch {b.shape}"
    scale = np.max(np.abs(b)) if b.size else 0.0
    diff = np.max(np.abs(a - b)) if a.size else 0.0
    if scale == 0.0:
        return float(diff)
    return float(diff / scale)


def compare(family: str, name: str, ours, theirs, rtol: float = FLOAT32_RTOL) -> float:
    """Record and check the relative error of ``ours`` against torch's ``theirs``."""
    err = relative_error(ours, theirs)
    RECORDS.append((family, name, err))
    assert err <= rtol, f"{family}/{name}: relative error {err:.3e} > {rtol:g} against PyTorch"
    return err
