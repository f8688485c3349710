"""Running emulated models over data sets: evaluation now; Monte Carlo and sweeps build on it."""
