"""Native status codes reach Python through one mapping (hearth.native_errors)."""
import os
import re

import pytest

from hearth import nn
from hearth._native import lib
from hearth.native_errors import (DetectorError, DspError, FrontendError, NativeError,
                                  NNError, check, error)

FIRMWARE = os.path.join(os.path.dirname(__file__), "..", "firmware", "hearth")
HOSTILE = os.path.join(os.path.dirname(__file__), "golden", "hostile")


def test_each_module_has_its_class_and_range():
    cases = [(lib.HNN_E_ARENA, NNError, "HNN_E_ARENA"),
             (lib.HDET_E_NN, DetectorError, "HDET_E_NN"),
             (lib.HFE_E_MEM, FrontendError, "HFE_E_MEM"),
             (lib.HBD_E_SIZE, DspError, "HBD_E_SIZE")]
    for code, cls, name in cases:
        e = error(code, "where")
        assert type(e) is cls and isinstance(e, NativeError)
        assert (e.code, e.name, e.detail) == (code, name, "where")
        assert str(e).startswith(name + ": ") and str(e).endswith(" (where)")
        with pytest.raises(cls):
            check(code)
    # what callers caught before stays caught
    assert issubclass(DetectorError, RuntimeError) and issubclass(FrontendError, ValueError)
    assert issubclass(DspError, ValueError)
    assert check(0) == 0 and check(7) == 7
    assert type(error(-99999)) is NativeError and error(-99999).name == "HEARTH_E_UNKNOWN"


def test_codes_do_not_overlap():
    codes = {}
    for name in dir(lib):
        if re.match(r"H(NN|DET|FE|BD)_E_", name):
            code = getattr(lib, name)
            assert code not in codes, "%s == %s" % (name, codes.get(code))
            codes[code] = name
    assert len(codes) >= 24


def test_detail_comes_with_the_model_error():
    with open(os.path.join(HOSTILE, "const_input.tflite"), "rb") as f:
        data = f.read()
    with pytest.raises(NNError) as e:
        nn.load(data)
    assert e.value.name == "HNN_E_GRAPH" and "constant" in e.value.detail


def test_detail_is_lazy():
    calls = []
    check(0, lambda: calls.append(1))
    assert not calls
    with pytest.raises(NNError) as e:
        check(lib.HNN_E_SHAPE, lambda: "op 3")
    assert e.value.detail == "op 3"


def test_native_strerror_is_read_in_one_place():
    """No module but native_errors turns codes into text (or classes)."""
    offenders = []
    for dirpath, _, files in os.walk(FIRMWARE):
        for f in files:
            if not f.endswith(".py") or f == "native_errors.py":
                continue
            path = os.path.join(dirpath, f)
            with open(path, encoding="utf-8") as fh:
                src = fh.read()
            if re.search(r"lib\.\w*(strerror|errname)\(", src):
                offenders.append(os.path.relpath(path, FIRMWARE))
    assert not offenders, offenders


def test_dsp_config_error_is_a_dsp_error():
    from hearth.ports import dsp
    with pytest.raises(DspError) as e:
        dsp.NativeToneAnalyzer(frame=4096)
    assert e.value.name == "HBD_E_CONFIG"
