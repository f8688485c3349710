"""The commands of ``neuroemu``, one module each; each has ``register(subparsers)``, which adds its parser
with ``set_defaults(run=FUNCTION)``; ``FUNCTION(args)`` returns the exit status and raises
:class:`neuroemu.usage.UsageError` for a bad name or value (exit status 2).

Substrate-independent commands loop over the registry (:mod:`neuroemu.substrates`); ``mc``, ``sc-sweep``
and ``snn-sweep`` are the sweeps of one substrate each.
"""
