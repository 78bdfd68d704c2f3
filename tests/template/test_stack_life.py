"""The stack's life after its first deploy, as the SAM translator that CloudFormation runs sees it (`expand.py`):
updates that publish new versions for the `live` alias, one stage, a sealing key that outlives the stack and that
only the OTP function may use, a verify-state table that outlives it too, both adoptable by a new stack, the auth
choices, and every parameter set free of references to missing resources.

SAM publishes a version only when the hash it computes over a function changes (samtranslator's
`_construct_version`): these tests transform twice and compare the versions' logical IDs, as CloudFormation would
see them on an update. Conditions are evaluated as CloudFormation evaluates them at deploy time.
"""

import fnmatch
import json
import re
from typing import Any

import pytest
from test_template import of_type, transformed

from tooling.template import raw_document

FUNCTIONS = ("OtpFunction", "BarcodesFunction", "EventsFunction")
PSEUDO = {"AWS::Region", "AWS::AccountId", "AWS::Partition", "AWS::StackName", "AWS::NoValue", "AWS::URLSuffix"}
ADOPTED = "arn:aws:kms:eu-west-1:123456789012:key/mrk-0123456789abcdef0123456789abcdef"
ADOPTED_TABLE = "otp-api-VerifyStateTable-1A2B3C4D5E6F"  # as CloudFormation names a table it creates
ADOPTED_STREAM = f"arn:aws:dynamodb:eu-west-1:123456789012:table/{ADOPTED_TABLE}/stream/2026-01-02T03:04:05.678"
# What decides whether the events function exists and which stream its grant names, not what it runs: the events
# template test (test_events_template.py) checks those.
NO_VALUE = {"Ref": "AWS::NoValue"}
CHOOSES_THE_STREAM = {"VerifyStateTableName", "VerifyStateStreamArn"}
# ApiDomainName with what it needs (test_routing_template.py checks what it makes)
DOMAIN = {
    "ApiDomainName": "otp.example.com",
    "ApiCertificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666",
    "HostedZoneId": "Z0123456789ABCDEFGHIJ",
}


def versions(template: dict) -> dict[str, str]:
    """Each function's version logical ID, checked to be the one its `live` alias serves."""
    resources = template["Resources"]
    found = {}
    for function in FUNCTIONS:
        (version,) = [name for name in of_type(resources, "AWS::Lambda::Version") if name.startswith(function)]
        alias = resources[f"{function}Aliaslive"]["Properties"]
        assert alias["FunctionVersion"] == {"Fn::GetAtt": [version, "Version"]}
        found[function] = version
    return found


# --- updates -------------------------------------------------------------------------------------------------------


def _parameters_read_by(function: str) -> set[str]:
    """The parameters that reach a function's properties, directly or through a condition (raw template)."""
    document = raw_document()
    parameters, conditions = set(document["Parameters"]), document["Conditions"]

    def names(node: Any) -> set[str]:
        if isinstance(node, list):
            return set().union(*map(names, node)) if node else set()
        if not isinstance(node, dict):
            return set()
        found = set().union(*map(names, node.values())) if node else set()
        if node.get("Ref") in parameters:
            found.add(node["Ref"])
        if "Fn::If" in node:
            found |= names(conditions[node["Fn::If"][0]])
        if "Condition" in node and isinstance(node["Condition"], str):
            found |= names(conditions[node["Condition"]])
        if "Fn::Sub" in node and isinstance(node["Fn::Sub"], str):
            found |= set(re.findall(r"\$\{([A-Za-z0-9]+)\}", node["Fn::Sub"])) & parameters
        return found

    properties = dict(document["Resources"][function]["Properties"])
    properties.pop("Events", None)  # routes change the API's deployment, not what the function runs
    return names([properties, document["Globals"]["Function"]])


def _another_value(name: str) -> str:
    spec = raw_document()["Parameters"][name]
    default = str(spec.get("Default", ""))
    if "AllowedValues" in spec:
        return next(str(value) for value in spec["AllowedValues"] if str(value) != default)
    if spec["Type"] == "Number":
        return str(spec.get("MinValue", 0) if int(default) != spec.get("MinValue", 0) else int(default) + 1)
    if spec["Type"] == "CommaDelimitedList":
        return "https://app.example.com"
    adopted = {"SealingKeyArn": ADOPTED, "VerifyStateTableName": ADOPTED_TABLE, "VerifyStateStreamArn": ADOPTED_STREAM}
    return adopted.get(name, "another-value")


def test_the_functions_read_the_parameters_an_operator_tunes():
    # The list the update test walks, checked against what an operator would expect it to hold.
    otp, barcodes = _parameters_read_by("OtpFunction"), _parameters_read_by("BarcodesFunction")
    tuned = {"LogLevel", "EnableSnapStart", "CorsAllowedOrigins", "QrUrlExpirySeconds", "DefaultIssuer"}
    assert tuned <= otp and tuned <= barcodes
    assert {"ReplayProtection", "MaxFailedAttempts", "LockoutWindowSeconds", "SealedSecrets", "SealingKeyArn"} <= otp
    assert "VerifyStateTableName" in otp


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_parameter_a_function_reads_publishes_a_new_version_of_it(function):
    # Before AutoPublishAliasAllProperties and parameter values in the functions' own Properties, none of LogLevel,
    # EnableSnapStart, CorsAllowedOrigins, QrUrlExpirySeconds or DefaultIssuer published a version: the alias kept
    # serving the old environment.
    before = versions(transformed())[function]
    unchanged = []
    for name in sorted(_parameters_read_by(function) - (CHOOSES_THE_STREAM if function == "EventsFunction" else set())):
        if versions(transformed({name: _another_value(name)}))[function] == before:
            unchanged.append(name)
    assert unchanged == []


@pytest.mark.parametrize("resource", ["CommonLayer", *FUNCTIONS])
def test_a_change_of_code_alone_publishes_new_versions(resource):
    # The layer holds all runtime code: a layer-only update must reach both aliases (PublishLambdaVersion on the
    # layer with AutoPublishAliasAllProperties; either alone leaves the version as it was).
    before = versions(transformed())
    after = versions(transformed(code={resource: f"s3://bucket/{resource}-v2"}))
    changed = {function for function in FUNCTIONS if after[function] != before[function]}
    assert changed == (set(FUNCTIONS) if resource == "CommonLayer" else {resource})


def test_passkeys_attach_their_layer_to_the_otp_function_alone():
    # cryptography is 4 MB zipped: without passkeys no function carries it, and the layer is not even created.
    def layers(parameters: dict[str, str]) -> dict[str, list]:
        resources = live(transformed(parameters))
        attached = {f: resources[f]["Properties"]["Layers"] for f in FUNCTIONS}  # SAM suffixes a layer's name
        return {
            f: [ref["Ref"].rstrip("0123456789abcdef") for ref in refs if ref != NO_VALUE]
            for f, refs in attached.items()
        }

    off, on = layers({}), layers({"PasskeyRpId": "example.com", "PasskeyOrigins": "https://example.com"})
    assert off == {function: ["CommonLayer"] for function in FUNCTIONS}
    assert on == {**off, "OtpFunction": ["CommonLayer", "PasskeyLayer"]}
    created = [
        [name for name in live(transformed(p)) if name.startswith("PasskeyLayer")] for p in ({}, {"PasskeyRpId": "a.b"})
    ]
    assert created[0] == [] and len(created[1]) == 1


def test_a_change_of_the_passkey_layer_alone_publishes_an_otp_version():
    # The !If that attaches it is decided before SAM hashes the function (AWS::LanguageExtensions resolves
    # Resources), so SAM sees a plain !Ref to a layer with PublishLambdaVersion, as it sees CommonLayer.
    passkeys = {"PasskeyRpId": "example.com", "PasskeyOrigins": "https://example.com"}
    before = versions(transformed(passkeys))
    after = versions(transformed(passkeys, code={"PasskeyLayer": "s3://bucket/PasskeyLayer-v2"}))
    assert {function for function in FUNCTIONS if after[function] != before[function]} == {"OtpFunction"}


def test_a_change_of_throttling_alone_publishes_nothing():
    # The converse: the versions follow what the functions run, not every parameter (a needless version would cost
    # a SnapStart snapshot).
    assert versions(transformed({"ThrottleRateLimit": "7"})) == versions(transformed())


# --- one entrance --------------------------------------------------------------------------------------------------


def test_the_api_has_one_stage_and_a_regional_endpoint():
    resources = transformed()["Resources"]
    (stage,) = of_type(resources, "AWS::ApiGateway::Stage").values()
    assert stage["Properties"]["StageName"] == "Prod"
    # SAM's Deployment with a StageName of its own creates the second, unthrottled stage "Stage".
    for deployment in of_type(resources, "AWS::ApiGateway::Deployment").values():
        assert "StageName" not in deployment["Properties"]
    (api,) = of_type(resources, "AWS::ApiGateway::RestApi").values()
    assert api["Properties"]["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    assert stage["Properties"]["MethodSettings"][0]["ThrottlingRateLimit"] == 50


def test_stage_tracing_is_off_unless_asked_for():
    # X-Ray records the request URL with its query string.
    def tracing(parameters: dict[str, str]) -> Any:
        (stage,) = of_type(transformed(parameters)["Resources"], "AWS::ApiGateway::Stage").values()
        return stage["Properties"].get("TracingEnabled")

    assert tracing({}) is False
    assert tracing({"ApiTracing": "true"}) is True


def _method_auth(parameters: dict[str, str]) -> dict[tuple[str, str], tuple[str, Any]]:
    """(path, method) -> (security scheme or "", integration credentials) for each route."""
    resources = transformed(parameters)["Resources"]
    (api,) = of_type(resources, "AWS::ApiGateway::RestApi").values()
    found = {}
    for path, methods in api["Properties"]["Body"]["paths"].items():
        for method, spec in methods.items():
            schemes = [name for entry in spec.get("security", []) for name in entry if name != "NONE"]
            credentials = spec["x-amazon-apigateway-integration"].get("credentials")
            found[(path, method)] = (schemes[0] if schemes else "", credentials)
    return found


@pytest.mark.parametrize(
    ("auth", "scheme", "plans"), [("api_key", "api_key", 1), ("iam", "AWS_IAM", 0), ("none", "", 0)]
)
def test_api_auth_guards_every_route_but_preflights(auth, scheme, plans):
    cors = {"CorsAllowedOrigins": "https://app.example.com"}
    routes = _method_auth({"ApiAuth": auth, **cors})
    for (path, method), (found, credentials) in routes.items():
        assert found == ("" if method == "options" else scheme), (path, method)
        # API Gateway invokes with its own permission (InvokeRole NONE), never with the caller's credentials.
        assert credentials is None, (path, method)
    resources = transformed({"ApiAuth": auth})["Resources"]
    assert len(of_type(resources, "AWS::ApiGateway::UsagePlan")) == plans
    assert len(of_type(resources, "AWS::ApiGateway::ApiKey")) == plans
    for plan in of_type(live(transformed({"ApiAuth": auth})), "AWS::ApiGateway::UsagePlan").values():
        # a daily quota by default bounds what an abused key costs (docs/security.md, /barcodes' worst case)
        assert plan["Properties"]["Quota"] == {"Limit": 100000, "Period": "DAY"}


@pytest.mark.parametrize("auth", ["api_key", "iam"])
def test_public_barcodes_opens_get_barcodes_alone(auth):
    closed = _method_auth({"ApiAuth": auth})
    opened = _method_auth({"ApiAuth": auth, "PublicBarcodes": "true"})
    assert closed[("/barcodes", "get")][0] != ""
    assert opened[("/barcodes", "get")] == ("", None)
    assert {route: v for route, v in opened.items() if route != ("/barcodes", "get")} == {
        route: v for route, v in closed.items() if route != ("/barcodes", "get")
    }


@pytest.mark.parametrize("cors", ["", "https://app.example.com"])
def test_api_gateways_own_answers_are_never_cached(cors):
    resources = transformed({"CorsAllowedOrigins": cors} if cors else {})["Resources"]
    (api,) = of_type(resources, "AWS::ApiGateway::RestApi").values()
    responses = api["Properties"]["Body"]["x-amazon-apigateway-gateway-responses"]
    assert set(responses) == {"DEFAULT_4XX", "DEFAULT_5XX", "MISSING_AUTHENTICATION_TOKEN", "INVALID_API_KEY"}
    for response in responses.values():
        headers = {
            name.removeprefix("gatewayresponse.header."): value
            for name, value in response["responseParameters"].items()
        }
        assert headers["Cache-Control"] == "'no-store'"
        # With CORS on, a browser may read API Gateway's 403 or 429: the Origin header is mapped back
        # (x-amazon-apigateway-gateway-responses.responseParameters maps method.request.header.* in AWS's docs).
        expected = {"Access-Control-Allow-Origin": "method.request.header.Origin", "Vary": "'Origin'"} if cors else {}
        assert {name: value for name, value in headers.items() if name != "Cache-Control"} == expected


@pytest.mark.parametrize("auth", ["api_key", "iam", "none"])
def test_a_wrong_route_or_key_is_answered_in_the_apis_error_shape_naming_what_to_send(auth):
    # API Gateway answers a resource or method the API does not have, and (ApiAuth=iam) a request not signed, with
    # its MISSING_AUTHENTICATION_TOKEN gateway response, and a missing or wrong key with INVALID_API_KEY, both 403
    # ("Gateway response types for API Gateway":
    # https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html; "Choose an
    # API key source": a key that matches none of the usage plan's is refused 403,
    # https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-key-source.html). A response
    # type's own gateway response replaces DEFAULT_4XX for it, so each carries no-store too (checked above). Its
    # template is the body ("Gateway responses for REST APIs in API Gateway":
    # https://docs.aws.amazon.com/apigateway/latest/developerguide/customize-gateway-responses.html).
    import json

    from tooling.template import gateway_responses

    resources = transformed({"ApiAuth": auth})["Resources"]
    (api,) = of_type(resources, "AWS::ApiGateway::RestApi").values()
    responses = api["Properties"]["Body"]["x-amazon-apigateway-gateway-responses"]
    routes = sorted(
        (method.upper(), path)
        for path, methods in api["Properties"]["Body"]["paths"].items()
        for method in methods
        if method != "options"
    )
    no_route = json.loads(responses["MISSING_AUTHENTICATION_TOKEN"]["responseTemplates"]["application/json"])
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["statusCode"] == "403"
    assert set(no_route) == {"error", "parameter", "message"} and no_route["parameter"] is None  # ErrorResponse
    # the message names every route the API has, and nothing else
    named = re.findall(r"\b(GET|POST|PUT|DELETE|PATCH) (/\w+)", no_route["message"])
    assert sorted(named) == routes, no_route
    assert ("SigV4" in no_route["message"]) == (auth == "iam")
    key = json.loads(responses["INVALID_API_KEY"]["responseTemplates"]["application/json"])
    assert (responses["INVALID_API_KEY"]["statusCode"], key["error"], key["parameter"]) == (
        "403",
        "invalid_api_key",
        "x-api-key",
    )
    assert "x-api-key header" in key["message"]
    # the local server answers these very bodies (tooling/template.py reads them from template.yaml)
    local = gateway_responses(iam=auth == "iam")
    assert json.loads(local["MISSING_AUTHENTICATION_TOKEN"]) == no_route
    assert json.loads(local["INVALID_API_KEY"]) == key


# --- the sealing key -----------------------------------------------------------------------------------------------

# Every action of AWS KMS's API (AWS KMS permissions reference). Those that use a key or hand its use on:
KMS_ACTIONS = [
    "CancelKeyDeletion",
    "ConnectCustomKeyStore",
    "CreateAlias",
    "CreateCustomKeyStore",
    "CreateGrant",
    "CreateKey",
    "Decrypt",
    "DeleteAlias",
    "DeleteCustomKeyStore",
    "DeleteImportedKeyMaterial",
    "DeriveSharedSecret",
    "DescribeCustomKeyStores",
    "DescribeKey",
    "DisableKey",
    "DisableKeyRotation",
    "DisconnectCustomKeyStore",
    "EnableKey",
    "EnableKeyRotation",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateMac",
    "GenerateRandom",
    "GetKeyPolicy",
    "GetKeyRotationStatus",
    "GetParametersForImport",
    "GetPublicKey",
    "ImportKeyMaterial",
    "ListAliases",
    "ListGrants",
    "ListKeyPolicies",
    "ListKeyRotations",
    "ListKeys",
    "ListResourceTags",
    "ListRetirableGrants",
    "PutKeyPolicy",
    "ReEncryptFrom",
    "ReEncryptTo",
    "ReplicateKey",
    "RetireGrant",
    "RevokeGrant",
    "RotateKeyOnDemand",
    "ScheduleKeyDeletion",
    "Sign",
    "SynchronizeMultiRegionKey",
    "TagResource",
    "UntagResource",
    "UpdateAlias",
    "UpdateCustomKeyStore",
    "UpdateKeyDescription",
    "UpdatePrimaryRegion",
    "Verify",
    "VerifyMac",
]
USES_THE_KEY = {
    "Decrypt",
    "Encrypt",
    "ReEncryptFrom",
    "ReEncryptTo",
    "GenerateDataKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateMac",
    "VerifyMac",
    "Sign",
    "Verify",
    "DeriveSharedSecret",
    "CreateGrant",  # a grant can give any principal Decrypt
}


def _allowed(statement: dict) -> set[str]:
    # IAM matches actions case-insensitively, with * and ? as wildcards.
    patterns = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
    return {a for a in KMS_ACTIONS for p in patterns if fnmatch.fnmatchcase(f"kms:{a}".lower(), p.lower())}


def test_the_sealing_key_is_used_by_the_otp_role_alone_under_the_sealing_context():
    from otp_api.kms import CONTEXT

    resources = transformed()["Resources"]
    ((key_name, key),) = of_type(resources, "AWS::KMS::Key").items()
    env = resources["OtpFunction"]["Properties"]["Environment"]["Variables"]
    assert env["SEALING_KEY_ARN"] == {"Fn::GetAtt": [key_name, "Arn"]}
    users: dict[str, set[str]] = {}
    for statement in key["Properties"]["KeyPolicy"]["Statement"]:
        assert statement["Effect"] == "Allow"
        used = _allowed(statement) & USES_THE_KEY
        if used:
            principal = statement["Principal"]["AWS"]
            users[str(principal)] = used
            assert statement["Condition"] == {"StringEquals": {"kms:EncryptionContext:purpose": CONTEXT["purpose"]}}
    assert users == {str({"Fn::GetAtt": ["OtpFunctionRole", "Arn"]}): {"Encrypt", "Decrypt"}}
    # The account still administers it: rotation, deletion, its policy, a replica.
    (admin,) = [s for s in key["Properties"]["KeyPolicy"]["Statement"] if s["Sid"] == "AccountAdministersTheKey"]
    for action in ("PutKeyPolicy", "ScheduleKeyDeletion", "CancelKeyDeletion", "ReplicateKey", "EnableKeyRotation"):
        assert action in _allowed(admin)


def test_the_sealing_key_outlives_the_stack_and_can_have_replicas():
    resources = transformed()["Resources"]
    (key,) = of_type(resources, "AWS::KMS::Key").values()
    # sam delete, SealedSecrets=false or a replacement would otherwise schedule it for deletion, and every sealed
    # secret ever issued with it could never be opened again.
    assert key["DeletionPolicy"] == key["UpdateReplacePolicy"] == "Retain"
    assert key["Properties"]["MultiRegion"] is True  # fixed at creation
    assert key["Properties"]["EnableKeyRotation"] is True


def test_sealing_key_arn_adopts_an_existing_key():
    from otp_api.kms import CONTEXT

    template = transformed({"SealingKeyArn": ADOPTED})
    resources = live(template)
    assert of_type(resources, "AWS::KMS::Key") == {}
    assert resources["OtpFunction"]["Properties"]["Environment"]["Variables"]["SEALING_KEY_ARN"] == ADOPTED
    statements = [
        s
        for policy in resources["OtpFunctionRole"]["Properties"]["Policies"]
        for s in policy["PolicyDocument"]["Statement"]
    ]
    (grant,) = [s for s in statements if any(a.startswith("kms:") for a in s["Action"])]
    assert grant["Action"] == ["kms:Encrypt", "kms:Decrypt"] and grant["Resource"] == ADOPTED
    assert grant["Condition"] == {"StringEquals": {"kms:EncryptionContext:purpose": CONTEXT["purpose"]}}
    assert template["Outputs"]["SealingKeyArn"]["Value"] == ADOPTED


def test_sealed_secrets_off_has_no_key_and_no_kms_grant():
    for parameters in ({"SealedSecrets": "false"}, {"SealedSecrets": "false", "SealingKeyArn": ADOPTED}):
        resources = live(transformed(parameters))
        assert of_type(resources, "AWS::KMS::Key") == {}
        assert resources["OtpFunction"]["Properties"]["Environment"]["Variables"]["SEALING_KEY_ARN"] == ""
        assert "kms:" not in str(resources["OtpFunctionRole"]["Properties"]["Policies"])


# --- the verify-state table ---------------------------------------------------------------------------------------


def _state_table(resources: dict) -> dict:
    (table,) = of_type(resources, "AWS::DynamoDB::Table").values()
    return table


def test_the_verify_state_table_outlives_the_stack_and_any_replacement():
    """It holds which recovery codes were used and where each HOTP counter stands; with the retained sealing key, a
    new stack on an empty table would accept a used recovery code and every HOTP code from the token's first counter
    on again.

    AWS CloudFormation, "DeletionPolicy attribute": without it CloudFormation deletes the resource when its stack is
    deleted, and also when an update removes it from the template (as a change to VerifyStateTableName does);
    `Retain` keeps it. "UpdateReplacePolicy attribute": when a property change replaces a resource, CloudFormation
    creates the new one and by default deletes the old; `Retain` keeps the old one (DeletionPolicy does not apply to
    a replacement). https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-updatereplacepolicy.html
    """
    stateless = {"ApiGatewayLogsRole": "existing", "ReplayProtection": "false", "MaxFailedAttempts": "0"}
    for parameters in ({}, {"SealedSecrets": "false"}, stateless):  # HOTP or recovery codes use it in each
        table = _state_table(live(transformed(parameters)))
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain", parameters


def test_the_verify_state_table_is_protected_from_deletion_and_recoverable():
    """AWS::DynamoDB::Table, `DeletionProtectionEnabled`: "Determines if a table is protected from deletion. When
    enabled, the table cannot be deleted by any user or process" (a retained table outside any stack too, until
    someone turns it off). `PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled`: continuous backups, a
    restore to any second of the recovery period (35 days by default) into a new table.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-dynamodb-table.html
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-dynamodb-table-pointintimerecoveryspecification.html
    """
    properties = _state_table(live(transformed()))["Properties"]
    assert properties["DeletionProtectionEnabled"] is True
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    # Items with expires_at still expire (TOTP replay and lockout); DynamoDB's TTL never deletes the others.
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def _dynamodb_grants(resources: dict) -> list[dict]:
    """The grants on the table itself (the events function's on its stream: test_events_template.py)."""
    found = []
    for name, role in of_type(resources, "AWS::IAM::Role").items():
        if name == "EventsFunctionRole":
            continue
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                if any(action.lower().startswith("dynamodb:") for action in actions):
                    found.append(statement)
    return found


def test_verify_state_table_name_adopts_an_existing_table():
    # A new stack takes over the table a deleted one retained: no table of its own, and its function reads and
    # writes that table alone. The ARN is built as the Service Authorization Reference gives DynamoDB's resource type
    # `table` (arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}), in the stack's account and region.
    template = transformed({"VerifyStateTableName": ADOPTED_TABLE})
    resources = live(template)
    assert of_type(resources, "AWS::DynamoDB::Table") == {}
    variables = resources["OtpFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["VERIFY_STATE_TABLE_NAME"] == ADOPTED_TABLE
    (grant,) = _dynamodb_grants(resources)
    assert grant["Action"] == ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    assert grant["Resource"] == f"arn:aws:dynamodb:eu-west-1:123456789012:table/{ADOPTED_TABLE}"
    assert template["Outputs"]["VerifyStateTableName"]["Value"] == ADOPTED_TABLE
    # The stack's own table, when it makes one: the same grant on that table alone.
    created = live(transformed())
    (grant,) = _dynamodb_grants(created)
    (name,) = of_type(created, "AWS::DynamoDB::Table")
    assert grant["Resource"] == {"Fn::GetAtt": [name, "Arn"]}
    assert created["OtpFunction"]["Properties"]["Environment"]["Variables"]["VERIFY_STATE_TABLE_NAME"] == {"Ref": name}


def test_verify_state_table_name_admits_a_table_name_and_nothing_wider():
    # The name lands in the grant's ARN: a wildcard (or a path) would grant more tables than one. DynamoDB's table
    # names are 3 to 255 of [a-zA-Z0-9_.-] (Amazon DynamoDB Developer Guide, "Supported data types and naming
    # rules"); empty means "create one".
    pattern = raw_document()["Parameters"]["VerifyStateTableName"]["AllowedPattern"]
    for name in ("", ADOPTED_TABLE, "abc", "a.b-c_D9", "x" * 255):
        assert re.fullmatch(pattern, name), name
    for name in ("*", "otp-api-*", "a?b", "ab", "x" * 256, "t/index/*", "arn:aws:dynamodb:eu-west-1:1:table/t", "a b"):
        assert not re.fullmatch(pattern, name), name


# --- every parameter set -------------------------------------------------------------------------------------------


def _conditions(template: dict) -> dict[str, bool]:
    raw = template.get("Conditions", {})

    def value(node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        ((op, arg),) = node.items()
        if op == "Condition":
            return value(raw[arg])
        if op == "Fn::Equals":
            return str(value(arg[0])) == str(value(arg[1]))
        if op == "Fn::Not":
            return not value(arg[0])
        if op == "Fn::And":
            return all(value(item) for item in arg)
        if op == "Fn::Or":
            return any(value(item) for item in arg)
        raise AssertionError(f"a condition CloudFormation could not evaluate: {node}")

    return {name: value(node) for name, node in raw.items()}


def _prune(node: Any, conditions: dict[str, bool]) -> Any:
    """The node with every Fn::If decided, as CloudFormation decides it at deploy time."""
    if isinstance(node, list):
        return [_prune(item, conditions) for item in node]
    if isinstance(node, dict):
        if set(node) == {"Fn::If"}:
            when, if_true, if_false = node["Fn::If"]
            return _prune(if_true if conditions[when] else if_false, conditions)
        return {key: _prune(value, conditions) for key, value in node.items()}
    return node


def live(template: dict) -> dict:
    """The resources CloudFormation creates: those whose condition holds, with their Fn::If decided."""
    conditions = _conditions(template)
    return {
        name: _prune(resource, conditions)
        for name, resource in template["Resources"].items()
        if conditions.get(resource.get("Condition"), True)
    }


def _references(node: Any) -> set[str]:
    if isinstance(node, list):
        return set().union(*map(_references, node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found = set().union(*map(_references, node.values())) if node else set()
    if isinstance(node.get("Ref"), str):
        found.add(node["Ref"])
    if "Fn::GetAtt" in node:
        target = node["Fn::GetAtt"]
        found.add(target[0] if isinstance(target, list) else target.split(".")[0])
    if "Fn::Sub" in node:
        text, local = (node["Fn::Sub"], {}) if isinstance(node["Fn::Sub"], str) else node["Fn::Sub"]
        found |= {name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text)} - set(local)
    return found


PARAMETER_SETS = [
    {},
    {"ApiAuth": "iam"},
    {"ApiAuth": "none"},
    {"ApiAuth": "iam", "PublicBarcodes": "true", "CorsAllowedOrigins": "https://a.example,https://b.example"},
    {"ApiAuth": "none", "PublicBarcodes": "true"},
    {"SealedSecrets": "false"},
    {"SealingKeyArn": ADOPTED},
    {"VerifyStateTableName": ADOPTED_TABLE},
    {"SealingKeyArn": ADOPTED, "VerifyStateTableName": ADOPTED_TABLE},  # a redeploy after make delete
    {"SealingKeyArn": ADOPTED, "VerifyStateTableName": ADOPTED_TABLE, "VerifyStateStreamArn": ADOPTED_STREAM},
    {"EventBusName": "security-events"},
    {"EnableSnapStart": "true", "ApiTracing": "true", "AlarmEmail": "ops@example.com", "QuotaLimit": "1000"},
    {"ApiGatewayLogsRole": "existing", "ReplayProtection": "false", "MaxFailedAttempts": "0"},
    {"ApiType": "HTTP", "ApiAuth": "iam"},
    {"ApiType": "HTTP", "ApiAuth": "none", "CorsAllowedOrigins": "https://a.example", "PublicBarcodes": "true"},
    {"ApiType": "HTTP", "ApiAuth": "jwt", "JwtIssuer": "https://issuer.example", "JwtAudience": "app"},
    {"StateRegions": "eu-west-1,eu-west-2,eu-west-3"},  # the stack that creates the global table
    {"StateRegions": "eu-west-1,eu-west-2,witness:eu-west-3", "SealedSecrets": "false"},
    {  # a stack in another of the Regions, adopting the table, its replica's stream and the key's replica
        "StateRegions": "eu-west-1,eu-west-2,eu-west-3",
        "VerifyStateTableName": ADOPTED_TABLE,
        "VerifyStateStreamArn": ADOPTED_STREAM,
        "SealingKeyArn": ADOPTED,
    },
    {**DOMAIN, "StateRegions": "eu-west-1,eu-west-2,eu-west-3"},  # its custom domain, latency record, health check
    {**DOMAIN, "ApiType": "HTTP", "ApiAuth": "iam", "RoutingPolicy": "failover-secondary"},
]


@pytest.mark.parametrize("parameters", PARAMETER_SETS, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()))
def test_every_parameter_set_transforms_with_nothing_pointing_at_a_missing_resource(parameters):
    assert parameters.keys() <= raw_document()["Parameters"].keys()  # the translator ignores an unknown one
    template = transformed(parameters)
    resources = live(template)
    known = resources.keys() | template.get("Parameters", {}).keys() | raw_document()["Parameters"].keys() | PSEUDO
    for name, resource in resources.items():
        depends = resource.get("DependsOn", [])
        missing = (_references(resource) | set([depends] if isinstance(depends, str) else depends)) - known
        assert not missing, (name, missing)
    conditions = _conditions(template)
    for name, output in template.get("Outputs", {}).items():
        if conditions.get(output.get("Condition"), True):
            assert not _references(_prune(output, conditions)) - known, name


# --- the local server reads the template as CloudFormation does ----------------------------------------------------


def test_the_local_servers_reading_of_the_template_equals_the_translators():
    # tooling/template.py evaluates the few intrinsics the functions' environment uses, by hand; the SAM
    # translator is the reference. Resources stand for themselves (<Name>) on both sides.
    from tooling import template as local

    read = local.load()
    names = {**read.parameters, **{name: f"<{name}>" for name in raw_document()["Resources"]}}
    resources = live(transformed())

    def deployed_value(value: Any) -> str:
        if isinstance(value, dict) and "Ref" in value:
            return f"<{value['Ref']}>"
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            return f"<{value['Fn::GetAtt'][0]}>"
        return str(value)

    for name, function in read.functions.items():
        env = resources[name]["Properties"]["Environment"]["Variables"]
        mine = local.resolve_environment(function.environment, names, read.conditions)
        assert mine == {key: deployed_value(value) for key, value in env.items()}, name
        assert {path for _, path in function.routes} <= set(_method_paths(resources))


def _method_paths(resources: dict) -> set[str]:
    (api,) = of_type(resources, "AWS::ApiGateway::RestApi").values()
    return set(api["Properties"]["Body"]["paths"])


def _holds(expression: Any, parameters: dict[str, str]) -> Any:
    """A Rules expression's value for these parameters (the functions Rules allow that this template uses)."""
    if isinstance(expression, dict):
        ((function, arguments),) = expression.items()
        if function == "Ref":
            return parameters.get(arguments, "")
        values = [_holds(argument, parameters) for argument in arguments]
        return {
            "Fn::And": lambda: all(values),
            "Fn::Not": lambda: not values[0],
            "Fn::Equals": lambda: values[0] == values[1],
        }[function]()
    return expression


def _refused_by(parameters: dict[str, str]) -> set[str]:
    """The Rules whose condition holds and one of whose assertions fails, for these parameters (as CloudFormation
    evaluates them on the translator's output, the template's defaults filling in the rest)."""
    template = transformed(parameters)
    given = {name: str(spec.get("Default", "")) for name, spec in raw_document()["Parameters"].items()} | parameters
    return {
        name
        for name, rule in template["Rules"].items()
        if _holds(rule.get("RuleCondition", True), given)
        and not all(_holds(assertion["Assert"], given) for assertion in rule["Assertions"])
    }


KEY = {"SealingKeyArn": ADOPTED}
FRESH = {"FreshStateWithAdoptedKey": "true"}
TABLE = {"VerifyStateTableName": ADOPTED_TABLE}


@pytest.mark.parametrize(
    ("parameters", "refused"),
    [
        ({}, set()),
        ({**KEY, **TABLE}, set()),  # both, as make delete says
        ({**KEY, **TABLE, "VerifyStateStreamArn": ADOPTED_STREAM}, set()),  # and the table's stream
        (KEY, {"AdoptedKeyKeepsItsState"}),  # the old key against an empty table
        ({**KEY, "SealedSecrets": "false"}, {"AdoptedKeyKeepsItsState"}),  # a key named is a key meant
        ({**KEY, **FRESH}, set()),  # a second Region, said so
        (TABLE, set()),
        # FreshStateWithAdoptedKey lets through nothing but a second Region's stack on a replica key
        (FRESH, {"FreshStateIsForASecondRegion"}),  # no key adopted: an empty table under a new key
        ({**FRESH, "SealedSecrets": "false"}, {"FreshStateIsForASecondRegion"}),
        ({**KEY, **FRESH, "SealedSecrets": "false"}, {"FreshStateIsForASecondRegion"}),
        ({**KEY, **FRESH, **TABLE}, {"FreshStateIsForASecondRegion"}),  # fresh and adopted at once
        # a stream is an adopted table's
        ({"VerifyStateStreamArn": ADOPTED_STREAM}, {"StreamNeedsItsAdoptedTable"}),
    ],
)
def test_the_rules_let_through_a_chosen_table_only(parameters, refused):
    """AWS CloudFormation, "Rules syntax" and "Rule functions": CloudFormation checks each rule when it makes a
    change set (or creates or updates a stack), before any resource: a rule whose RuleCondition holds and one of
    whose Assertions is false fails the operation with its AssertDescription. Only Fn::And, Fn::Contains,
    Fn::EachMemberEquals, Fn::EachMemberIn, Fn::Equals, Fn::Not, Fn::Or, Fn::RefAll, Fn::ValueOf and
    Fn::ValueOfAll are allowed: whole values compared, no string taken apart (so the stream ARN's table part is
    checked by the events function, tests/handler/test_misconfigured_state.py).
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-rules.html
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/rules-section-structure.html
    The transform must keep them, and they must refuse exactly the parameter sets that leave an empty table where
    a retained one was meant, and what FreshStateWithAdoptedKey would let through besides a second Region."""
    assert parameters.keys() <= raw_document()["Parameters"].keys()
    assert _refused_by(parameters) == refused
    functions = json.dumps(transformed(parameters)["Rules"])
    assert set(re.findall(r'"(Fn::\w+)"', functions)) <= {"Fn::And", "Fn::Not", "Fn::Equals", "Fn::Or", "Fn::Contains"}


# --- a redeploy under the same name ---------------------------------------------------------------------------------


def test_a_stack_that_creates_its_table_claims_its_name_so_a_redeploy_cannot_start_empty():
    """What Rules cannot see (a table retained by a deleted stack of this name), a resource of a fixed name can:
    CloudFormation's pre-deployment validation detects "resource name conflicts with existing resources" when a
    change set is made, in FAIL mode ("Validate stack deployments"); without it, creating a resource whose name is
    taken fails the stack's creation, which rolls back. `DeletionPolicy: Retain` keeps the claim when the stack is
    deleted, as the table, and `DependsOn` creates it before the table, so a refused redeploy leaves no empty table
    behind. https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/validate-stack-deployments.html
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-dependson.html

    Not a fixed TableName: AWS::DynamoDB::Table `TableName` is "Update requires: Replacement", so naming the table
    of a deployed stack would move it to a new, empty table on its next update (the old one retained aside).
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-dynamodb-table.html"""
    resources = live(transformed())
    table = resources["VerifyStateTable"]
    assert "TableName" not in table["Properties"]  # deployed stacks keep their table: no replacement
    claims = of_type(resources, "AWS::SSM::Parameter")
    assert list(claims) == ["VerifyStateTableClaim"] and table["DependsOn"] == "VerifyStateTableClaim"
    claim = claims["VerifyStateTableClaim"]
    assert claim["DeletionPolicy"] == claim["UpdateReplacePolicy"] == "Retain"
    # A name of the stack's: SAM CLI's local LanguageExtensions (expand.py) leaves a Sub of AWS::StackName as its
    # text, without the Sub, as it does the sealing key's alias; CloudFormation fills it in.
    name = claim["Properties"]["Name"]
    assert name in (
        "/otp-api/${AWS::StackName}/verify-state-table",
        {"Fn::Sub": "/otp-api/${AWS::StackName}/verify-state-table"},
    )
    # Every way of creating the table claims the name: with sealing off, a new key, or no replay protection alike
    for parameters in ({"SealedSecrets": "false"}, {"ReplayProtection": "false", "MaxFailedAttempts": "0"}):
        assert "VerifyStateTableClaim" in live(transformed(parameters)), parameters
    # Adopting the retained table claims nothing, so the documented redeploy under the same name passes
    for parameters in (TABLE, {**KEY, **TABLE}):
        assert of_type(live(transformed(parameters)), "AWS::SSM::Parameter") == {}, parameters


def test_the_claim_is_added_to_a_deployed_stack_without_touching_its_table():
    # The update that brings the claim to a stack deployed before it changes nothing of the table's properties (a
    # property change could replace it): the same table, the same logical ID, only a new resource and DependsOn.
    resources = live(transformed())
    properties = resources["VerifyStateTable"]["Properties"]
    assert set(properties) == {
        "DeletionProtectionEnabled",
        "PointInTimeRecoverySpecification",
        "BillingMode",
        "AttributeDefinitions",
        "KeySchema",
        "TimeToLiveSpecification",
        "SSESpecification",
        "StreamSpecification",
    }
    assert of_type(resources, "AWS::DynamoDB::Table").keys() == {"VerifyStateTable"}
