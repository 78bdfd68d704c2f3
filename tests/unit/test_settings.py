"""Each setting is declared once (otp_api/settings.py: SETTINGS) and template.yaml is held to that table: the
environment variable is the parameter's name, the parameter's default and bounds are the code's, and the functions
read no variable the table does not declare."""

import json

import pytest

from otp_api import settings
from otp_api.settings import SETTINGS, SettingsError
from tooling.template import raw_document

DOCUMENT = raw_document()
PARAMETERS = DOCUMENT["Parameters"]
OUTPUTS = DOCUMENT["Outputs"]


def environment() -> dict[str, object]:
    """Every variable any function gets, Globals included, with the value the template gives it."""
    variables = dict(DOCUMENT["Globals"]["Function"]["Environment"]["Variables"])
    for name in ("OtpFunction", "BarcodesFunction", "EventsFunction"):
        variables |= DOCUMENT["Resources"][name]["Properties"]["Environment"]["Variables"]
    return variables


def refers_to(value: object, name: str) -> bool:
    return f'{{"Ref": "{name}"}}' in json.dumps(value)


def branches(value: object) -> list[object]:
    """The values an !If may take (a plain value is its own one branch)."""
    if isinstance(value, dict) and "Fn::If" in value:
        _, yes, no = value["Fn::If"]
        return branches(yes) + branches(no)
    return [value]


@pytest.mark.parametrize(
    ("parameter", "env"),
    [("LockoutWindowSeconds", "LOCKOUT_WINDOW_SECONDS"), ("QrUrlExpirySeconds", "QR_URL_EXPIRY_SECONDS")],
)
def test_the_environment_name_is_the_parameter_name_in_upper_snake_case(parameter, env):
    (setting,) = [setting for setting in SETTINGS.values() if setting.parameter == parameter]
    assert setting.env == env


@pytest.mark.parametrize("name", SETTINGS)
def test_each_setting_is_the_parameter_or_output_it_is_named_after(name):
    setting = SETTINGS[name]
    value = environment()[setting.env]  # a KeyError: the template does not give the function its setting
    if setting.parameter in PARAMETERS:
        parameter = PARAMETERS[setting.parameter]
        assert refers_to(value, setting.parameter)
        if setting.bounds is not None:
            assert (parameter["MinValue"], parameter["MaxValue"]) == setting.bounds
        if setting.boolean:
            assert parameter["AllowedValues"] == ["true", "false"]
        if setting.max_length is not None:
            assert (parameter["MaxLength"], parameter["AllowedPattern"]) == (setting.max_length, setting.pattern)
    if setting.parameter in OUTPUTS:  # made by the stack, or adopted: the function gets what the output says
        assert branches(OUTPUTS[setting.parameter]["Value"]) == [b for b in branches(value) if b != ""]
    else:  # the operator's: the code's default is the template's
        assert str(PARAMETERS[setting.parameter].get("Default", "")) == setting.default


def test_the_functions_read_nothing_the_table_does_not_declare():
    declared = {setting.env for setting in SETTINGS.values()}
    assert {name for name in environment() if not name.startswith("POWERTOOLS_")} == declared


@pytest.mark.parametrize("name", [name for name, setting in SETTINGS.items() if setting.bounds])
def test_each_bound_is_enforced_at_cold_start(name, monkeypatch):
    setting = SETTINGS[name]
    low, high = setting.bounds
    for wrong in (str(low - 1), str(high + 1), "many"):
        monkeypatch.setenv(setting.env, wrong)
        with pytest.raises(SettingsError, match=setting.env):
            setting.read()
    monkeypatch.delenv(setting.env, raising=False)
    assert setting.read() == int(setting.default)


@pytest.mark.parametrize("name", [name for name, setting in SETTINGS.items() if setting.boolean])
def test_each_switch_takes_true_or_false_only(name, monkeypatch):
    setting = SETTINGS[name]
    monkeypatch.setenv(setting.env, "1")
    with pytest.raises(SettingsError, match=setting.env):
        setting.read()
    monkeypatch.setenv(setting.env, " TRUE ")
    assert setting.read() is True


def test_the_state_item_has_room_for_the_most_failures_the_template_allows():
    # The state item keeps one attribute per remembered failure (state/rules.py).
    assert PARAMETERS["MaxFailedAttempts"]["MaxValue"] == settings.MAX_FAILED_ATTEMPTS


@pytest.mark.parametrize(
    ("regions", "region", "refused"),
    [
        ("", "eu-west-1", None),  # one Region: nothing recorded
        ("us-east-1,us-east-2,us-west-2", "us-east-2", None),
        ("eu-west-1,eu-west-2,witness:eu-west-3", "eu-west-2", None),
        ("eu-west-1,eu-west-2,witness:eu-west-3", "eu-west-3", "names no replica in this function's Region"),
        ("us-east-1,us-east-2,us-west-2", "eu-west-1", "names no replica in this function's Region"),
        ("us-east-1,us-east-1,us-west-2", "us-east-1", "three different Regions"),
        ("eu-west-1,eu-west-2,witness:eu-west-2", "eu-west-1", "three different Regions"),
    ],
)
def test_state_regions_name_three_regions_and_this_functions_among_the_replicas(regions, region, refused, monkeypatch):
    monkeypatch.setenv("AWS_REGION", region)
    if refused is None:
        assert settings.writer_region(regions) == (region if regions else None)
    else:
        with pytest.raises(SettingsError, match=refused):
            settings.writer_region(regions)


@pytest.mark.parametrize(
    "value", ["us-east-1,us-east-2", "us-east-1,us-east-2,us-west-2,eu-west-1", "witness:us-east-1,a,b", "US-EAST-1"]
)
def test_state_regions_of_another_shape_fail_the_cold_start(value, monkeypatch):
    monkeypatch.setenv("STATE_REGIONS", value)
    with pytest.raises(SettingsError, match="STATE_REGIONS"):
        SETTINGS["state_regions"].read()
