"""template.yaml as CloudFormation receives it (both transforms applied, `expand.py`), checked for what moto never
sees: IAM grants, who may publish to the alarm topic, log retention, what the access log writes, which routes
invoke a function without a key. `test_stack_life.py` checks updates, deletes and the parameter sets."""

import json
import re
import subprocess
from functools import cache

import pytest
from support import ROOT

SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"


@cache
def _transform(parameters: str, code: str) -> dict:
    if not SAM_PYTHON.exists():
        pytest.fail("SAM CLI is missing: `make test` installs it into .venv-sam")
    script, template = ROOT / "tests" / "template" / "expand.py", ROOT / "template.yaml"
    command = [str(SAM_PYTHON), str(script), str(template), parameters, code]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode:
        pytest.fail(f"the SAM transform refused {parameters}: {result.stderr[-2000:]}")
    return json.loads(result.stdout)


def transformed(parameters: dict[str, str] | None = None, code: dict[str, str] | None = None) -> dict:
    """The whole template as CloudFormation receives it; `code` moves a resource's code (`s3://bucket/...`)."""
    return _transform(json.dumps(parameters or {}, sort_keys=True), json.dumps(code or {}, sort_keys=True))


def deployed(**parameters: str) -> dict:
    return transformed(parameters)["Resources"]


def of_type(resources: dict, kind: str) -> dict:
    return {name: res for name, res in resources.items() if res["Type"] == kind}


def api_methods(resources: dict) -> dict[str, set[str]]:
    (api,) = of_type(resources, "AWS::ApiGateway::RestApi").values()
    return {path: set(methods) for path, methods in api["Properties"]["Body"]["paths"].items()}


def test_preflights_invoke_a_function_only_with_cors_on():
    # An OPTIONS route needs no key (browsers send none with a preflight): with CORS off it must not exist at all.
    assert api_methods(deployed()) == {"/otp": {"post"}, "/barcodes": {"get", "post"}}
    with_cors = deployed(CorsAllowedOrigins="https://app.example.com")
    assert api_methods(with_cors) == {"/otp": {"post", "options"}, "/barcodes": {"get", "post", "options"}}
    preflight_permissions = [name for name in of_type(deployed(), "AWS::Lambda::Permission") if "Preflight" in name]
    assert preflight_permissions == []


def actions_of(role: dict) -> list[str]:
    statements = [s for policy in role["Properties"].get("Policies", []) for s in policy["PolicyDocument"]["Statement"]]
    return [a for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])]


def test_functions_may_not_list_the_bucket():
    # Least privilege: nothing needs s3:ListBucket since a HEAD answered 403 counts as a miss (storage.find_fresh).
    roles = of_type(deployed(), "AWS::IAM::Role")
    assert "s3:PutObject" in actions_of(roles["BarcodesFunctionRole"])
    for name, role in roles.items():
        assert not {"s3:ListBucket", "s3:*", "*"} & set(actions_of(role)), name


def test_alarms_notify_a_topic_cloudwatch_can_publish_to():
    # CloudWatch cannot use the AWS managed key alias/aws/sns (its key policy cannot be changed to let CloudWatch
    # use it): alarms on such a topic are dropped silently.
    resources = deployed()
    topics = of_type(resources, "AWS::SNS::Topic")
    alarms = of_type(resources, "AWS::CloudWatch::Alarm")
    assert len(alarms) >= 4
    for alarm in alarms.values():
        for action in alarm["Properties"]["AlarmActions"]:
            topic = topics[action["Ref"]]
            assert "alias/aws/" not in json.dumps(topic["Properties"].get("KmsMasterKeyId", ""))


def test_every_function_has_an_alarm_on_its_errors_and_throttles():
    resources = deployed()
    watched = {
        dimension["Value"]["Ref"]
        for alarm in of_type(resources, "AWS::CloudWatch::Alarm").values()
        for metric in alarm["Properties"].get("Metrics", [])
        if "MetricStat" in metric
        for dimension in metric["MetricStat"]["Metric"]["Dimensions"]
        if dimension["Name"] == "FunctionName"
    }
    assert (
        watched
        == set(of_type(resources, "AWS::Lambda::Function"))
        == {
            "OtpFunction",
            "BarcodesFunction",
            "EventsFunction",
        }
    )


@pytest.mark.parametrize(("parameters", "days"), [({}, 30), ({"LogRetentionDays": "7"}, 7)])
def test_every_function_logs_to_a_group_with_a_retention(parameters, days):
    resources = deployed(**parameters)
    groups = of_type(resources, "AWS::Logs::LogGroup")
    functions = of_type(resources, "AWS::Lambda::Function")
    assert len(functions) == 3
    for name, function in functions.items():
        group = groups[function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]]
        assert int(group["Properties"]["RetentionInDays"]) == days, name


def test_the_api_writes_json_access_logs_without_query_strings_or_keys():
    resources = deployed()
    (stage,) = of_type(resources, "AWS::ApiGateway::Stage").values()
    setting = stage["Properties"]["AccessLogSetting"]
    group = of_type(resources, "AWS::Logs::LogGroup")[setting["DestinationArn"]["Fn::GetAtt"][0]]
    assert int(group["Properties"]["RetentionInDays"]) == 30
    fields = json.loads(setting["Format"])  # one JSON object per request
    variables = set(fields.values())
    assert all(re.fullmatch(r"\$context\.[A-Za-z.]+", value) for value in variables)
    # The path as requested, the query string and the key's value can carry secrets; the route and key id cannot.
    assert not variables & {"$context.path", "$context.identity.apiKey"}
    assert not [value for value in variables if "querystring" in value.lower()]
    assert "$context.resourcePath" in variables and "$context.identity.apiKeyId" in variables


def test_access_logs_wait_for_the_accounts_logs_role():
    # A stage with access logs fails to deploy until API Gateway's account settings name a CloudWatch role.
    resources = deployed()
    (api_name,) = of_type(resources, "AWS::ApiGateway::RestApi")
    handle = resources[resources[api_name]["DependsOn"]]
    settings = resources[handle["Metadata"]["AccountSettings"]["Ref"]]
    assert settings["Type"] == "AWS::ApiGateway::Account"
    role = resources[settings["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]]
    # One setting per account and region: kept when the stack goes, so other APIs keep logging.
    assert settings["DeletionPolicy"] == role["DeletionPolicy"] == "Retain"
    assert settings["Condition"] == role["Condition"] == "CreatesApiGatewayLogsRole"
    # An account that has its role already: nothing set, nothing waited for.
    existing = deployed(ApiGatewayLogsRole="existing")
    assert existing[resources[api_name]["DependsOn"]]["Metadata"]["AccountSettings"] == ""


def test_every_alarm_on_the_apis_own_metrics_watches_one_the_code_counts_for_alarms():
    # count_for_alarm emits a metric with the service dimension alone, as these alarms read it (observability.py).
    from tooling.template import raw_document

    source = "\n".join(path.read_text() for path in (ROOT / "layers" / "common" / "otp_api").rglob("*.py"))
    counted = set(re.findall(r'count_for_alarm\("(\w+)"\)', source))
    watched = {
        resource["Properties"]["MetricName"]: resource["Properties"]["Dimensions"]
        for resource in raw_document()["Resources"].values()
        if resource["Type"] == "AWS::CloudWatch::Alarm" and resource["Properties"].get("Namespace") == "OtpApi"
    }
    # a wrong verify-state table, or a stream not its NEW_AND_OLD_IMAGES one (handler/test_misconfigured_state.py)
    misconfigured = {"StateTableMisconfigured", "EventsStreamMisconfigured"}
    assert watched.keys() == counted == {"OtpLockout", "OtpLockedUntilUnlock", *misconfigured}
    assert all(dimensions == [{"Name": "service", "Value": "otp-api"}] for dimensions in watched.values())


# --- ApiType=HTTP ------------------------------------------------------------------------------------------------


def http_routes(resources: dict) -> dict[str, dict[str, object]]:
    """path -> method -> its security (None: the API's default), from the HTTP API's OpenAPI body."""
    (api,) = of_type(resources, "AWS::ApiGatewayV2::Api").values()
    return {
        path: {method: spec.get("security") for method, spec in methods.items()}
        for path, methods in api["Properties"]["Body"]["paths"].items()
    }


JWT = {"ApiType": "HTTP", "ApiAuth": "jwt", "JwtIssuer": "https://issuer.example", "JwtAudience": "app,cli"}


def test_an_http_api_has_the_rest_apis_routes_and_no_rest_api():
    resources = live(transformed({"ApiType": "HTTP", "ApiAuth": "iam"}))
    assert not of_type(resources, "AWS::ApiGateway::RestApi") and not of_type(resources, "AWS::ApiGateway::UsagePlan")
    routes = http_routes(resources)
    assert {path: set(methods) for path, methods in routes.items()} == {"/otp": {"post"}, "/barcodes": {"get", "post"}}
    assert all(security == [{"AWS_IAM": []}] for methods in routes.values() for security in methods.values())
    (api,) = of_type(resources, "AWS::ApiGatewayV2::Api").values()
    for methods in api["Properties"]["Body"]["paths"].values():
        for spec in methods.values():  # the functions read payload 2.0
            assert spec["x-amazon-apigateway-integration"]["payloadFormatVersion"] == "2.0"


def test_an_http_api_with_jwt_guards_every_route_but_preflights_and_public_barcodes():
    resources = live(transformed({**JWT, "CorsAllowedOrigins": "https://a.example", "PublicBarcodes": "true"}))
    (api,) = of_type(resources, "AWS::ApiGatewayV2::Api").values()
    scheme = api["Properties"]["Body"]["components"]["securitySchemes"]["Jwt"]["x-amazon-apigateway-authorizer"]
    assert scheme["type"] == "jwt" and scheme["identitySource"] == "$request.header.Authorization"
    assert scheme["jwtConfiguration"] == {"issuer": "https://issuer.example", "audience": ["app", "cli"]}
    routes = http_routes(resources)
    assert routes["/otp"] == {"post": [{"Jwt": []}], "options": [{"NONE": []}]}
    assert routes["/barcodes"] == {"get": [{"NONE": []}], "post": [{"Jwt": []}], "options": [{"NONE": []}]}


def test_an_http_apis_stage_throttles_and_logs_as_the_rest_apis():
    resources = live(transformed({"ApiType": "HTTP", "ApiAuth": "none"}))
    (stage,) = of_type(resources, "AWS::ApiGatewayV2::Stage").values()
    settings = stage["Properties"]["DefaultRouteSettings"]
    assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == (50, 100)
    fields = json.loads(stage["Properties"]["AccessLogSettings"]["Format"])
    variables = set(fields.values())
    assert "$context.routeKey" in variables and not [value for value in variables if "path" in value.lower()]
    alarm = resources["Api5xxAlarm"]["Properties"]
    assert alarm["MetricName"] == "5xx" and {"Name": "Stage", "Value": "$default"} in alarm["Dimensions"]


def live(template: dict) -> dict:
    """Resources whose condition holds for the parameters transformed (LanguageExtensions leaves conditions)."""
    from test_stack_life import live as stack_live

    return stack_live(template)
