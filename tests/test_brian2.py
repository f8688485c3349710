"""The spiking work starts from a working brian2: import it and run a tiny network."""

import numpy as np
import pytest

brian2 = pytest.importorskip("brian2")


def test_tiny_lif_network_fires_at_the_analytic_rate():
    b2 = brian2
    b2.start_scope()
    b2.prefs.codegen.target = "numpy"  # no compiler needed
    tau, v_th, drive = 10 * b2.ms, 1.0, 1.5
    group = b2.NeuronGroup(1, "dv/dt = (drive - v) / tau : 1", threshold="v > v_th", reset="v = 0",
                           method="exact", namespace={"tau": tau, "v_th": v_th, "drive": drive})
    spikes = b2.SpikeMonitor(group)
    b2.run(200 * b2.ms)
    # a leaky integrator driven by a constant input fires every tau·ln(drive / (drive - v_th))
    period = float(tau) * np.log(drive / (drive - v_th))
    expected = int(0.2 / period)
    assert abs(spikes.num_spikes - expected) <= 1
