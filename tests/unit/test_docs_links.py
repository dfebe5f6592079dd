"""Every relative link in README.md and docs/ leads somewhere: an existing file, and an existing heading."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def anchors(page: Path) -> set[str]:
    """GitHub's heading slugs: lower case, punctuation dropped, spaces to hyphens, repeats numbered."""
    seen: dict[str, int] = {}
    slugs = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", FENCE.sub("", page.read_text()), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        slugs.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return slugs


def links(page: Path) -> list[str]:
    return [t for t in LINK.findall(FENCE.sub("", page.read_text())) if not re.match(r"[a-z]+:", t)]


def test_the_docs_exist():
    assert {p.name for p in PAGES} >= {
        "README.md",
        "api.md",
        "batch.md",
        "architecture.md",
        "model-card.md",
        "deploy.md",
        "runbook.md",
        "testing.md",
        "performance.md",
    }


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in links(page):
        path, _, fragment = target.partition("#")
        file = (page.parent / unquote(path)).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif fragment and file.suffix == ".md" and fragment not in anchors(file):
            broken.append(f"{target}: no such heading")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_relative_link_resolves(page: Path):
    assert broken_links(page) == []


def test_a_missing_file_or_heading_is_caught(tmp_path):
    (tmp_path / "other.md").write_text("# Head+tail truncation\n## Memory size (modelled for arm64)\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# `sam local`\n## A\n## A\n"
        "[ok](other.md#headtail-truncation) [ok](other.md#memory-size-modelled-for-arm64) "
        "[ok](#sam-local) [ok](#a-1) [web](https://example.com/x.md) ![img](other.png)\n"
        "[gone](missing.md) [bad anchor](other.md#head-tail-truncation)\n"
        "```\n[in a code block](ignored.md)\n```\n"
    )
    assert broken_links(page) == [
        "missing.md: no such file",
        "other.md#head-tail-truncation: no such heading",
    ]


def test_every_make_command_in_the_docs_is_a_makefile_target():
    """In code spans and blocks only: prose may say "make sure"."""
    targets = set(re.findall(r"^([a-z][\w-]*(?: [a-z][\w-]*)*):(?!=)", (REPO / "Makefile").read_text(), re.M))
    targets = {t for line in targets for t in line.split()}
    code = [
        block
        for page in PAGES
        for block in FENCE.findall(page.read_text()) + re.findall(r"`([^`\n]+)`", page.read_text())
    ]
    named = {m for block in code for m in re.findall(r"\bmake (?:--[\w-]+ )*([a-z][\w-]*)", block)}
    assert named, "the docs name no make command"
    assert sorted(named - targets) == []
