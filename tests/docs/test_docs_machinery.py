"""The docs tests' own reading of Markdown and of expected answers, on small examples."""

from pathlib import Path

import pytest
from docs.markdown_blocks import anchors, fenced_blocks, links
from docs.test_docs_examples import Expected, answer_problems, differences, script_of


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("## Delete and redeploy", "delete-and-redeploy"),
        ('### TOTP: `type: "time_based"`', "totp-type-time_based"),
        ("## The local server (`make dev`)", "the-local-server-make-dev"),
        ("### Calling with IAM (`ApiAuth=iam`)", "calling-with-iam-apiauthiam"),
        ("### The docs' examples are tests", "the-docs-examples-are-tests"),
        ("## [Linked](x.md) heading", "linked-heading"),
    ],
)
def test_anchors_as_github_makes_them(heading, anchor):
    assert anchor in anchors(heading + "\n")


def test_a_repeated_heading_gets_a_number_and_code_blocks_have_no_headings():
    text = "## Errors\n\n```sh\n# not a heading\n```\n\n## Errors\n"
    assert anchors(text) == {"errors", "errors-1"}


def test_links_outside_code_only():
    text = '[a](a.md#x) `[b](b.md)`\n\n```sh\n[c](c.md)\n```\n![d](d.png) <a href="e.md">e</a>\n[f]: f.md\n'
    assert [target for _, target in links(text)] == ["a.md#x", "d.png", "e.md", "f.md"]


def test_a_json_block_right_after_a_shell_block_is_its_answer():
    text = "```sh aws\necho\n```\n```json\n{}\n```\n\n```json\n[]\n```\n"
    first, second = fenced_blocks(text, Path("x.md"))
    assert (first.tags, first.runs, first.answer.text) == (("aws",), False, "{}\n")
    assert (second.language, second.answer) == ("json", None)


def test_expected_answers_are_whole_with_wildcards():
    answer = {"type": "totp", "valid": True, "secret": "ABC", "codes": ["A-1", "B-2"], "sealed": "s1.xyz"}
    whole = {"type": "totp", "valid": True, "secret": "...", "codes": ["A-...", "..."], "sealed": "s1...."}
    assert differences(whole, answer) == []
    assert differences({**whole, "valid": False}, answer) == ["valid: expected False, got True"]
    assert differences({**whole, "missing": 1}, answer)[0].startswith("missing: missing")
    assert differences({**whole, "codes": ["A-1"]}, answer) == ["codes: expected 1 elements, got 2"]
    assert differences({**whole, "valid": 1}, answer)  # true is not 1
    # a key of the answer the doc leaves out is a difference: docs show whole answers
    assert differences({"valid": True}, answer) == [
        "type: in the answer ('totp'), not shown in the doc",
        "secret: in the answer ('ABC'), not shown in the doc",
        "codes: in the answer (['A-1', 'B-2']), not shown in the doc",
        "sealed: in the answer ('s1.xyz'), not shown in the doc",
    ]


def test_statuses_must_be_shown_to_be_errors():
    assert answer_problems(Expected(1, None, '{"a": 1}'), '{"a": 1}', [200]) == []
    assert answer_problems(Expected(1, 400, '{"a": 1}'), '{"a": 1}', [400]) == []
    refused = answer_problems(Expected(1, None, '{"a": 1}'), '{"a": 1}', [403])
    assert refused == ["line 1: HTTP 403 (not shown in the doc)"]
    assert answer_problems(Expected(1, 429, ""), "", [200]) == ["line 1: expected HTTP 429, curl got [200]"]
    assert answer_problems(Expected(1, None, "HTTP/1.1 302 ..."), "HTTP/1.1 302 Found\nx", [302]) == []


def test_console_blocks_are_commands_and_what_they_print():
    text = "```console\n$ echo a \\\n  b\na b\n$ true\n```\n"
    (block,) = fenced_blocks(text, Path("x.md"))
    script, expected = script_of(block)
    assert script == "echo a \\\n  b\n__check 0\ntrue\n"
    assert [e.answer for e in expected] == ["a b"]
