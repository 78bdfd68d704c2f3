"""`make delete STACK=...` against moto's server standing in for AWS (CloudFormation, S3, KMS; SAM CLI and boto3
reach it through AWS_ENDPOINT_URL): the image bucket is emptied so that the delete can succeed, `sam delete`
removes the stack, and the retained sealing key survives, named in the output with how to adopt it."""

import json
import os
import subprocess

import pytest
import yaml
from support import ROOT

# What matters of the deployed stack for a delete: a bucket with images in it and the retained key.
STACK = {
    "Resources": {
        "ImageBucket": {"Type": "AWS::S3::Bucket"},
        "SealingKey": {
            "Type": "AWS::KMS::Key",
            "DeletionPolicy": "Retain",
            # as text: moto's KMS keeps a policy object from CloudFormation unparsed, then fails on it
            "Properties": {"MultiRegion": True, "KeyPolicy": json.dumps({"Version": "2012-10-17", "Statement": []})},
        },
    },
    "Outputs": {"SealingKeyArn": {"Value": {"Fn::GetAtt": ["SealingKey", "Arn"]}}},
}


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
        server.stop()


def test_make_delete_empties_the_bucket_deletes_the_stack_and_keeps_the_key(aws):
    import boto3

    cloudformation = boto3.client("cloudformation")
    cloudformation.create_stack(StackName="otp-api", TemplateBody=yaml.safe_dump(STACK))
    resources = {
        item["LogicalResourceId"]: item["PhysicalResourceId"]
        for item in cloudformation.list_stack_resources(StackName="otp-api")["StackResourceSummaries"]
    }
    for index in range(3):  # images of the last day: a bucket with objects cannot be deleted
        boto3.client("s3").put_object(Bucket=resources["ImageBucket"], Key=f"otp-qr/{index}.png", Body=b"png")

    result = subprocess.run(
        ["make", "-s", "delete", "STACK=otp-api"],
        cwd=ROOT,
        env={**os.environ, **aws},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]

    (summary,) = cloudformation.list_stacks()["StackSummaries"]
    assert summary["StackStatus"] == "DELETE_COMPLETE"
    assert "emptied the image bucket" in result.stdout and "(3 objects)" in result.stdout
    assert resources["ImageBucket"] not in [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]]
    key = boto3.client("kms").describe_key(KeyId=resources["SealingKey"])["KeyMetadata"]
    assert key["KeyState"] == "Enabled"
    assert f"retained: the sealing key {key['Arn']}" in result.stdout
    assert f"SealingKeyArn={key['Arn']}" in result.stdout  # how to adopt it


def test_make_delete_needs_a_stack_name():
    result = subprocess.run(["make", "-s", "delete"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode != 0 and "usage: make delete STACK=" in result.stdout
