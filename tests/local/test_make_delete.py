"""`make delete STACK=...` against moto's server standing in for AWS (CloudFormation, S3, KMS, DynamoDB; SAM CLI and
boto3 reach it through AWS_ENDPOINT_URL): the image bucket is emptied so that the delete can succeed, `sam delete`
removes the stack, and the retained verify-state table (with its state) and sealing key survive, named in the output
with how to adopt both and how to delete them. A stack whose table is not retained yet is refused."""

import json
import os
import subprocess
import urllib.request

import pytest
import yaml
from support import ROOT

from tooling.template import raw_document


def _stack(table_retained: bool = True) -> dict:
    """What matters of the deployed stack for a delete: a bucket with images in it, the state table as template.yaml
    declares it (or as stacks deployed before it was retained had it), and the retained key."""
    table = {key: value for key, value in raw_document()["Resources"]["VerifyStateTable"].items() if key != "Condition"}
    if not table_retained:
        table = {"Type": table["Type"], "Properties": {**table["Properties"], "DeletionProtectionEnabled": False}}
    return {
        "Resources": {
            "ImageBucket": {"Type": "AWS::S3::Bucket"},
            "VerifyStateTable": table,
            "SealingKey": {
                "Type": "AWS::KMS::Key",
                "DeletionPolicy": "Retain",
                # as text: moto's KMS keeps a policy object from CloudFormation unparsed, then fails on it
                "Properties": {
                    "MultiRegion": True,
                    "KeyPolicy": json.dumps({"Version": "2012-10-17", "Statement": []}),
                },
            },
        },
        "Outputs": {
            "SealingKeyArn": {"Value": {"Fn::GetAtt": ["SealingKey", "Arn"]}},
            "VerifyStateTableName": {"Value": {"Ref": "VerifyStateTable"}},
        },
    }


def _deploy(stack: dict) -> tuple[str, dict[str, str]]:
    """The stack's id (which names it after its deletion too) and its resources' physical ids."""
    import boto3

    cloudformation = boto3.client("cloudformation")
    stack_id = cloudformation.create_stack(StackName="otp-api", TemplateBody=yaml.safe_dump(stack))["StackId"]
    return stack_id, {
        item["LogicalResourceId"]: item["PhysicalResourceId"]
        for item in cloudformation.list_stack_resources(StackName=stack_id)["StackResourceSummaries"]
    }


def _status(stack_id: str) -> str:
    import boto3

    (stack,) = boto3.client("cloudformation").describe_stacks(StackName=stack_id)["Stacks"]
    return stack["StackStatus"]


def _make_delete(aws: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "-s", "delete", "STACK=otp-api"],
        cwd=ROOT,
        env={**os.environ, **aws},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def aws():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
    }
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield env
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        # The server serves this process's moto backends, which outlive it: what a test retained goes with it.
        urllib.request.urlopen(urllib.request.Request(f"{env['AWS_ENDPOINT_URL']}/moto-api/reset", method="POST"))
        server.stop()


def test_make_delete_empties_the_bucket_deletes_the_stack_and_keeps_the_key_and_the_table(aws):
    import boto3

    stack_id, resources = _deploy(_stack())
    for index in range(3):  # images of the last day: a bucket with objects cannot be deleted
        boto3.client("s3").put_object(Bucket=resources["ImageBucket"], Key=f"otp-qr/{index}.png", Body=b"png")
    table = resources["VerifyStateTable"]
    used = {"pk": {"S": "recovery-codes-set"}, "used": {"NS": ["3"]}}  # a permanent fact: code 3 of a set was used
    boto3.client("dynamodb").put_item(TableName=table, Item=used)

    result = _make_delete(aws)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]

    assert _status(stack_id) == "DELETE_COMPLETE"
    assert "emptied the image bucket" in result.stdout and "(3 objects)" in result.stdout
    assert resources["ImageBucket"] not in [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]]
    key = boto3.client("kms").describe_key(KeyId=resources["SealingKey"])["KeyMetadata"]
    assert key["KeyState"] == "Enabled"
    assert f"retained: the sealing key {key['Arn']}" in result.stdout
    # The table stays, still protected, with what it knew.
    dynamodb = boto3.client("dynamodb")
    assert dynamodb.describe_table(TableName=table)["Table"]["DeletionProtectionEnabled"] is True
    assert dynamodb.get_item(TableName=table, Key={"pk": used["pk"]}, ConsistentRead=True)["Item"] == used
    assert f"retained: the verify-state table {table}" in result.stdout
    # How to adopt both, and how to delete the table once nothing needs it.
    assert f"sam deploy --parameter-overrides SealingKeyArn={key['Arn']} VerifyStateTableName={table} " in result.stdout
    assert f"aws dynamodb update-table --table-name {table} --no-deletion-protection-enabled\n" in result.stdout
    assert f"aws dynamodb delete-table --table-name {table}\n" in result.stdout


def test_make_delete_refuses_a_stack_that_would_take_its_table_with_it(aws):
    # A stack deployed before the table was retained: sam delete would delete the table, and every used recovery
    # code and HOTP counter with it. Nothing is touched until the stack has the current template.
    import boto3

    stack_id, resources = _deploy(_stack(table_retained=False))
    boto3.client("s3").put_object(Bucket=resources["ImageBucket"], Key="otp-qr/0.png", Body=b"png")

    result = _make_delete(aws)
    assert result.returncode != 0
    assert f"verify-state table {resources['VerifyStateTable']} would be deleted with it" in result.stderr
    assert _status(stack_id) == "CREATE_COMPLETE"
    assert boto3.client("dynamodb").describe_table(TableName=resources["VerifyStateTable"])["Table"]
    assert boto3.client("s3").list_objects_v2(Bucket=resources["ImageBucket"])["KeyCount"] == 1


def test_make_delete_needs_a_stack_name():
    result = subprocess.run(["make", "-s", "delete"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode != 0 and "usage: make delete STACK=" in result.stdout
