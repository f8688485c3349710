"""A point keeps the warnings its run raised, but not ResourceWarnings: those report an unclosed file of
earlier work whenever the garbage collector happens to run, so they made the same point's record differ
between processes (seen in the kill-and-resume test: scipy's Sobol direction-number file)."""

from __future__ import annotations

import warnings

import pytest

from neuroemu.experiments import point


def test_a_point_records_its_warnings_but_not_resource_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    def run(config, batch_size):
        warnings.warn("layer conv1: clipped", UserWarning, stacklevel=1)
        warnings.warn("unclosed file <_io.BufferedReader name='x.npz'>", ResourceWarning, stacklevel=1)
        warnings.warn("layer conv1: clipped", UserWarning, stacklevel=1)  # distinct ones, once
        return {"result": {}}

    monkeypatch.setattr(point, "_run", run)
    assert point.run_point({})["warnings"] == ["layer conv1: clipped"]
