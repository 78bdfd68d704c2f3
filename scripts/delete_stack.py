"""`make delete STACK=<name>`: delete a deployed stack without losing a sealed secret.

1. Empties the image bucket (CloudFormation cannot delete a bucket that holds objects, and images live a day).
2. Runs `sam delete` (the stack, and the artifacts `sam deploy` uploaded for it).
3. Prints what the stack retained on purpose: the sealing key, on which every sealed secret depends, with how to
   adopt it in a new stack or, once no secret sealed with it is needed any more, schedule its deletion.

    python scripts/delete_stack.py STACK SAM_COMMAND...
"""

import subprocess
import sys

import boto3


def main(stack: str, sam: list[str]) -> int:
    session = boto3.session.Session()
    cloudformation = session.client("cloudformation")
    resources = {
        item["LogicalResourceId"]: item["PhysicalResourceId"]
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack)
        for item in page["StackResourceSummaries"]
        if item.get("PhysicalResourceId")
    }
    (described,) = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    outputs = {item["OutputKey"]: item["OutputValue"] for item in described.get("Outputs", [])}

    if bucket := resources.get("ImageBucket"):
        emptied = 0
        images = session.resource("s3").Bucket(bucket)
        for batch in _batches(images.object_versions.all()):
            images.delete_objects(Delete={"Objects": batch, "Quiet": True})
            emptied += len(batch)
        print(f"emptied the image bucket {bucket} ({emptied} objects)")

    command = [*sam, "delete", "--stack-name", stack, "--no-prompts", "--region", session.region_name]
    if subprocess.run(command, check=False).returncode:  # noqa: S603 - the SAM CLI of .venv-sam
        print(f"sam delete failed; the stack {stack} may still exist", file=sys.stderr)
        return 1

    key = outputs.get("SealingKeyArn") or resources.get("SealingKey")
    if not key:
        print("retained: nothing (the stack had no sealing key)")
        return 0
    print(
        f"""
retained: the sealing key {key}
  Every sealed_secret this stack issued needs it. To serve them again, deploy a stack that adopts it:
    sam deploy --parameter-overrides SealingKeyArn={key} ...
  then name the new stack's OtpFunctionRoleArn output in the key's policy (README, Deploy).
  Only when no sealed secret is needed any more (keys cost about 1 USD a month):
    aws kms schedule-key-deletion --key-id {key} --pending-window-in-days 30"""
    )
    return 0


def _batches(versions, size: int = 1000):  # DeleteObjects takes at most 1000 keys
    batch = []
    for version in versions:
        batch.append({"Key": version.object_key, "VersionId": version.id})
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2:]))
