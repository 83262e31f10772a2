"""Build the installers: the PyInstaller one-folder bundle, then the Debian package.

    python installer/build.py [all|bundle|deb] [--out DIR] [--bundle DIR]

`make installer` runs `all` into dist/: dist/teleconsult/ (the bundle) and
dist/teleconsult_VERSION_ARCH.deb. The last line printed is a JSON object with the sizes and times.
Windows (Inno Setup, installer/windows/teleconsult.iss) and macOS (installer/macos/README.md) build
the bundle the same way on those systems.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def version() -> str:
    try:
        return metadata.version("teleconsult-workstation")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def build_bundle(out: Path, work: Path | None = None) -> Path:
    """PyInstaller one-folder bundle at out/teleconsult; returns that folder."""
    out.mkdir(parents=True, exist_ok=True)
    work = work or out / ".pyinstaller-work"
    command = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--log-level=WARN",
        f"--distpath={out}",
        f"--workpath={work}",
        str(HERE / "teleconsult.spec"),
    ]
    subprocess.run(command, check=True, cwd=ROOT)
    shutil.rmtree(work, ignore_errors=True)
    bundle = out / "teleconsult"
    strip_vtk(bundle)
    if not (bundle / ("teleconsult.exe" if os.name == "nt" else "teleconsult")).is_file():
        raise SystemExit(f"PyInstaller finished but {bundle} has no executable")
    return bundle


def strip_vtk(bundle: Path) -> None:
    """VTK's wheels ship their libraries with symbol tables: stripping them saves about a third of the
    bundle. Only VTK's: stripping libraries that auditwheel patched with patchelf can break them."""
    strip = shutil.which("strip")
    if strip is None or sys.platform != "linux":
        return
    libraries = sorted((bundle / "_internal" / "vtkmodules").glob("libvtk*.so*"))
    if libraries:
        subprocess.run([strip, "--strip-unneeded", *map(str, libraries)], check=True)


def build_deb(bundle: Path, out: Path) -> Path:
    if shutil.which("dpkg-deb") is None:
        raise SystemExit("dpkg-deb is missing: the Debian package is built on Debian/Ubuntu only")
    done = subprocess.run(
        ["bash", str(HERE / "build_deb.sh"), str(bundle), str(out), version()],
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("what", nargs="?", choices=["all", "bundle", "deb"], default="all")
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="output folder (default: dist/)")
    parser.add_argument("--bundle", type=Path, help="an existing bundle for `deb` (default: OUT/teleconsult)")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    figures: dict[str, object] = {"version": version()}
    bundle = (args.bundle or out / "teleconsult").resolve()
    if args.what in ("all", "bundle"):
        started = time.perf_counter()
        bundle = build_bundle(out)
        figures["bundle_build_s"] = round(time.perf_counter() - started, 1)
        figures["bundle"] = str(bundle)
        figures["bundle_mib"] = round(folder_size(bundle) / 2**20, 1)
        print(f"bundle: {bundle} ({figures['bundle_mib']} MiB, {figures['bundle_build_s']} s)")
    if args.what in ("all", "deb"):
        started = time.perf_counter()
        deb = build_deb(bundle, out)
        figures["deb_build_s"] = round(time.perf_counter() - started, 1)
        figures["deb"] = str(deb)
        figures["deb_mib"] = round(deb.stat().st_size / 2**20, 1)
        print(f"package: {deb} ({figures['deb_mib']} MiB, {figures['deb_build_s']} s)")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
