"""The README stays short and true to the CLI; every link in README.md and docs/*.md resolves.

Links are Markdown inline links and images, ``[text](target)`` / ``![alt](target)``, and
reference definitions ``[label]: target``, outside fenced code blocks and inline code. A
relative target must name an existing file (relative to the page); a ``#fragment`` must name a
heading of the target page, slugged as GitHub does (lower case, punctuation dropped, spaces to
hyphens, ``-1``, ``-2`` ... for repeats).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import pkgutil
import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
README = REPO_ROOT / "README.md"
DOCS = REPO_ROOT / "docs"
README_MAX_LINES = 350

_FENCE = re.compile(r"^\s*(```|~~~)")
_INLINE_CODE = re.compile(r"`+[^`]*`+")
_INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def _prose_lines(text: str) -> list[str]:
    """The lines of a Markdown page outside fenced code blocks (fence lines dropped)."""
    out, in_fence = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if not in_fence:
            out.append(line)
    return out


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading's text: links reduced to their text, code marks dropped."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def heading_anchors(page: Path) -> set[str]:
    """Every anchor a page's headings define, repeats numbered as GitHub numbers them."""
    seen: dict[str, int] = {}
    anchors = set()
    for line in _prose_lines(page.read_text(encoding="utf-8")):
        m = _HEADING.match(line)
        if not m:
            continue
        slug = github_slug(m.group(2))
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


def link_targets(page: Path) -> list[str]:
    """Targets of every link and image of a page, in order, outside code."""
    targets = []
    for line in _prose_lines(page.read_text(encoding="utf-8")):
        m = _REF_DEF.match(line)
        if m:
            targets.append(m.group(1))
            continue
        targets.extend(_INLINE_LINK.findall(_INLINE_CODE.sub("", line)))
    return targets


def broken_links(page: Path) -> list[str]:
    """``'target: reason'`` for each relative link of ``page`` that does not resolve."""
    problems = []
    for target in link_targets(page):
        if _SCHEME.match(target):
            continue  # http(s), mailto: not checked offline
        path_part, _, fragment = target.partition("#")
        dest = (page.parent / path_part).resolve() if path_part else page
        if not dest.exists():
            problems.append(f"{target}: no such file {dest}")
            continue
        if fragment and (dest.suffix != ".md" or fragment not in heading_anchors(dest)):
            problems.append(f"{target}: no heading #{fragment} in {dest.name}")
    return problems


def section(page: Path, title: str) -> str:
    """The text of a page's level-2 section ``## title`` up to the next level-2 heading."""
    text = page.read_text(encoding="utf-8")
    m = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    assert m, f"{page.name} has no section '## {title}'"
    return m.group(1)


def registered_subcommands() -> dict[str, argparse.ArgumentParser]:
    """Each subcommand's parser, registered the way ``app.cli.build_parser`` finds them.

    ``app/cli/__init__.py`` documents the registry: every module ``app/cli/cmd_<name>.py``
    defines ``register(subparsers)``. Importing them is cheap (no Qt, no torch).
    """
    import app.cli

    sub = argparse.ArgumentParser(prog="main.py").add_subparsers()
    for info in pkgutil.iter_modules(app.cli.__path__):
        if info.name.startswith("cmd_"):
            importlib.import_module(f"app.cli.{info.name}").register(sub)
    return dict(sub.choices)


def usage_by_subcommand(cli_section: str) -> dict[str, str]:
    """The usage lines of the CLI section's first code block, keyed by subcommand.

    A usage starts at ``python main.py NAME`` and runs over its indented continuation lines;
    a bare ``python main.py`` is the app (``gui``).
    """
    block = re.search(r"^```[^\n]*\n(.*?)^```", cli_section, flags=re.M | re.S)
    assert block, "the CLI section has no code block"
    usages: dict[str, str] = {}
    current = None
    for line in block.group(1).splitlines():
        m = re.match(r"^python main\.py(?:\s+([a-z][a-z0-9-]*))?", line)
        if m:
            current = m.group(1) or "gui"
            usages[current] = usages.get(current, "") + "\n" + line
        elif current and line.startswith(" "):
            usages[current] += "\n" + line
    return usages


def _pages() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def test_readme_is_short() -> None:
    n = len(README.read_text(encoding="utf-8").splitlines())
    assert n < README_MAX_LINES, f"README.md has {n} lines; long references belong in docs/"


def test_the_guarantees_section_is_short_and_links_its_detail() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index("## What the app guarantees")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("## "))
    assert end - start <= 25, f"the README's guarantees section has {end - start} lines; detail goes to docs/guarantees.md"
    assert "docs/guarantees.md" in "\n".join(lines[start:end])


@pytest.mark.parametrize("page", _pages(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_link_resolves(page: Path) -> None:
    assert broken_links(page) == []


def test_pages_have_links_to_check() -> None:
    # The README links every docs page and shows the screenshots; a parser that found nothing
    # would make the link test pass vacuously.
    targets = link_targets(README)
    assert sum(t.startswith("docs/screenshots/") for t in targets) >= 5
    assert sum(t.startswith("docs/") and t.endswith(".md") for t in targets) >= 5


def test_link_checker_reports_broken_files_and_anchors(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other page\n\n## A section's title\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n"
        "[ok](other.md#a-sections-title) [ok too](#page) ![img](other.md)\n"
        "[missing file](nope.md) [missing anchor](other.md#no-such-heading) [bad self](#nowhere)\n"
        "`[not a link](ignored.md)` [web](https://example.invalid/x)\n\n"
        "```\n[in code](also-ignored.md)\n```\n\n"
        "[ref]: gone/file.png\n",
        encoding="utf-8",
    )
    problems = broken_links(page)
    assert [p.split(":")[0] for p in problems] == [
        "nope.md",
        "other.md#no-such-heading",
        "#nowhere",
        "gone/file.png",
    ]


def test_github_slugs() -> None:
    assert github_slug("Predictions (`infer`)") == "predictions-infer"
    assert github_slug("The app's threads") == "the-apps-threads"
    assert github_slug("Geodesic table (`geodesic.npz`)") == "geodesic-table-geodesicnpz"
    assert github_slug("From a capture to a training set") == "from-a-capture-to-a-training-set"


def test_every_docs_page_is_linked_from_the_readme() -> None:
    linked = {(REPO_ROOT / t.partition("#")[0]).resolve() for t in link_targets(README) if not _SCHEME.match(t)}
    orphans = [p.name for p in sorted(DOCS.glob("*.md")) if p.resolve() not in linked]
    assert orphans == []


def test_every_screenshot_is_shown_in_the_readme() -> None:
    shown = {t for t in link_targets(README) if t.startswith("docs/screenshots/")}
    files = {f"docs/screenshots/{p.name}" for p in (DOCS / "screenshots").iterdir() if p.suffix in {".png", ".jpg"}}
    assert files - shown == set()


def test_registry_matches_the_cli() -> None:
    from app.cli import build_parser

    names = registered_subcommands()
    assert len(names) >= 10
    parser = build_parser()
    for name in [*names, "no-such-command"]:
        with (
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
            pytest.raises(SystemExit) as exit_info,
        ):
            parser.parse_args([name, "--help"])
        assert exit_info.value.code == (2 if name == "no-such-command" else 0), name


def test_readme_cli_section_lists_every_subcommand_and_option() -> None:
    usages = usage_by_subcommand(section(README, "Command line"))
    missing = []
    for name, sub_parser in registered_subcommands().items():
        if name not in usages:
            missing.append(name)
            continue
        options = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", sub_parser.format_usage())) - {"--help"}
        missing += [
            f"{name} {opt}" for opt in sorted(options) if not re.search(rf"(?<![\w-]){opt}(?![\w-])", usages[name])
        ]
    assert missing == [], "README's '## Command line' lacks these; add them to its usage block"
