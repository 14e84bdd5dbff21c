"""The reference suite: xpnet against PyTorch on the same inputs and weights.

Skipped as a whole where torch is not installed (``pip install "xpnet[torch]"``);
``nox -s reference`` runs it on every CPU backend. At the end it prints the
largest relative error seen per family.
"""

from __future__ import annotations

import pytest

pytest.importorskip("torch", reason='the reference suite needs PyTorch: pip install "xpnet[torch]"')

from reference_utils import RECORDS


def pytest_terminal_summary(terminalreporter):
    if not RECORDS:
        return
    terminalreporter.section("largest relative error against PyTorch, per family")
    worst: dict[str, tuple[float, str]] = {}
    for family, name, err in RECORDS:
        if family not in worst or err > worst[family][0]:
            worst[family] = (err, name)
    for family in sorted(worst):
        err, name = worst[family]
        count = sum(1 for f, _, _ in RECORDS if f == family)
        terminalreporter.write_line(f"{family:<16} {err:.2e}  ({name}; {count} comparisons)")
