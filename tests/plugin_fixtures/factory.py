"""Installed-looking plugins for the tests: a module plus a ``*.dist-info`` with its entry point.

importlib.metadata finds a distribution from its dist-info folder on ``sys.path`` exactly as it finds
one pip installed, so these exercise the same discovery path as a real third-party plugin.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import EntryPoint, distributions
from pathlib import Path

HELLO_SOURCE = Path(__file__).parent / "hello_plugin"

MANIFEST = """{{
    "id": "{plugin_id}", "name": "{name}", "version": "1.0.0", "api": "{api}",
    "roles": ["specialist", "county_doctor", "trainee", "it_admin"]{extra}
}}"""

TEMPLATE = """
import os, time
from plugins.api import *

{prelude}

class Plugin(BasePlugin):
    manifest = {manifest}

    def activate(self, ctx):
{activate}

    def contributions(self, ctx):
        return Contributions({contributions})
"""


def plugin_source(
    plugin_id: str,
    *,
    api: str = "^1.0",
    prelude: str = "",
    activate: str = "pass",
    contributions: str = "",
    extra_manifest: str = "",
) -> str:
    name = f"Fixture {plugin_id}"
    manifest = MANIFEST.format(plugin_id=plugin_id, name=name, api=api, extra=extra_manifest)
    body = "\n".join("        " + line for line in activate.splitlines())
    return TEMPLATE.format(prelude=prelude, manifest=manifest, activate=body, contributions=contributions)


def write_plugin(root: Path, plugin_id: str, source: str, version: str = "1.0.0") -> str:
    """A module ``tcfix_<id>`` and a distribution ``tcfix-<id>`` declaring it; returns the module name."""
    root.mkdir(parents=True, exist_ok=True)
    module = f"tcfix_{plugin_id.replace('-', '_')}"
    (root / f"{module}.py").write_text(source, encoding="utf-8")
    dist = root / f"tcfix_{plugin_id.replace('-', '_')}-{version}.dist-info"
    dist.mkdir(exist_ok=True)
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: tcfix-{plugin_id}\nVersion: {version}\n", encoding="utf-8"
    )
    (dist / "entry_points.txt").write_text(f"[teleconsult.plugins]\n{plugin_id} = {module}:Plugin\n")
    return module


def install_hello(target: Path) -> str:
    """pip-install tests/plugin_fixtures/hello_plugin into ``target`` (offline: setuptools comes from the
    local package index). Returns how it was installed."""
    work = target.parent / "hello-src"
    shutil.copytree(HELLO_SOURCE, work, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(work)],
        capture_output=True,
        text=True,
        timeout=110,
    )
    if done.returncode == 0:
        return "pip"
    # No build backend reachable: lay out what pip would have (package + dist-info) by hand.
    meta = tomllib.loads((HELLO_SOURCE / "pyproject.toml").read_text())["project"]
    shutil.copytree(work / "hello_plugin", target / "hello_plugin")
    dist = target / f"teleconsult_hello_plugin-{meta['version']}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {meta['name']}\nVersion: {meta['version']}\n", encoding="utf-8"
    )
    eps = meta["entry-points"]["teleconsult.plugins"]
    (dist / "entry_points.txt").write_text(
        "[teleconsult.plugins]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items())
    )
    return "by hand: " + done.stderr[-300:]


def entry_points_in(root: Path) -> list[EntryPoint]:
    """The plugin entry points of the distributions in ``root`` only."""
    return [
        ep
        for dist in distributions(path=[str(root)])
        for ep in dist.entry_points
        if ep.group == "teleconsult.plugins"
    ]


@contextmanager
def on_sys_path(root: Path) -> Iterator[None]:
    """Put ``root`` first on sys.path; afterwards forget it and every module imported from it."""
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    try:
        yield
    finally:
        sys.path.remove(str(root))
        for name, module in list(sys.modules.items()):
            if str(getattr(module, "__file__", "") or "").startswith(str(root)):
                del sys.modules[name]
        importlib.invalidate_caches()
