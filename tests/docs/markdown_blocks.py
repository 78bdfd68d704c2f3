"""The docs as the tests read them: README.md and docs/*.md, their fenced blocks, their headings' anchors and their
links, by GitHub's rules.

Shell blocks (```sh, ```bash, ```shell, ```console) are examples that run. Words after the language say otherwise:
- `aws`: needs an AWS account (a deployed stack, the AWS CLI): checked as bash syntax only;
- `setup`: starts the local server or runs the test suite (`make dev`, `make test`), which the test does itself:
  syntax only;
- `iam`: runs against a local server that requires SigV4 (`OTP_API_AUTH=iam make dev`).
An expected answer is a `# => ...` line after a command (the output since the previous one), or a ```json block
right after the shell block (the output since its last `# =>`); see test_docs_examples.py for how they are read.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from support import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELLS = frozenset({"sh", "bash", "shell", "console"})
TAGS = frozenset({"aws", "setup", "iam"})
SYNTAX_ONLY = frozenset({"aws", "setup"})
_FENCE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*?)\s*$")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the opening fence, 1-based
    end: int  # of the closing fence
    language: str
    tags: tuple[str, ...]
    text: str
    answer: "Block | None" = None  # a ```json block right after a shell block

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def runs(self) -> bool:
        return not SYNTAX_ONLY & set(self.tags)


def fenced_blocks(text: str, path: Path) -> list[Block]:
    """Every fenced block, in order; a ```json block that follows a shell block with only blank lines between is
    that block's expected answer."""
    lines = text.splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence, info = opening["fence"], opening["info"].split()
        body, j = [], i + 1
        while j < len(lines):
            closing = _FENCE.match(lines[j])
            if closing and closing["fence"].startswith(fence) and not closing["info"]:  # as long, or longer
                break
            body.append(lines[j])
            j += 1
        language = info[0].lower() if info else ""
        found.append(Block(path, i + 1, j + 1, language, tuple(info[1:]), "\n".join(body) + "\n"))
        i = j + 1
    blocks: list[Block] = []
    for block in found:
        previous = blocks[-1] if blocks else None
        between = lines[previous.end : block.line - 1] if previous else []
        if (
            previous is not None
            and block.language == "json"
            and previous.language in SHELLS
            and previous.answer is None
            and not any(line.strip() for line in between)
        ):
            blocks[-1] = Block(**{**previous.__dict__, "answer": block})
            continue
        blocks.append(block)
    return blocks


def shell_blocks(path: Path) -> list[Block]:
    return [block for block in fenced_blocks(path.read_text(), path) if block.language in SHELLS]


def prose(text: str) -> list[tuple[int, str]]:
    """The lines outside fenced blocks, numbered from 1, with inline code spans blanked out."""
    lines = text.splitlines()
    inside: set[int] = set()
    for block in fenced_blocks(text, Path("")):
        inside.update(range(block.line - 1, block.end))
        if block.answer:
            inside.update(range(block.answer.line - 1, block.answer.end))
    return [(n + 1, line) for n, line in enumerate(lines) if n not in inside]


def code_spans(line: str) -> list[str]:
    return re.findall(r"(?<!`)`([^`]+)`(?!`)", line)


def _heading_text(heading: str) -> str:
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links and images: their text
    return re.sub(r"<[^>]+>", "", text)  # HTML tags


def anchors(text: str) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown file (and any explicit `<a id>` / `<a name>`): the
    heading's text in lower case, every character but letters, digits, `_`, `-` and spaces removed, spaces as
    hyphens; a repeated anchor gets `-1`, `-2`, ..."""
    found: set[str] = set()
    counts: dict[str, int] = {}
    for _, line in prose(text):
        found.update(re.findall(r"<a\s+(?:id|name)=\"([^\"]+)\"", line))
        heading = re.match(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not heading:
            continue
        slug = re.sub(r"[^\w\- ]", "", _heading_text(heading[1]).strip().lower()).replace(" ", "-")
        count = counts.get(slug, 0)
        counts[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$")
_HTML = re.compile(r"\b(?:href|src)=\"([^\"]+)\"")


def links(text: str) -> list[tuple[int, str]]:
    """Every link target in the prose (inline, reference and HTML links, images included), with its line."""
    found = []
    for number, line in prose(text):
        for span in code_spans(line):
            line = line.replace(f"`{span}`", "")
        for pattern in (_LINK, _REFERENCE, _HTML):
            found.extend((number, target) for target in pattern.findall(line))
    return found
