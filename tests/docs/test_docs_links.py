"""The docs hold together: every relative link and #anchor in README.md and docs/*.md resolves (GitHub's anchor
rules), every repository path they name in code exists, the README maps every page of docs/, and stays one screen
and a quickstart long."""

import re
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from docs.markdown_blocks import DOCS, anchors, code_spans, links, prose
from support import ROOT

README_MOST_LINES = 200
# What the repository holds at its top (not what a build or a venv left beside it)
TOP_LEVEL = {
    name.split("/")[0]
    for name in subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
}


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", DOCS, ids=_name)
def test_every_relative_link_and_anchor_resolves(path):
    broken = []
    for line, target in links(path.read_text()):
        parts = urlsplit(target)
        if parts.scheme or parts.netloc or target.startswith("mailto:"):
            continue  # the web: not checked here
        linked = (path.parent / unquote(parts.path)).resolve() if parts.path else path
        if not linked.exists():
            broken.append(f"line {line}: {target}: no such file")
        elif parts.fragment and linked.suffix == ".md" and parts.fragment not in anchors(linked.read_text()):
            broken.append(f"line {line}: {target}: {_name(linked)} has no heading #{parts.fragment}")
    assert not broken, f"{_name(path)}:\n" + "\n".join(broken)


@pytest.mark.parametrize("path", DOCS, ids=_name)
def test_every_repository_path_named_in_code_exists(path):
    # `tests/handler/test_golden_writes.py`, `layers/common/otp_api/` and the like, where they start at the top of the
    # repository; paths within the package (`kinds/time_based.py`) and URL paths (`/otp`) are not checked.
    missing = [
        f"line {line}: {span}"
        for line, text in prose(path.read_text())
        for span in code_spans(text)
        if "/" in span
        and not any(char in span for char in " *<>{}")  # not a glob or a template
        and span.split("/")[0] in TOP_LEVEL
        and not (ROOT / span.split("#")[0]).exists()
    ]
    assert not missing, f"{_name(path)} names paths that do not exist:\n" + "\n".join(missing)


def test_the_readme_maps_every_page_of_docs():
    readme = ROOT / "README.md"
    linked = {(readme.parent / urlsplit(target).path).resolve() for _, target in links(readme.read_text())}
    unmapped = [_name(page) for page in DOCS[1:] if page.resolve() not in linked]
    assert not unmapped, f"README.md links none of {unmapped}: its map of the docs should"


def test_the_readme_is_a_first_screen_not_a_manual():
    lines = len((ROOT / "README.md").read_text().splitlines())
    assert lines <= README_MOST_LINES, f"README.md has {lines} lines: at most {README_MOST_LINES}, the rest in docs/"


# --- paths named in the code, and the test files the docs place in a folder -------------------------------------

PACKAGE = ROOT / "layers" / "common" / "otp_api"
TRACKED = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
CODE = [name for name in TRACKED if name.endswith((".py", ".yaml", ".toml", ".html")) or name == "Makefile"]
_TOP = "|".join(map(re.escape, sorted(TOP_LEVEL)))
_REPO_PATH = re.compile(rf"(?<![\w./-])((?:{_TOP})/[\w./-]*[\w/])")
_TEST_FILE = re.compile(r"\btest_\w+\.py\b")


def test_every_repository_path_named_in_the_code_exists():
    # A comment or docstring that sends a reader to `tests/handler/test_golden_writes.py` or `docs/api.md`: the
    # file must be there. A path within the package that happens to start like a top-level folder (`events/bus.py`,
    # the package's events/) counts if the package has it.
    missing = [
        f"{name}:{number}: {path}"
        for name in CODE
        for number, line in enumerate((ROOT / name).read_text(errors="replace").splitlines(), 1)
        for path in (match.rstrip(".") for match in _REPO_PATH.findall(line))
        if not any(char in path for char in "*<>{}") and not (ROOT / path).exists() and not (PACKAGE / path).exists()
    ]
    assert not missing, "paths named in the code that do not exist:\n" + "\n".join(missing)


def test_every_test_file_the_docs_name_is_where_they_place_it():
    # development.md lists the tests by folder (a bullet `tests/handler/` and its lines): a file named under a
    # folder's bullet is in that folder; a test file named anywhere else in the docs exists in some folder of tests/.
    tests = {path.relative_to(ROOT / "tests").as_posix() for path in (ROOT / "tests").rglob("test_*.py")}
    misplaced = []
    for path in DOCS:
        folder = None
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if heading := re.match(r"- \*\*`tests/(\w+)/`\*\*", line):
                folder = heading.group(1)
            elif not line.startswith(" "):
                folder = None
            for name in _TEST_FILE.findall(line):
                where = {test.rpartition("/")[0] for test in tests if test.rpartition("/")[2] == name}
                if not where or (folder is not None and folder not in where):
                    where_said = f"not in tests/{folder}" if folder else "in no folder of tests/"
                    misplaced.append(f"{_name(path)}:{number}: {name} ({where_said})")
    assert not misplaced, "test files the docs name where they are not:\n" + "\n".join(misplaced)
