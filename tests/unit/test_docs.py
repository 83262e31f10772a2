"""The documents a reader gets stay true: the floors in docs/architecture.md are the import contract,
every path the docs name exists, and the README links only to files in the repository."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURE = ROOT / "docs" / "architecture.md"
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def table_after(marker: str, text: str) -> list[list[str]]:
    """The rows of the markdown table that follows an HTML comment containing ``marker``."""
    start = text.index(marker)
    rows = []
    for line in text[start:].splitlines()[1:]:
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if set("".join(cells)) <= set("-: "):
            continue
        rows.append(cells)
    return rows[1:]  # without the header


def test_floors_in_the_doc_are_the_layers_contract() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (layers,) = [
        c["layers"] for c in config["tool"]["importlinter"]["contracts"] if c.get("type") == "layers"
    ]
    rows = table_after("floors:", ARCHITECTURE.read_text(encoding="utf-8"))
    by_floor: dict[str, list[str]] = {}
    for floor, folder, *_ in rows:
        number = floor.split()[0]
        if number.isdigit():
            by_floor.setdefault(number, []).append(folder.replace("\\|", "|").replace("`", "").strip())
    documented = [" | ".join(by_floor[n]) for n in sorted(by_floor, key=int)]
    # viewers/dicom sits on the bottom floor beside rtc: the contract states it as its own library
    # contract (it is a subpackage of a floor above), so it is compared apart.
    assert documented[-1] == "rtc | viewers/dicom"
    documented[-1] = "rtc"
    assert documented == layers


def test_every_path_the_architecture_doc_names_exists() -> None:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:app|core|widgets|viewers|rtc|plugins|backend|scripts)/[\w/.]*)`", text))
    assert len(named) > 30
    missing = sorted(p for p in named if "NAME" not in p and not (ROOT / p).exists())
    assert missing == []


def test_docs_and_readme_link_only_to_files_in_the_repository() -> None:
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in LINK.findall(doc.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            path = (doc.parent / target).resolve()
            assert path.is_relative_to(ROOT), f"{doc.name} links outside the repository: {target}"
            assert path.exists(), f"{doc.name} links to a missing file: {target}"


def test_the_readme_points_to_the_architecture_and_the_protocol() -> None:
    links = set(LINK.findall((ROOT / "README.md").read_text(encoding="utf-8")))
    assert {"docs/architecture.md", "docs/protocol.md", "plugins/README.md"} <= links
    assert "shared/DESIGN.md" not in (ROOT / "README.md").read_text(encoding="utf-8")
