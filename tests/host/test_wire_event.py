"""The host's one-pass check of an event message (protocol/mqtt/wire.py `decode_event`):
the envelope and its type's data in one decode, a refusal naming the field by its path in
the message, and what fits handed over as the JSON it was."""

from __future__ import annotations

import json
from typing import Any

import pytest

from posterm.protocol.mqtt import wire
from posterm.protocol.mqtt.events import envelope
from tests.support.fleet import sale_data

TID = "pos-wire"


def payload(env: dict[str, Any]) -> bytes:
    return json.dumps(env).encode()


def test_an_event_that_fits_comes_back_as_the_json_it_was() -> None:
    """GIVEN a sale.approved with an explicit null field THEN the decoded dict equals
    the envelope sent, null included."""
    env = envelope(TID, 3, "sale.approved", {**sale_data(3), "reason": None})
    assert wire.decode_event(payload(env), TID) == env


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"data": {**sale_data(1), "amount": "1,00"}}, "`$.data.amount`"),
        ({"data": {**sale_data(1), "pan": "5200001234561234"}}, "unknown field `pan`"),
        ({"type": "sale.stolen"}, "`$.type`"),
        ({"seq": 0}, "`$.seq`"),
    ],
)
def test_a_refusal_names_the_field_by_its_path_in_the_message(
    change: dict[str, Any], where: str
) -> None:
    """GIVEN an event whose envelope or data does not fit WHEN decoded THEN WireError,
    whose reason names the field by its path in the whole message (the data's fields
    under `$.data`), never its value."""
    env = {**envelope(TID, 1, "sale.approved", sale_data(1)), **change}
    with pytest.raises(wire.WireError) as refused:
        wire.decode_event(payload(env), TID)
    assert where in refused.value.reason
    assert "5200001234561234" not in refused.value.reason
