"""Shared by the console tests: a started sim App without a detector."""
import pytest

from hearth import board as board_mod
from hearth.app import build


@pytest.fixture
def app(tmp_path):
    b = board_mod.load("sim", storage=str(tmp_path / "st"))
    a = build(b, detector=None, boot=None)
    a.models_dir = str(tmp_path / "no-models")      # `reload` fails fast instead of loading models
    a.start()
    return a
