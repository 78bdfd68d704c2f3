"""ApiDomainName as CloudFormation receives it (`expand.py`, which deploys in eu-west-1): a regional custom domain on
the API of either type with its stage mapped at the root, a Route 53 alias record for it in HostedZoneId (latency:
the Region, with the Region as its set identifier; or one of a failover pair), healthy while the stack's
Api5xxAlarm is not in alarm; without the name none of them, and nothing else changes; cfn-lint passes with it.

Amazon API Gateway developer guide, "Set up a Regional custom domain name": the ACM certificate must be in the API's
Region, and Route 53 points the name at the domain's regional domain name with an A alias record.
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-regional-api-custom-domain-create.html
AWS CloudFormation, AWS::Route53::RecordSet (`Region` and `SetIdentifier` for latency records, `Failover` PRIMARY or
SECONDARY, `HealthCheckId`, `AliasTarget` with `EvaluateTargetHealth`) and AWS::Route53::HealthCheck
(`CLOUDWATCH_METRIC` with `AlarmIdentifier` and `InsufficientDataHealthStatus`: Healthy, Unhealthy or
LastKnownStatus, which for a new health check with no last known status is healthy). Route 53 takes alarms on
standard-resolution metrics with the statistics Average, Minimum, Maximum, Sum or SampleCount (AlarmIdentifier).
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-route53-recordset.html
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-route53-healthcheck.html
https://docs.aws.amazon.com/Route53/latest/APIReference/API_AlarmIdentifier.html
"""

import re
import subprocess

import pytest
from support import ROOT
from test_stack_life import DOMAIN, _refused_by, live
from test_template import of_type, transformed

from tooling.template import raw_document

REGION = "eu-west-1"  # expand.py's
NAME, CERTIFICATE, ZONE = DOMAIN["ApiDomainName"], DOMAIN["ApiCertificateArn"], DOMAIN["HostedZoneId"]
API_TYPES = {"REST": {}, "HTTP": {"ApiType": "HTTP", "ApiAuth": "iam"}}
# (domain, mapping, stage) types of each API type
KINDS = {
    "REST": ("AWS::ApiGateway::DomainName", "AWS::ApiGateway::BasePathMapping", "AWS::ApiGateway::Stage"),
    "HTTP": ("AWS::ApiGatewayV2::DomainName", "AWS::ApiGatewayV2::ApiMapping", "AWS::ApiGatewayV2::Stage"),
}
ROUTING = {
    "AWS::ApiGateway::DomainName",
    "AWS::ApiGateway::BasePathMapping",
    "AWS::ApiGatewayV2::DomainName",
    "AWS::ApiGatewayV2::ApiMapping",
    "AWS::Route53::RecordSet",
    "AWS::Route53::RecordSetGroup",
    "AWS::Route53::HealthCheck",
}


def _one(resources: dict, kind: str) -> tuple[str, dict]:
    ((name, resource),) = of_type(resources, kind).items()
    return name, resource["Properties"]


@pytest.mark.parametrize("api_type", API_TYPES)
def test_a_domain_name_maps_this_regions_api_and_routes_to_it_by_latency_while_it_is_healthy(api_type):
    # Given the name, its certificate and its zone, and the default routing (latency)
    template = transformed({**API_TYPES[api_type], **DOMAIN})
    resources = live(template)
    domain_kind, mapping_kind, stage_kind = KINDS[api_type]
    # Then one regional custom domain, of this API type, with the certificate of this Region
    assert {res["Type"] for res in resources.values()} & ROUTING == {
        domain_kind,
        mapping_kind,
        "AWS::Route53::RecordSet",
        "AWS::Route53::HealthCheck",
    }
    domain, properties = _one(resources, domain_kind)
    assert properties["DomainName"] == NAME
    if api_type == "REST":
        assert properties["RegionalCertificateArn"] == CERTIFICATE and "CertificateArn" not in properties
        assert properties["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
        assert properties["SecurityPolicy"] == "TLS_1_2"
    else:
        assert properties["DomainNameConfigurations"] == [
            {"CertificateArn": CERTIFICATE, "EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2"}
        ]
    # the API's one stage mapped at the domain's root (no base path: https://otp.example.com/otp)
    _, mapping = _one(resources, mapping_kind)
    stage, _ = _one(resources, stage_kind)
    assert mapping["DomainName"] == {"Ref": domain} and mapping["Stage"] == {"Ref": stage}
    if api_type == "REST":
        (api,) = of_type(resources, "AWS::ApiGateway::RestApi")
        assert mapping["RestApiId"] == {"Ref": api} and "BasePath" not in mapping
    else:
        (api,) = of_type(resources, "AWS::ApiGatewayV2::Api")
        assert mapping["ApiId"] == {"Ref": api} and "ApiMappingKey" not in mapping
    # a latency alias record for the name in the zone, this Region's, alias to the domain's regional name
    _, record = _one(resources, "AWS::Route53::RecordSet")
    health_check, check = _one(resources, "AWS::Route53::HealthCheck")
    assert record == {
        "HostedZoneId": ZONE,
        "Name": NAME,
        "Type": "A",
        "SetIdentifier": REGION,
        "Region": REGION,
        "HealthCheckId": {"Ref": health_check},
        "AliasTarget": {
            "DNSName": {"Fn::GetAtt": [domain, "RegionalDomainName"]},
            "HostedZoneId": {"Fn::GetAtt": [domain, "RegionalHostedZoneId"]},
            "EvaluateTargetHealth": True,
        },
    }
    # healthy while the stack's 5xx alarm on this API is not in alarm; a new check, or a gap, keeps its last status
    assert check["HealthCheckConfig"] == {
        "Type": "CLOUDWATCH_METRIC",
        "AlarmIdentifier": {"Name": {"Ref": "Api5xxAlarm"}, "Region": REGION},
        "InsufficientDataHealthStatus": "LastKnownStatus",
    }
    assert template["Outputs"]["ApiDomainUrl"]["Value"] in (
        f"https://{NAME}/",
        {"Fn::Sub": "https://${ApiDomainName}/"},
    )


@pytest.mark.parametrize("api_type", API_TYPES)
def test_the_health_checks_alarm_watches_this_api_as_route_53_can_read_it(api_type):
    resources = live(transformed({**API_TYPES[api_type], **DOMAIN}))
    alarm = resources["Api5xxAlarm"]["Properties"]
    # Route 53: standard resolution (a period of a minute or more), no extended statistic, no metric math
    assert alarm["Statistic"] in {"Average", "Minimum", "Maximum", "Sum", "SampleCount"}
    assert "Metrics" not in alarm and "ExtendedStatistic" not in alarm and alarm["Period"] >= 60
    dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
    if api_type == "REST":  # the REST API is named after the stack (Api's Name), its stage Prod
        (api,) = of_type(resources, "AWS::ApiGateway::RestApi").values()
        assert dimensions["ApiName"] == api["Properties"]["Name"] and dimensions["Stage"] == "Prod"
    else:
        (api,) = of_type(resources, "AWS::ApiGatewayV2::Api")
        assert dimensions == {"ApiId": {"Ref": api}, "Stage": "$default"}


@pytest.mark.parametrize(("policy", "failover"), [("failover-primary", "PRIMARY"), ("failover-secondary", "SECONDARY")])
@pytest.mark.parametrize("api_type", API_TYPES)
def test_a_failover_record_is_the_primary_or_the_secondary_with_the_same_health_check(api_type, policy, failover):
    resources = live(transformed({**API_TYPES[api_type], **DOMAIN, "RoutingPolicy": policy}))
    _, record = _one(resources, "AWS::Route53::RecordSet")
    health_check, _ = _one(resources, "AWS::Route53::HealthCheck")
    assert record["Failover"] == failover and "Region" not in record
    assert record["SetIdentifier"] == REGION and record["HealthCheckId"] == {"Ref": health_check}


@pytest.mark.parametrize("api_type", API_TYPES)
def test_without_a_domain_name_there_is_no_domain_record_or_health_check_and_nothing_else_changes(api_type):
    template = transformed(API_TYPES[api_type])
    without = live(template)
    assert not {res["Type"] for res in without.values()} & ROUTING
    conditions = {name for name, output in template["Outputs"].items() if output.get("Condition") == "HasApiDomain"}
    assert conditions == {"ApiDomainUrl", "ApiHealthCheckId"}
    assert template["Conditions"]["HasApiDomain"] == {"Fn::Not": [{"Fn::Equals": ["", ""]}]}
    # The name adds its four resources and changes none of the others (the API, its deployment, the alarm).
    with_domain = live(transformed({**API_TYPES[api_type], **DOMAIN}))
    added = {name for name, res in with_domain.items() if res["Type"] in ROUTING}
    assert len(added) == 4 and with_domain.keys() - added == without.keys()
    assert {name: with_domain[name] for name in without} == without


@pytest.mark.parametrize(
    ("parameters", "refused"),
    [
        ({}, set()),
        (DOMAIN, set()),
        ({**DOMAIN, "RoutingPolicy": "failover-secondary"}, set()),
        ({"ApiDomainName": NAME}, {"ApiDomainNeedsCertificateAndZone"}),
        ({"ApiDomainName": NAME, "ApiCertificateArn": CERTIFICATE}, {"ApiDomainNeedsCertificateAndZone"}),
        ({"ApiDomainName": NAME, "HostedZoneId": ZONE}, {"ApiDomainNeedsCertificateAndZone"}),
        # what only a domain uses, without one: a mistake, not a choice
        ({"ApiCertificateArn": CERTIFICATE}, {"RoutingNeedsApiDomain"}),
        ({"HostedZoneId": ZONE}, {"RoutingNeedsApiDomain"}),
        ({"RoutingPolicy": "failover-primary"}, {"RoutingNeedsApiDomain"}),
    ],
)
def test_the_rules_want_a_domains_certificate_and_zone_with_it_and_nothing_without_it(parameters, refused):
    assert _refused_by(parameters) == refused


def test_the_parameters_admit_a_name_a_certificate_and_a_zone_and_nothing_wider():
    specs = raw_document()["Parameters"]

    def admits(name: str, value: str) -> bool:
        return re.fullmatch(specs[name]["AllowedPattern"], value) is not None

    for value in ("", NAME, "api.eu.example.co.uk", "a-b.example.com", "x1.example.technology"):
        assert admits("ApiDomainName", value), value
    for value in ("https://otp.example.com", "*.example.com", "otp.example.com.", "localhost", "otp..example.com"):
        assert not admits("ApiDomainName", value), value
    assert admits("ApiCertificateArn", "") and admits("ApiCertificateArn", CERTIFICATE)
    assert not admits("ApiCertificateArn", "arn:aws:iam::123456789012:server-certificate/otp")
    assert admits("HostedZoneId", "") and admits("HostedZoneId", ZONE)
    assert not admits("HostedZoneId", "/hostedzone/Z0123") and not admits("HostedZoneId", "example.com")


@pytest.mark.parametrize("api_type", API_TYPES)
def test_cfn_lint_passes_the_template_with_a_domain_name(api_type, tmp_path):
    # cfn-lint weighs every combination of the conditions, but reads parameters at their defaults: the domain's
    # values as defaults make the Refs it resolves the deployed ones (as test_three_regions_template.py does).
    text = (ROOT / "template.yaml").read_text()
    values = {**API_TYPES[api_type], **DOMAIN}
    for name, value in values.items():
        declared = re.search(rf"\n  {name}:\n    Type: String\n    Default: (\S+)\n", text)
        assert declared, name
        text = text.replace(declared.group(0), declared.group(0).replace(declared.group(1), f'"{value}"'))
    copy = tmp_path / "template.yaml"
    copy.write_text(text)
    for folder in ("layers", "functions"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "cfn-lint"), str(copy)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
