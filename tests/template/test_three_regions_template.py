"""StateRegions as CloudFormation receives it (`expand.py`, which deploys in eu-west-1): the stack deployed first
creates a global table in multi-Region strong consistency with a replica in each Region named (or two and a
witness), retained and protected in each, with no TTL and the stream the events read; the other Regions' stacks
adopt it and a replica of the key by the parameters that adopt a table, its stream and a key; both modes pass
cfn-lint; one Region creates no global table and sets no STATE_REGIONS.

AWS CloudFormation, AWS::DynamoDB::GlobalTable: `MultiRegionConsistency` STRONG (MRSC: three replicas, or two and a
witness, `GlobalTableWitnesses`, in one Region set), `Replicas` (each with `DeletionProtectionEnabled` and
`PointInTimeRecoverySpecification`), `StreamSpecification` for the table, and `TimeToLiveSpecification`, which an
MRSC table cannot have (Amazon DynamoDB developer guide, Multi-Region strong consistency: TTL is not supported).
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-dynamodb-globaltable.html
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/multi-region-strong-consistency-gt.html
"""

import subprocess

import pytest
from support import ROOT
from test_stack_life import ADOPTED, ADOPTED_STREAM, ADOPTED_TABLE, live
from test_template import of_type, transformed

THREE = "eu-west-1,eu-west-2,eu-west-3"
WITNESS = "eu-west-1,eu-west-2,witness:eu-west-3"
PROTECTED = {
    "DeletionProtectionEnabled": True,
    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
}


def _global_table(resources: dict) -> dict:
    (table,) = of_type(resources, "AWS::DynamoDB::GlobalTable").values()
    return table


@pytest.mark.parametrize(
    ("regions", "replicas", "witnesses"),
    [(THREE, ["eu-west-1", "eu-west-2", "eu-west-3"], None), (WITNESS, ["eu-west-1", "eu-west-2"], ["eu-west-3"])],
)
def test_the_first_stack_creates_a_strongly_consistent_global_table(regions, replicas, witnesses):
    resources = live(transformed({"StateRegions": regions}))
    assert of_type(resources, "AWS::DynamoDB::Table") == {}  # no one-Region table beside it
    table = _global_table(resources)
    properties = table["Properties"]
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    assert properties["MultiRegionConsistency"] == "STRONG"
    # named after the stack: a second creating stack of that name in another of the Regions fails on it
    name = "${AWS::StackName}-verify-state"  # (SAM CLI's LanguageExtensions may leave the Sub resolved to its text)
    assert properties["TableName"] in (name, {"Fn::Sub": name})
    assert properties["Replicas"] == [{"Region": region, **PROTECTED} for region in replicas]
    assert [w["Region"] for w in properties.get("GlobalTableWitnesses", [])] == (witnesses or [])
    assert "TimeToLiveSpecification" not in properties
    assert properties["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert properties["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert "VerifyStateTableClaim" in resources and table["DependsOn"] == "VerifyStateTableClaim"
    (name,) = of_type(resources, "AWS::DynamoDB::GlobalTable")
    for function in ("OtpFunction", "EventsFunction"):
        variables = resources[function]["Properties"]["Environment"]["Variables"]
        assert variables["STATE_REGIONS"] == regions
        assert variables["VERIFY_STATE_TABLE_NAME"] == {"Ref": name}
    mapping = resources["EventsFromVerifyState"]["Properties"]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [name, "StreamArn"]}
    # the key the other Regions replicate: multi-Region, created here
    assert resources["SealingKey"]["Properties"]["MultiRegion"] is True


def test_the_other_regions_stacks_adopt_the_table_its_stream_and_a_replica_key():
    parameters = {
        "StateRegions": THREE,
        "VerifyStateTableName": ADOPTED_TABLE,
        "VerifyStateStreamArn": ADOPTED_STREAM,
        "SealingKeyArn": ADOPTED,
    }
    resources = live(transformed(parameters))
    assert of_type(resources, "AWS::DynamoDB::GlobalTable") == of_type(resources, "AWS::DynamoDB::Table") == {}
    assert of_type(resources, "AWS::KMS::Key") == {} and "VerifyStateTableClaim" not in resources
    for function in ("OtpFunction", "EventsFunction"):
        variables = resources[function]["Properties"]["Environment"]["Variables"]
        assert (variables["STATE_REGIONS"], variables["VERIFY_STATE_TABLE_NAME"]) == (THREE, ADOPTED_TABLE)
    assert resources["OtpFunction"]["Properties"]["Environment"]["Variables"]["SEALING_KEY_ARN"] == ADOPTED
    assert resources["EventsFromVerifyState"]["Properties"]["EventSourceArn"] == ADOPTED_STREAM


def test_one_region_creates_no_global_table_and_sets_no_state_regions():
    resources = live(transformed())
    assert of_type(resources, "AWS::DynamoDB::GlobalTable") == {}
    assert len(of_type(resources, "AWS::DynamoDB::Table")) == 1
    for function in ("OtpFunction", "EventsFunction"):
        assert "STATE_REGIONS" not in resources[function]["Properties"]["Environment"]["Variables"]


@pytest.mark.parametrize("regions", ["", THREE, WITNESS])
def test_cfn_lint_passes_the_template_in_each_mode(regions, tmp_path):
    # cfn-lint reads the template itself (SAM transform included) and weighs every combination of its conditions;
    # the mode's value as StateRegions' default makes the Fn::Select and Fn::Split it resolves the deployed ones.
    text = (ROOT / "template.yaml").read_text()
    declared = '  StateRegions:\n    Type: String\n    Default: ""'
    assert declared in text
    copy = tmp_path / "template.yaml"
    copy.write_text(text.replace(declared, declared.replace('""', f'"{regions}"')))
    for folder in ("layers", "functions"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "cfn-lint"), str(copy)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
