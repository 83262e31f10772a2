"""Extract ``tr("Context", "text")`` strings from the code into resources/translations/*.ts and compile .qm.

    python scripts/translations.py update   # merge new strings into the .ts files, compile .qm
    python scripts/translations.py check    # fail if a string is untranslated or a .qm is stale

Existing translations are kept; strings no longer in the code are marked obsolete (Qt Linguist hides them).
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TS_DIR = ROOT / "resources" / "translations"
LANGUAGES = ("zh_CN",)
SOURCES = ("app", "widgets", "viewers", "plugins", "core", "rtc")
CALLS = {"tr", "translate"}

Key = tuple[str, str]  # (context, source text)


def extract() -> tuple[dict[Key, list[str]], list[str]]:
    found: dict[Key, list[str]] = {}
    problems: list[str] = []
    for package in SOURCES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                name = (
                    node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                )
                if name not in CALLS or len(node.args) < 2:
                    continue
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                ctx, text = node.args[0], node.args[1]
                if not (isinstance(ctx, ast.Constant) and isinstance(ctx.value, str)):
                    continue  # not one of ours (e.g. str.translate)
                if not (isinstance(text, ast.Constant) and isinstance(text.value, str)):
                    problems.append(f"{where}: tr() text must be a string literal")
                    continue
                found.setdefault((ctx.value, text.value), []).append(where)
    return found, problems


def read_ts(path: Path) -> dict[Key, str]:
    if not path.exists():
        return {}
    done: dict[Key, str] = {}
    for context in ET.parse(path).getroot().iter("context"):
        name = context.findtext("name", "")
        for message in context.iter("message"):
            translation = message.find("translation")
            if translation is not None and translation.get("type") not in (
                "unfinished",
                "obsolete",
                "vanished",
            ):
                done[(name, message.findtext("source", ""))] = translation.text or ""
            elif translation is not None and translation.text:
                done.setdefault((name, message.findtext("source", "")), translation.text)
    return done


def write_ts(path: Path, language: str, strings: dict[Key, list[str]], known: dict[Key, str]) -> None:
    root = ET.Element("TS", version="2.1", language=language, sourcelanguage="en")
    contexts: dict[str, ET.Element] = {}
    keys = sorted(set(strings) | set(known))
    for ctx, text in keys:
        if ctx not in contexts:
            contexts[ctx] = ET.SubElement(root, "context")
            ET.SubElement(contexts[ctx], "name").text = ctx
        message = ET.SubElement(contexts[ctx], "message")
        ET.SubElement(message, "source").text = text
        translation = ET.SubElement(message, "translation")
        value = known.get((ctx, text), "")
        translation.text = value
        if (ctx, text) not in strings:
            translation.set("type", "vanished")
        elif not value:
            translation.set("type", "unfinished")
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    path.write_text('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE TS>\n' + body + "\n", encoding="utf-8")


def lrelease() -> str:
    tool = shutil.which("pyside6-lrelease", path=str(Path(sys.executable).parent)) or shutil.which(
        "pyside6-lrelease"
    )
    if tool is None:
        raise SystemExit(
            "pyside6-lrelease not found: install PySide6-Essentials into the virtual environment"
        )
    return tool


def compile_qm(ts: Path, qm: Path) -> None:
    subprocess.run([lrelease(), "-silent", "-nounfinished", str(ts), "-qm", str(qm)], check=True)


def update() -> int:
    strings, problems = extract()
    for language in LANGUAGES:
        ts = TS_DIR / f"teleconsult_{language}.ts"
        write_ts(ts, language, strings, read_ts(ts))
        compile_qm(ts, ts.with_suffix(".qm"))
    print(f"{len(strings)} strings; wrote {', '.join(LANGUAGES)}")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


def check() -> int:
    strings, problems = extract()
    for language in LANGUAGES:
        ts = TS_DIR / f"teleconsult_{language}.ts"
        done = {k: v for k, v in read_ts(ts).items() if v}
        for key in sorted(set(strings) - set(done)):
            problems.append(f"{language}: untranslated {key[0]}: {key[1]!r} ({strings[key][0]})")
        qm = ts.with_suffix(".qm")
        with tempfile.TemporaryDirectory() as tmp:
            fresh = Path(tmp) / qm.name
            compile_qm(ts, fresh)
            if not qm.exists() or qm.read_bytes() != fresh.read_bytes():
                problems.append(f"{qm.relative_to(ROOT)} is out of date: run `make translations`")
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"translations complete: {len(strings)} strings in {', '.join(LANGUAGES)}")
    return 1 if problems else 0


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "check"
    sys.exit({"update": update, "check": check}[command]())
