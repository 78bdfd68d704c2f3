"""Run with .venv-sam's Python: template.yaml as CloudFormation receives it for some parameter values, printed as
JSON. The AWS::LanguageExtensions transform (SAM CLI's implementation of it), then the SAM transform.

    .venv-sam/bin/python tests/template/expand.py template.yaml '{"CorsAllowedOrigins": "https://a.example"}'
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
    expanded = expand_language_extensions(template, {**parameters, **PSEUDO}, enabled=True).expanded_template
    expanded["Transform"] = "AWS::Serverless-2016-10-31"
    for resource in expanded["Resources"].values():  # as `sam package` leaves them: code in S3
        for key in ("CodeUri", "ContentUri"):
            if key in resource.get("Properties", {}):
                resource["Properties"][key] = "s3://bucket/key"
    print(json.dumps(transform(expanded, parameters, NoManagedPolicies())))


if __name__ == "__main__":
    main()
