"""Run with .venv-sam's Python: template.yaml as CloudFormation receives it for some parameter values, printed as
JSON. The AWS::LanguageExtensions transform (SAM CLI's implementation of it, which like CloudFormation's resolves
Resources, Conditions and Outputs but not SAM's Globals), then the SAM translator that CloudFormation's
AWS::Serverless transform runs, on code in S3 as `sam package` leaves it. The optional third argument names where
each resource's code lies (default `s3://bucket/<resource>`), to transform a code change.

    .venv-sam/bin/python tests/template/expand.py template.yaml '{"CorsAllowedOrigins": "https://a.example"}' \
        '{"CommonLayer": "s3://bucket/layer-v2"}'
"""

import json
import os
import sys

from samcli.lib.cfn_language_extensions.sam_integration import expand_language_extensions
from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform

PSEUDO = {"AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}


class NoManagedPolicies:
    def load(self) -> dict:
        return {}


def main() -> None:
    os.environ.setdefault("AWS_DEFAULT_REGION", PSEUDO["AWS::Region"])
    with open(sys.argv[1]) as file:
        template = yaml_parse(file.read())
    parameters = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    code = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    expanded = expand_language_extensions(template, {**parameters, **PSEUDO}, enabled=True).expanded_template
    expanded["Transform"] = "AWS::Serverless-2016-10-31"
    for name, resource in expanded["Resources"].items():  # as `sam package` leaves them: code in S3
        for key in ("CodeUri", "ContentUri"):
            if key in resource.get("Properties", {}):
                resource["Properties"][key] = code.get(name, f"s3://bucket/{name}")
    print(json.dumps(transform(expanded, parameters, NoManagedPolicies())))


if __name__ == "__main__":
    main()
