"""One typing of values for a field: lenient for settings typed on a command line, strict for JSON commands."""
from dataclasses import dataclass

import pytest

from core.base.errors import ConfigError, UserError
from core.base.typed import field_types, from_json, from_setting, type_name
from core.config import TrainConfig
from core.protocol import commands as C


def test_field_types_are_the_real_types_though_annotations_are_postponed():
    assert field_types(C.SetLearningRates) == {"lr_g": float | None, "lr_d": float | None}
    assert field_types(TrainConfig)["steps"] is int and field_types(TrainConfig)["precision"] is str
    assert type_name(float | None) == "float or null" and type_name(bool) == "bool"


@pytest.mark.parametrize("text, kind, value", [
    ("0.5", float, 0.5), ("1e-3", float, 1e-3), (2, float, 2.0), ("3", int, 3), (4.0, int, 4), ("off", bool, False),
    ("Yes", bool, True), (True, bool, True), ("/tmp/x", str, "/tmp/x"), (5, str, "5"),
])
def test_a_setting_is_parsed_into_its_fields_type(text, kind, value):
    parsed = from_setting("train.x", text, kind)
    assert parsed == value and type(parsed) is kind


@pytest.mark.parametrize("text, kind, words", [
    ("two", int, "expects an integer"), (2.5, int, "expects an integer"), (True, int, "expects an integer"),
    ("maybe", bool, "expects true or false"), ("fast", float, "expects a number"), (False, float, "expects a number"),
    ([1], str, "expects text"), (True, str, "expects text"),
])
def test_a_setting_of_the_wrong_kind_is_refused_by_name(text, kind, words):
    with pytest.raises(ConfigError, match=f"train.x {words}"):
        from_setting("train.x", text, kind)


@pytest.mark.parametrize("value, kind, ok", [
    (True, bool, True), ("false", bool, False), (1, bool, False), (3, int, True), (True, int, False),
    (3.0, int, False), (3, float, True), (True, float, False), ("1", float, False), (None, float | None, True),
    (None, int, False), ("path", str, True), (3, str, False),
])
def test_a_json_value_must_already_have_its_fields_type(value, kind, ok):
    if ok:
        assert from_json("step: n", value, kind) == value
    else:
        with pytest.raises(UserError, match=f"step: n must be {type_name(kind)}"):
            from_json("step: n", value, kind)


def test_an_int_given_for_a_float_field_becomes_a_float():
    @dataclass
    class Margins:
        margin: float

    assert type(from_json("m", 1, field_types(Margins)["margin"])) is float
