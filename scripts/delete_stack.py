"""`make delete STACK=<name>`: delete a deployed stack without losing a sealed secret or a used code.

1. Refuses a stack whose verify-state table would go with it (one deployed before the table was retained): deploy
   the current template to it first.
2. Empties the image bucket (CloudFormation cannot delete a bucket that holds objects, and images live a day).
3. Runs `sam delete` (the stack, and the artifacts `sam deploy` uploaded for it).
4. Prints what the stack retained on purpose: the verify-state table (used recovery codes, HOTP counters), the
   claim of its stack name for that table, and the sealing key (every sealed secret), with how a new stack adopts
   both and how to delete them once nothing that verified here is needed any more (docs/operations.md, Delete and
   redeploy).

    python scripts/delete_stack.py STACK SAM_COMMAND...
"""

import subprocess
import sys
from typing import Any

import boto3
import yaml


class _TemplateLoader(yaml.SafeLoader):
    """A deployed template, CloudFormation's short-form tags (!Ref X) read as nothing: only attributes matter here."""


_TemplateLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


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
    table = outputs.get("VerifyStateTableName") or resources.get("VerifyStateTable")

    if "VerifyStateTable" in resources and not _retains_the_table(cloudformation, stack):
        print(
            f"the stack's verify-state table {table} would be deleted with it (the stack was deployed before the table"
            " was retained): its used recovery codes and HOTP counters would be forgotten. Deploy the current"
            f" template to {stack} first (sam build && sam deploy), then make delete again.",
            file=sys.stderr,
        )
        return 1

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
    print(_retained(table, key))
    if claim := resources.get("VerifyStateTableClaim"):
        print(
            f"retained: the claim {claim} (SSM parameter): a stack named {stack} that creates a new table is refused"
            f" while it exists; adopt {table} instead. Only to start on an empty table on purpose:\n"
            f"    aws ssm delete-parameter --name {claim}"
        )
    return 0


def _retains_the_table(cloudformation: Any, stack: str) -> bool:
    """Whether the deployed template (as CloudFormation ran it, transforms applied) retains VerifyStateTable."""
    body = cloudformation.get_template(StackName=stack, TemplateStage="Processed")["TemplateBody"]
    template = body if isinstance(body, dict) else yaml.load(body, Loader=_TemplateLoader)  # noqa: S506 - safe
    return template["Resources"]["VerifyStateTable"].get("DeletionPolicy") == "Retain"


def _retained(table: str | None, key: str | None) -> str:
    if not (table or key):
        return "retained: nothing (the stack had no verify-state table and no sealing key)"
    lines, adopt, delete = [], [], []
    if table:
        lines += [
            f"retained: the verify-state table {table}",
            "  Which recovery codes were used and where each HOTP counter stands: against an empty table, used",
            "  recovery codes and HOTP codes already accepted would be valid again.",
        ]
        adopt.append(f"VerifyStateTableName={table}")
        delete += [
            f"    aws dynamodb update-table --table-name {table} --no-deletion-protection-enabled",
            f"    aws dynamodb delete-table --table-name {table}",
        ]
    if key:
        lines += [f"retained: the sealing key {key}", "  Every sealed_secret and sealed_codes sealed with it needs it."]
        adopt.insert(0, f"SealingKeyArn={key}")
        delete.insert(0, f"    aws kms schedule-key-deletion --key-id {key} --pending-window-in-days 30")
    both = bool(table and key)
    lines += [
        f"To serve the same tokens again, deploy a stack that adopts {'both' if both else 'it'}:",
        f"    sam deploy --parameter-overrides {' '.join(adopt)} ...",
    ]
    if key:
        lines.append("  then name the new stack's OtpFunctionRoleArn output in the key's policy (docs/operations.md).")
    lines.append(f"Delete {'them' if both else 'it'} only when no token that verified here will be used again:")
    lines += [*delete, "  (docs/operations.md, Delete and redeploy)"]
    return "\n" + "\n".join(lines)


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
