"""A non-editable install must carry the built-in cards and the shipped checkpoints."""

import subprocess
import sys
import zipfile

import pytest

pytest.importorskip("hatchling")


def test_wheel_contains_cards_and_checkpoints(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), "."], check=True, timeout=300)
    (wheel,) = tmp_path.glob("neuroemu-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "neuroemu/_cards/devices/ideal.toml" in names
    assert "neuroemu/_cards/circuits/adc-sar-isaac-8b.toml" in names
    assert "neuroemu/nets/checkpoints/lenet5-mnist.pt" in names
    assert "neuroemu/nets/checkpoints/lenet5-fashion.pt" in names

    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    probe = ("import neuroemu.cards as c; card = c.load_card('ideal'); "
             "print(card.path)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=tmp_path, env={"PYTHONPATH": str(unpacked), "PATH": ""}, timeout=120)
    assert out.stdout.strip().startswith(str(unpacked))
