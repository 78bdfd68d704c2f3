"""The facts the docs state once are the code's: every template parameter, output and alarm and every metric the
functions emit is in docs/operations.md (and nothing else is), and docs/verification.md quotes the writes that
tests/handler/test_golden_writes.py pins."""

import re

from docs.markdown_blocks import code_spans
from handler import test_golden_writes as golden
from support import ROOT

from tooling import template

OPERATIONS = ROOT / "docs" / "operations.md"
VERIFICATION = ROOT / "docs" / "verification.md"
PACKAGE = ROOT / "layers" / "common" / "otp_api"
# Powertools' own, from `capture_cold_start_metric=True` on both handlers.
POWERTOOLS_METRICS = {"ColdStart"}


def section(heading: str) -> str:
    """A section of operations.md, to the next heading of its level."""
    text = OPERATIONS.read_text()
    start = text.index(f"\n{heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def first_column(heading: str) -> set[str]:
    """The names in code in the first column of the tables of a section of operations.md."""
    rows = [line for line in section(heading).splitlines() if line.startswith("| ")]
    return {name for row in rows for name in code_spans(row.split("|")[1])}


def alarms() -> set[str]:
    resources = template.raw_document()["Resources"]
    return {name for name, resource in resources.items() if resource["Type"] == "AWS::CloudWatch::Alarm"}


def emitted_metrics() -> set[str]:
    names = set(POWERTOOLS_METRICS)
    for path in PACKAGE.rglob("*.py"):
        names.update(re.findall(r"\bcount_(?:outcome|for_alarm)\(\s*\"(\w+)\"", path.read_text()))
    return names


def test_every_template_parameter_is_documented_once_in_operations():
    documented, parameters = first_column("## Parameters"), set(template.load().parameters)
    assert parameters - documented == set(), "docs/operations.md, Parameters, misses these template parameters"
    assert documented - parameters == set(), "docs/operations.md, Parameters, names what the template does not have"


def test_every_output_is_documented_in_operations():
    outputs = set(template.raw_document()["Outputs"])
    assert outputs - set(code_spans(section("## Outputs"))) == set(), "docs/operations.md, Outputs, misses these"


def test_every_metric_the_code_emits_and_every_alarm_is_documented_in_operations():
    documented, emitted = first_column("## Logs, metrics and alarms"), emitted_metrics()
    assert len(emitted) >= 10, emitted  # the search itself still finds them
    assert emitted - documented == set(), "docs/operations.md, Metrics, misses these metrics the code emits"
    assert alarms() - documented == set(), "docs/operations.md, Alarms, misses these alarms of the template"
    stale = documented - emitted - alarms()
    assert stale == set(), "docs/operations.md names metrics or alarms that do not exist"


def _words(text: str) -> str:
    return " ".join(text.split())


def test_verification_quotes_the_golden_writes_as_pinned():
    # Given every distinct write the golden test pins, for every kind and outcome
    writes = {
        (call["update"], call["if"]): f"{kind} {label}"
        for kind, story in (
            ("TOTP", golden.TOTP),
            ("HOTP", golden.HOTP),
            ("recovery codes", golden.RECOVERY),
            ("naming its user", golden.NAMED),
            ("one factor of a person", golden.PERSON_KEY),
        )
        for label, step in story.items()
        for operation, call in step["calls"]
        if operation == "update_item"
    }
    # Then docs/verification.md quotes each update and condition word for word (lines may break anywhere; a TOTP
    # failure's " REMOVE expires_at" is stated in words beside the failure every kind writes)
    page = _words(VERIFICATION.read_text())
    missing = [
        f"{where}: {_words(text)}"
        for (update, condition), where in writes.items()
        for text in (update.removesuffix(" REMOVE expires_at"), condition)
        if _words(text) not in page
    ]
    assert not missing, "docs/verification.md does not quote these golden writes:\n" + "\n".join(missing)
