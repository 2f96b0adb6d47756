"""Test fixtures that also run outside pytest: synthetic speech (`hearth demo`,
`hearth bench`, the test corpus), the image test kit (keys, board files and
small signed images for tests, fuzz seeds and bring-up), the single-op model
builder and the golden vector generators (`python -m
hearth_tools.testing.golden_conv`, `python -m hearth_tools.testing.golden_quant_shape`).

Nothing here runs on a device: firmware images hold only firmware/hearth
(hearth_tools.image.bundle). Helpers only pytest uses live in tests/
(simdisk.py: the power-cut storage model).
"""
