"""Do the shared libraries of Qt's xcb platform plugin resolve? Which Debian packages bring the missing ones?

Qt aborts at start-up when its xcb plugin (``PySide6/Qt/plugins/platforms/libqxcb.so``)
cannot load, with a message that names ``xcb-cursor0`` whatever is really missing. This
module asks ``ldd`` instead, before any Qt import: ``ldd`` prints ``libfoo.so.1 => not
found`` for each library the dynamic linker cannot find, the plugin's own dependencies and
theirs. Each missing soname maps to the Debian package that ships it (:data:`DEBIAN_PACKAGES`).

Standard library only. ``make setup`` (so ``make run`` and ``make test``) runs it after
``tools/setup_venv.sh`` as ``python -m app.qt_libs --install``: as root it runs ``apt-get
install -y`` for the missing packages; otherwise it prints the one apt command to run and
exits 1. ``make test`` adds ``--tools`` (Xvfb, xauth, xdotool for the GUI tests under a real
X server). The app runs :func:`check_or_explain` before it creates its QApplication on xcb,
so a missing library is one ``error:`` line, never a Qt abort.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

#: soname -> Debian 12 package (``dpkg -S``). The xcb plugin's libraries and the X/GL/font
#: libraries below them.
DEBIAN_PACKAGES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libXau.so.6": "libxau6",
    "libXdmcp.so.6": "libxdmcp6",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libGL.so.1": "libgl1",
    "libGLX.so.0": "libglx0",
    "libGLdispatch.so.0": "libglvnd0",
    "libEGL.so.1": "libegl1",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
    "libpng16.so.16": "libpng16-16",
    "libexpat.so.1": "libexpat1",
    "libz.so.1": "zlib1g",
    "libzstd.so.1": "libzstd1",
    "libbrotlidec.so.1": "libbrotli1",
    "libbrotlicommon.so.1": "libbrotli1",
    "libpcre2-8.so.0": "libpcre2-8-0",
    "libbsd.so.0": "libbsd0",
    "libmd.so.0": "libmd0",
}

#: Programs the GUI tests need: a virtual X server, xvfb-run's xauth, xdotool -> their packages.
TEST_TOOLS: dict[str, str] = {"Xvfb": "xvfb", "xvfb-run": "xvfb", "xauth": "xauth", "xdotool": "xdotool"}

#: Environment variable naming the apt-get program (tests point it at a recorder).
APT_GET_ENV = "WDS_APT_GET"

_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$")


@dataclass
class CheckResult:
    """What is missing. ``libraries``: sonames ldd could not resolve; ``packages``: Debian packages to
    install, sorted, without duplicates; ``unknown``: missing sonames with no known package; ``tools``:
    missing programs (with ``--tools``)."""

    plugin: Path | None
    libraries: list[str] = field(default_factory=list)
    packages: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def ok(self) -> bool:
        return not (self.libraries or self.tools or self.error)

    def apt_command(self, sudo: bool = True) -> str:
        """The one command that installs every missing package ("" when none is known)."""
        if not self.packages:
            return ""
        return ("sudo " if sudo else "") + "apt-get install -y " + " ".join(self.packages)

    def message(self) -> str:
        """What a user reads (several lines; the last is the command to run)."""
        lines = []
        if self.error:
            lines.append(self.error)
        if self.libraries:
            lines.append("Qt's xcb platform plugin cannot load: missing system libraries "
                         + ", ".join(self.libraries) + ".")
        if self.tools:
            lines.append("The GUI tests need programs that are missing: " + ", ".join(self.tools) + ".")
        if self.unknown:
            lines.append("No Debian package is known for " + ", ".join(self.unknown)
                         + ": install the package that provides it (apt-file search NAME).")
        command = self.apt_command(sudo=not is_root())
        if command:
            lines.append(f"Install them with:\n  {command}")
        return "\n".join(lines)


def missing_sonames(ldd_output: str) -> list[str]:
    """Sonames that ``ldd`` reported as ``not found``, in order, without duplicates."""
    out: list[str] = []
    for line in ldd_output.splitlines():
        m = _NOT_FOUND.match(line)
        if m and m.group(1) not in out:
            out.append(m.group(1))
    return out


def packages_for(sonames: list[str]) -> tuple[list[str], list[str]]:
    """``(sorted Debian packages, sonames with no known package)``."""
    packages = sorted({DEBIAN_PACKAGES[s] for s in sonames if s in DEBIAN_PACKAGES})
    return packages, [s for s in sonames if s not in DEBIAN_PACKAGES]


def find_xcb_plugin(site_packages: Path | None = None) -> Path | None:
    """Path of PySide6's ``libqxcb.so`` (of this interpreter, or under ``site_packages``), None if absent.

    Finds the package without importing it (importing PySide6 is cheap, but this module must
    work before anything Qt is loaded).
    """
    if site_packages is not None:
        root = Path(site_packages) / "PySide6"
    else:
        spec = importlib.util.find_spec("PySide6")
        if spec is None or not spec.submodule_search_locations:
            return None
        root = Path(next(iter(spec.submodule_search_locations)))
    plugin = root / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.is_file() else None


def run_ldd(path: Path) -> str:
    """``ldd path``'s output (ldd exits non-zero for some missing libraries: its text is what counts)."""
    proc = subprocess.run(["ldd", str(path)], capture_output=True, text=True, timeout=60)
    return proc.stdout + proc.stderr


def check(plugin: Path | None = None, tools: bool = False, ldd_output: str | None = None) -> CheckResult:
    """Check the xcb plugin's libraries (and, with ``tools``, the GUI tests' programs).

    ``ldd_output``: use this text instead of running ``ldd`` (tests).
    """
    if plugin is None and ldd_output is None:
        plugin = find_xcb_plugin()
    result = CheckResult(plugin=plugin)
    if ldd_output is None:
        if plugin is None:
            result.error = "PySide6's xcb platform plugin (libqxcb.so) was not found: run `make setup`."
            return result
        if shutil.which("ldd") is None:
            return result  # no ldd (not glibc): nothing to check, Qt will say what it lacks
        ldd_output = run_ldd(plugin)
    result.libraries = missing_sonames(ldd_output)
    packages, result.unknown = packages_for(result.libraries)
    if tools:
        missing_tools = [t for t in TEST_TOOLS if shutil.which(t) is None]
        result.tools = missing_tools
        packages = sorted(set(packages) | {TEST_TOOLS[t] for t in missing_tools})
    result.packages = packages
    return result


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def install(packages: list[str]) -> int:
    """``apt-get install -y PACKAGES`` (after ``apt-get update`` when the first try fails); its exit status."""
    apt = shlex.split(os.environ.get(APT_GET_ENV) or "apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = [*apt, "install", "-y", "--no-install-recommends", *packages]
    if subprocess.run(cmd, env=env).returncode == 0:
        return 0
    subprocess.run([*apt, "update"], env=env)
    return subprocess.run(cmd, env=env).returncode


def check_or_explain() -> str:
    """The app's start-up check on xcb: "" when the plugin loads, else the message to print.

    Only when the xcb platform will be used (``QT_QPA_PLATFORM`` unset or ``xcb...``) on Linux.
    """
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if not sys.platform.startswith("linux") or (platform and not platform.startswith("xcb")):
        return ""
    result = check()
    return "" if result.ok else result.message()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.qt_libs", description=__doc__.splitlines()[0])
    parser.add_argument("--install", action="store_true",
                        help="when run as root, apt-get install the missing packages (else print the command)")
    parser.add_argument("--tools", action="store_true", help="also check Xvfb, xvfb-run, xauth, xdotool (GUI tests)")
    parser.add_argument("--site-packages", type=Path, default=None, help="where PySide6 is installed")
    parser.add_argument("--ldd-output", type=Path, default=None, help="read this ldd output instead of running ldd")
    args = parser.parse_args(argv)
    plugin = find_xcb_plugin(args.site_packages) if args.site_packages else None
    ldd_output = args.ldd_output.read_text() if args.ldd_output else None
    result = check(plugin, tools=args.tools, ldd_output=ldd_output)
    if result.ok:
        return 0
    if args.install and is_root() and result.packages and not result.error:
        print(f"Installing the system packages Qt needs: {' '.join(result.packages)}", file=sys.stderr)
        if install(result.packages) != 0:
            print(f"error: apt-get could not install {' '.join(result.packages)}", file=sys.stderr)
            return 1
        if ldd_output is not None:
            return 0  # a given ldd output cannot change: trust apt-get's status
        result = check(plugin, tools=args.tools)
        if result.ok:
            return 0
    print("error: " + result.message(), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
