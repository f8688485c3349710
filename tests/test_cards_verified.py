"""Card verification: a built-in card whose notes say UNVERIFIED must say ``verified = false``, and the CLI
shows the flag."""

import json

import pytest

from neuroemu.cards import CardError, list_cards, load_card
from neuroemu.cli import main


@pytest.mark.parametrize("card", list_cards(), ids=lambda c: c.name)
def test_unverified_notes_need_verified_false(card):
    if "UNVERIFIED" in (card.source.notes or ""):
        assert card.source.verified is False, f"{card.name}: notes say UNVERIFIED but verified is not false"


def test_audited_cards_are_marked():
    assert load_card("sttram-pmtj").source.verified is False
    assert load_card("rram-wan2022-faulty").source.verified is False
    assert load_card("sttram-emram-22nm").source.verified is False
    assert load_card("pcm-joshi2020").source.verified is True
    assert load_card("sttram-emram-22nm").delta >= 54  # 10-year retention at <= 1e-6 raw flips (see card)


def test_cli_shows_verified(capsys):
    assert main(["cards", "show", "sttram-pmtj"]) == 0
    assert "verified: NO" in capsys.readouterr().out
    assert main(["cards", "list"]) == 0
    out = capsys.readouterr().out
    assert "verified" in out.splitlines()[0]
    assert main(["cards", "show", "sttram-pmtj", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["source"]["verified"] is False


def test_verified_must_be_a_bool(tmp_path):
    text = load_card("ideal").path.read_text()
    assert "[source]" in text
    bad = tmp_path / "ideal.toml"
    bad.write_text(text.replace("[source]", '[source]\nverified = "yes"'))
    with pytest.raises(CardError, match=r"source\.verified"):
        load_card(str(bad))
