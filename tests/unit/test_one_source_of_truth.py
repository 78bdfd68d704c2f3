"""Facts stated in two places must agree: the rules in error messages and the models' constraints, the lifetime the
code assumes and the bucket's lifecycle rule, limits in the template and in the settings. And the one place that
reads msgspec's wording, pinned for every kind of error it reads."""

import re

import msgspec
import pytest

from otp_api import barcodes, image_bucket, kinds, params
from otp_api.errors import InvalidParameter, MissingParameter, UnknownParameter
from otp_api.http import documented, parse
from otp_api.kinds import time_based
from tooling.template import raw_document

RULES = {**kinds.REGISTRY.rules, **barcodes.RULES}


def schema_of(model) -> dict:
    (_, components) = msgspec.json.schema_components([model], ref_template="{name}")
    return components[model.__name__]["properties"]


def bounds(prop: dict) -> set[int]:
    """The numbers a property's JSON schema states (bounds, lengths, allowed values)."""
    found: set[int] = set()
    for item in [prop, *prop.get("anyOf", [])]:
        for key in ("minimum", "maximum", "minLength", "maxLength"):
            if isinstance(item.get(key), int):
                found.add(item[key])
        found |= {value for value in item.get("enum", []) if isinstance(value, int) and not isinstance(value, bool)}
    return found


@pytest.mark.parametrize(
    ("model", "name"),
    [
        (time_based.GenerateRequest, "digits"),
        (time_based.GenerateRequest, "period"),
        (time_based.GenerateRequest, "label"),
        (barcodes.BarcodeRequest, "scale"),
        (barcodes.BarcodeRequest, "border"),
        (barcodes.BarcodeRequest, "data"),
        (time_based.VerifyRequest, "code"),
    ],
)
def test_each_rule_states_the_bounds_its_model_enforces(model, name):
    stated = {int(number) for number in re.findall(r"\d+", RULES[name])}
    enforced = bounds(schema_of(model)[name])
    assert enforced and enforced <= stated | {0, 1}, (name, enforced, RULES[name])


def test_every_parameter_has_a_rule():
    assert {name for model in kinds.REGISTRY.request_models() for name in schema_of(model)} <= set(kinds.REGISTRY.rules)
    assert set(schema_of(barcodes.BarcodeRequest)) <= set(barcodes.RULES)


def test_the_body_limit_is_stated_from_the_constant():
    assert f"{params.MAX_BODY_BYTES // 1024} KB" in documented(200, "ok")[413]["description"]


def test_the_code_assumes_the_lifetime_the_bucket_gives_images():
    (rule,) = raw_document()["Resources"]["ImageBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert image_bucket.OBJECT_LIFETIME.days == rule["ExpirationInDays"]


# --- http.parse reads msgspec's wording: one test per kind of error it reads --------------------------------------


@pytest.mark.parametrize(
    ("params", "error", "parameter"),
    [
        ({"action": "generate"}, MissingParameter, "type"),  # "Object missing required field `type`"
        ({"type": "time_based", "action": "generate", "colour": 1}, UnknownParameter, None),  # "unknown field"
        ({"type": "time_based", "action": "generate", "code": "1"}, UnknownParameter, "code"),  # the API's name
        ({"type": "time_based", "action": "generate", "period": 5}, InvalidParameter, "period"),  # "- at `$.period`"
        ({"type": "time_based", "action": "generate", "label": 7}, InvalidParameter, "label"),  # a wrong type
        ({"type": "time_based", "action": "unmake"}, InvalidParameter, "action"),  # an unknown tag
    ],
)
def test_each_kind_of_msgspec_error_names_its_parameter(params, error, parameter):
    model, rules = kinds.REGISTRY.request_model(params)
    with pytest.raises(error) as raised:
        parse(model, params, rules)
    assert raised.value.parameter == parameter
