"""Unit ids: the string a unit travels as (its core job's id) and what it parses back to."""

from __future__ import annotations

import pytest

from corral.k8s.gangs import GangRef
from corral.k8s.unit_ids import Family, UnitId

GANG = UnitId.gang(GangRef("volcano", "team", "train"))


@pytest.mark.parametrize(("unit", "text"), [
    (UnitId(Family.POD, "team/p"), "pod/team/p"),
    (UnitId(Family.OTHER, "kube-system/dns"), "other/kube-system/dns"),
    (GANG, "gang/volcano/team/train"),
    (GANG.bound, "gang/volcano/team/train#bound"),
    (GANG.extra("train-3"), "gang/volcano/team/train#pod/train-3"),
], ids=["pod", "other", "gang", "bound", "extra"])
def test_a_unit_round_trips_through_its_string(unit: UnitId, text: str) -> None:
    assert str(unit) == text
    assert UnitId.parse(text) == unit


def test_the_parts_of_a_gang_share_its_base_and_its_ref() -> None:
    for part in (GANG, GANG.bound, GANG.extra("train-3")):
        assert part.base == GANG
        assert part.gang_ref == GangRef("volcano", "team", "train")
    assert (GANG.is_gang_base, GANG.bound.is_bound_part, GANG.extra("x").is_extra) == \
        (True, True, True)
    assert not GANG.bound.is_gang_base and not GANG.extra("x").is_bound_part
    assert UnitId(Family.POD, "team/p").gang_ref is None


def test_messages_name_a_unit_by_namespace_and_name() -> None:
    assert GANG.label == "team/train"
    assert GANG.extra("train-3").label == "team/train#pod/train-3"
    assert UnitId(Family.POD, "team/p").label == "team/p"


@pytest.mark.parametrize("text", ["node/n1", "queue/*", "podgroup/volcano/team/g", "pod", ""])
def test_other_keys_are_not_units(text: str) -> None:
    assert UnitId.find(text) is None
    with pytest.raises(ValueError, match="not a unit id"):
        UnitId.parse(text)
