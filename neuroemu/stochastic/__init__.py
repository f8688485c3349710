"""Stochastic computing (SC): packed bitstreams, generators, gates, adders, FSM activations, pooling and
SC-DCNN networks (Ren et al., ASPLOS 2017), run bit-exactly through :func:`neuroemu.map`::

    sc_model = neuroemu.map(model, Stochastic(length=1024, block="apc-max-btanh", sng="sobol"))
    logits = sc_model(images)          # sc_model.ledger now holds the events below
    with neuroemu.ledger.recording(sc_model, ledger):   # or any ledger, as for every substrate
        sc_model(images)

Modules: :mod:`~neuroemu.stochastic.bitstream` (packed streams; counter widths),
:mod:`~neuroemu.stochastic.sng` (LFSR, Sobol, Halton, pseudo-random sources; generator widths; SCC),
:mod:`~neuroemu.stochastic.gates`, :mod:`~neuroemu.stochastic.adders` (MUX, OR, exact counter, APC),
:mod:`~neuroemu.stochastic.activations` (Stanh, Btanh), :mod:`~neuroemu.stochastic.pooling`,
:mod:`~neuroemu.stochastic.normalization` (LRN after Li et al.: square and sum, activation, CORDIV),
:mod:`~neuroemu.stochastic.network` (SC-DCNN blocks and networks), :mod:`~neuroemu.stochastic.pipeline`
(SC segments with stochastic LRN between them), :mod:`~neuroemu.stochastic.spec` (``Stochastic``),
:mod:`~neuroemu.stochastic.design` (per-layer designs: ``Stochastic(blocks="conv1=apc-max-btanh,fc3=
mux-avg-stanh:length=256")``), :mod:`~neuroemu.stochastic.reference` (slow per-cycle reference),
:mod:`~neuroemu.stochastic.agreement` (analytic vs bit-exact, measured per block and length),
:mod:`~neuroemu.stochastic.symbolic` (sympy; Bernstein synthesis),
:mod:`~neuroemu.stochastic.models` (which shipped tanh network an SC run uses) and
:mod:`~neuroemu.stochastic.substrate` (the registration: spec, cards, price rules, floorplan, demo). The
``neuroemu sc-sweep`` command is :mod:`neuroemu.commands.sc_sweep`.

Ledger events (count, layer = the mapped layer's name, attributes). They carry everything pricing needs
(:mod:`neuroemu.cost.stochastic`), so a saved ledger prices again without the model or its options:

- ``sc_sng_draw``: comparator outputs (one bit of one generated stream); ``sng`` = lfsr / sobol / halton /
  random, ``operand`` = input / weight / select / lrn, ``bits`` = the generator's (and comparator's) width
  (:func:`~neuroemu.stochastic.sng.generator_bits`), ``sharing`` = shared / private (``Stochastic.sharing``:
  how the generators are priced) and ``length`` = the stream length ``L`` (cycles per inference).
- ``sc_rng_step``: one step of a number generator's row (attributes as for draws): the weight streams of a
  layer come from one row per weight index shared by all output neurons (so a layer steps ``n`` rows per
  cycle while drawing ``n × O`` comparator outputs); inputs and selects have a row each.
- ``sc_gate_cycle``: one gate evaluated for one cycle; ``gate`` = xnor / and / or / not / mux (MUX and OR
  also have ``inputs``, their fan-in).
- ``sc_counter_op``: one parallel-counter evaluation (one cycle of one neuron); ``counter`` = exact / apc,
  ``inputs`` = fan-in.
- ``sc_binary_add``: one binary addition of counts (APC average pooling).
- ``sc_counter_update``: one cycle of an up-counter; ``purpose`` = max_pool (segment counters), output
  (the last layer's counters), decode (streams counted back to binary before a normalisation) or lrn_sum
  (the normalisation's binary sum); ``bits`` = its width (:func:`~neuroemu.stochastic.bitstream.counter_bits`
  of ``L``).
- ``sc_compare``: one comparison of segment counts (max pooling); ``purpose``, ``bits`` as for counters.
- ``sc_fsm_update``: one state update of a saturating counter; ``fsm`` = stanh / btanh (or cordiv_dff,
  the divider's flip-flop), ``states``.
"""

from neuroemu.stochastic.network import BLOCKS, SCLayer, SCNetwork
from neuroemu.stochastic.spec import MODES, Stochastic

__all__ = ["BLOCKS", "MODES", "SCLayer", "SCNetwork", "Stochastic"]
