"""Test fixtures the host tools themselves use: synthetic speech (`hearth demo`,
`hearth bench`, the test corpus), the single-op model builder and the golden
vector generators (`python -m hearth_tools.testing.golden_conv`,
`python -m hearth_tools.testing.golden_quant_shape`).

Nothing here runs on a device: firmware images hold only firmware/hearth
(hearth_tools.image.bundle). Helpers that only tests use live in tests/
(testkit.py: keys, boards and small signed images; simdisk.py: the
power-cut storage model).
"""
