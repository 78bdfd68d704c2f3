"""Every shell example in README.md and docs/*.md runs as written against the local server, and answers what the doc
says it answers.

Per file, its ```sh / ```bash / ```shell / ```console blocks run in order, each in a fresh `bash` with `set -eo
pipefail`, in a scratch folder that links to the repository's files (`.venv/bin/python` works, written files land
there), and with the variables and functions the earlier blocks of the file set (`SECRET=$(curl ... | jq -r .secret)`
in one block, `$SECRET` in a later one). `http://127.0.0.1:3000`, where `make dev` listens, is the test's own server
(markdown_blocks.py: `iam` blocks get the one that requires SigV4). A block passes if:
- it exits 0 within BLOCK_SECONDS;
- every HTTP answer curl got was 2xx or 3xx, but where an expected answer names its status (`# => 400 {...}`);
- each expected answer matches: a `# => ...` line checks the output of the commands since the previous one, a
  ```json block right after the shell block the output since its last `# =>`. A JSON expectation is whole: every
  key of the answer is shown, with its value, where a string with `...` matches any text in its place (a list
  ending in "..." any further elements). A doc that means to show part of an answer says so with jq (`jq '{type,
  valid}'`), in the command the reader runs. Other text: each expected line must be a line of the output (`...`
  again any text).
Blocks tagged `aws` or `setup` are checked with `bash -n` only.
"""

import json
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from docs.markdown_blocks import DOCS, TAGS, Block, shell_blocks
from support import ROOT

BLOCK_SECONDS = 90
DEV_URL = re.compile(r"http://(?:127\.0\.0\.1|localhost):3000\b")
# A TOTP code computed by one command and verified by the next belongs to the step it was computed in: a block
# starts at least this many seconds before a 30 s step ends, so that an answer's "matched" or "drift" is the doc's.
STEP_MARGIN = 5
EXPECTED = re.compile(r"^\s*# => (?:(?P<status>[1-5]\d\d)(?: |$))?(?P<answer>.*)$")
CHECK, STATUS = re.compile(r"\n?@@check (\d+)\n"), re.compile(r"^@@status (\d{3})$", re.MULTILINE)

# Run before every block: the earlier blocks' variables and functions back, curl recording each answer's status,
# and on exit what this block leaves for the next (its own variables, not bash's or the environment's).
PRELUDE = r"""
declare -A __seen
for __name in $(compgen -v); do __seen[$__name]=1; done
if [ -f "$DOCTEST_STATE" ]; then source "$DOCTEST_STATE"; fi
__dump() {
  {
    for __name in $(compgen -v); do
      case "$__name" in
        __*|_|BASH*|COMP*|FUNCNAME|GROUPS|PIPESTATUS|DIRSTACK|LINENO|RANDOM|SRANDOM|SECONDS|EPOCH*|PWD|OLDPWD) ;;
        SHLVL|PPID|UID|EUID|SHELLOPTS|OPTIND|OPTERR|OPTARG|HOSTNAME|HOSTTYPE|MACHTYPE|OSTYPE|IFS|PS4|HISTCMD) ;;
        *) [ -n "${__seen[$__name]:-}" ] || declare -p "$__name" ;;
      esac
    done
    declare -f
  } > "$DOCTEST_STATE" 2>/dev/null
}
trap __dump EXIT
curl() { command curl -w '%{stderr}\n@@status %{http_code}\n' "$@" 2>>"$DOCTEST_LOG"; }
__check() { printf '\n@@check %s\n' "$1"; printf '\n@@check %s\n' "$1" >>"$DOCTEST_LOG"; }
set -eo pipefail
"""


@dataclass(frozen=True)
class Expected:
    line: int  # in the doc
    status: int | None
    answer: str


def script_of(block: Block) -> tuple[str, list[Expected]]:
    """The block as bash runs it, a `__check N` where the doc shows an expected answer, and those answers."""
    lines, expected = [], []
    if block.language == "console":  # `$ command` lines (and their continuations), then what they print
        output: list[str] = []
        continued = False

        def flush() -> None:
            if output:
                lines.append(f"__check {len(expected)}")
                expected.append(Expected(block.line, None, "\n".join(output)))
                output.clear()

        for text in block.text.splitlines():
            if continued or text.startswith("$ "):
                if not continued:
                    flush()
                lines.append(text if continued else text[2:])
                continued = text.endswith("\\")
            elif text.strip():
                output.append(text)
        flush()
    else:
        for number, text in enumerate(block.text.splitlines(), start=block.line + 1):
            shown = EXPECTED.match(text)
            if shown:
                lines.append(f"__check {len(expected)}")
                status = int(shown["status"]) if shown["status"] else None
                expected.append(Expected(number, status, shown["answer"].strip()))
            else:
                lines.append(text)
    if block.answer is not None:
        expected.append(Expected(block.answer.line, None, block.answer.text))
    return "\n".join(lines) + "\n", expected


# --- comparing an answer with the doc's ------------------------------------------------------------------------------


def _pattern(text: str) -> re.Pattern[str]:
    """`...` as any text; in a run of more dots the last three are the wildcard (`"s1...."`: `s1.` and any text)."""
    return re.compile(".*".join(re.escape(part) for part in re.split(r"\.\.\.(?!\.)", text)), re.DOTALL)


def differences(expected: Any, actual: Any, where: str = "") -> list[str]:
    """How `actual` differs from the doc's `expected` (whole: see the module's docstring)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where or 'the answer'}: expected an object, got {actual!r}"]
        found = [
            f"{where}{key}: in the answer ({actual[key]!r}), not shown in the doc"
            for key in actual
            if key not in expected
        ]
        for key, value in expected.items():
            if key not in actual:
                found.append(f"{where}{key}: missing (the answer has {sorted(actual)})")
            else:
                found += differences(value, actual[key], f"{where}{key}.")
        return found
    if isinstance(expected, list):
        name = where.rstrip(".") or "the answer"
        if not isinstance(actual, list):
            return [f"{name}: expected a list, got {actual!r}"]
        open_ended = bool(expected) and expected[-1] == "..."
        shown = expected[:-1] if open_ended else expected
        if len(actual) < len(shown) or (not open_ended and len(actual) != len(shown)):
            return [f"{name}: expected {len(shown)}{' or more' if open_ended else ''} elements, got {len(actual)}"]
        return [problem for i, value in enumerate(shown) for problem in differences(value, actual[i], f"{where}{i}.")]
    name = where.rstrip(".") or "the answer"
    if isinstance(expected, str) and "..." in expected:
        if isinstance(actual, str) and _pattern(expected).fullmatch(actual):
            return []
        return [f"{name}: expected {expected!r}, got {actual!r}"]
    if expected != actual or type(expected) is not type(actual):
        return [f"{name}: expected {expected!r}, got {actual!r}"]
    return []


def answer_problems(expected: Expected, output: str, statuses: list[int]) -> list[str]:
    where = f"line {expected.line}"
    problems = []
    if expected.status is not None:
        if not statuses or statuses[-1] != expected.status:
            problems.append(f"{where}: expected HTTP {expected.status}, curl got {statuses or 'no answer'}")
        statuses = statuses[:-1]
    problems += [f"{where}: HTTP {status} (not shown in the doc)" for status in statuses if not 200 <= status < 400]
    if not expected.answer:
        return problems
    try:
        wanted = json.loads(expected.answer)
    except ValueError:
        wanted = None
        if expected.answer.lstrip().startswith(("{", "[")):
            return [*problems, f"{where}: the expected answer is not valid JSON: {expected.answer}"]
    if wanted is not None:
        try:
            got = json.loads(output)
        except ValueError:
            return [*problems, f"{where}: expected one JSON answer, the commands printed {output!r}"]
        return problems + [f"{where}: {difference}" for difference in differences(wanted, got)]
    printed = [line.rstrip("\r") for line in output.splitlines()]
    for line in filter(None, (line.strip() for line in expected.answer.splitlines())):
        if not any(_pattern(line).fullmatch(text.strip()) for text in printed):
            problems.append(f"{where}: expected a line {line!r}, the commands printed {output!r}")
    return problems


# --- running a file's blocks -----------------------------------------------------------------------------------------


def scratch_folder(folder: Path) -> Path:
    """A folder that looks like the repository (its files linked) and keeps what the examples write."""
    folder.mkdir()
    for entry in ROOT.iterdir():
        if entry.name != ".git":
            (folder / entry.name).symlink_to(entry)
    return folder


def wait_for_a_fresh_step() -> None:
    left = 30 - time.time() % 30
    if left < STEP_MARGIN:
        time.sleep(left + 0.2)


def run_block(block: Block, url: str, folder: Path, state: Path) -> list[str]:
    """Run one block as the doc shows it; what is wrong with it, if anything."""
    script, expected = script_of(block)
    log = folder / ".doctest-log"
    log.write_text("")
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": str(folder),
        "LANG": "C.UTF-8",
        "DOCTEST_STATE": str(state),
        "DOCTEST_LOG": str(log),
    }
    wait_for_a_fresh_step()
    process = subprocess.Popen(
        ["bash", "-c", PRELUDE + DEV_URL.sub(url, script)],
        cwd=folder,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # so that a timeout stops everything the block started
    )
    try:
        out, err = process.communicate(timeout=BLOCK_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return [f"did not finish within {BLOCK_SECONDS} s"]
    curl_log = log.read_text()
    said = "\n".join(line for line in (err + curl_log).splitlines() if line.strip() and not STATUS.match(line))
    if process.returncode != 0:
        return [f"exited {process.returncode}: {said[-2000:]}"]
    outputs, logs = CHECK.split(out)[::2], CHECK.split(curl_log)[::2]
    problems = []
    for index, segment in enumerate(logs):
        statuses = [int(status) for status in STATUS.findall(segment)]
        if index < len(expected):
            problems += answer_problems(expected[index], outputs[index].strip(), statuses)
        else:  # after the last expected answer: no answer shown, so none may be an error
            problems += [f"HTTP {status} (not shown in the doc)" for status in statuses if not 200 <= status < 400]
    return problems


def runnable(path: Path) -> list[Block]:
    return [block for block in shell_blocks(path) if block.runs]


@pytest.mark.parametrize("path", [p for p in DOCS if runnable(p)], ids=lambda p: str(p.relative_to(ROOT)))
def test_the_examples_run_as_written(path, doc_servers, tmp_path):
    # Given a doc's shell examples and a local server as `make dev` runs it
    folder, state = scratch_folder(tmp_path / "work"), tmp_path / "state.sh"
    for block in runnable(path):
        # When each runs in order, with what the earlier ones set
        url = doc_servers.iam if "iam" in block.tags else doc_servers.open
        problems = run_block(block, url, folder, state)
        # Then it exits 0, and answers what the doc says (the later blocks need this one: stop at the first)
        assert not problems, f"{block.where}:\n" + "\n".join(problems) + f"\n--- the block ---\n{block.text}"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_examples_that_need_aws_or_start_the_server_are_valid_bash(path):
    for block in shell_blocks(path):
        unknown = set(block.tags) - TAGS
        assert not unknown, f"{block.where}: unknown tag {unknown}; a shell block's tags are {sorted(TAGS)}"
        if not block.runs:
            script, _ = script_of(block)
            checked = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
            assert checked.returncode == 0, f"{block.where}: {checked.stderr}"


def test_the_readme_has_a_quickstart_that_runs():
    assert len(runnable(ROOT / "README.md")) >= 3


@pytest.mark.parametrize("tool", ["curl", "jq"])
def test_the_tools_the_examples_use_are_there(tool):
    # The examples call the API with curl and read its answers with jq, as a reader does: a missing one fails here,
    # once, saying so.
    assert subprocess.run(["bash", "-c", f"command -v {tool}"], capture_output=True).returncode == 0, (
        f"the docs' examples need {tool}: sudo apt-get install {tool} (Debian/Ubuntu) or brew install {tool} (macOS)"
    )
