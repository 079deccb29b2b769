#!/usr/bin/env python3
"""What ships agrees with itself: `./x release-check` (and `./x test`).

- one version: the workspace's, which every crate inherits, in Cargo.lock, in the npm package
  and its lock file, and at the top of CHANGELOG.md;
- the licence files: the npm package's LICENSE holds both of the repository's licences;
- the third-party licence lists (`./x licenses`, made by cargo-about) name exactly the crates
  the server binary and the wasm engine are built from now (`cargo tree`).
"""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What each third-party list covers: the package, and the target it is built for.
THIRD_PARTY = {
    "THIRD_PARTY_LICENSES.md": ("vexil", "x86_64-unknown-linux-gnu"),
    "www/THIRD_PARTY_LICENSES.md": ("vexil-wasm", "wasm32-unknown-unknown"),
}


def toml(path):
    return tomllib.loads((ROOT / path).read_text())


def json_file(path):
    return json.loads((ROOT / path).read_text())


def version_problems(version):
    problems = []
    workspace = toml("Cargo.toml")["workspace"]
    members = workspace["members"]
    for member in members:
        package = toml(f"{member}/Cargo.toml")["package"]
        if package.get("version") != {"workspace": True}:
            problems.append(f"{member}/Cargo.toml: version is not `version.workspace = true`")
    names = {toml(f"{member}/Cargo.toml")["package"]["name"] for member in members}
    for package in toml("Cargo.lock")["package"]:
        if package["name"] in names and package["version"] != version:
            problems.append(f"Cargo.lock: {package['name']} {package['version']}, not {version}")
    npm = json_file("www/package.json")
    if npm.get("version") != version:
        problems.append(f"www/package.json: version {npm.get('version')}, not {version}")
    lock = json_file("www/package-lock.json")
    for where, found in [("version", lock.get("version")),
                         ('packages[""].version', lock["packages"][""].get("version"))]:
        if found != version:
            problems.append(f"www/package-lock.json: {where} {found}, not {version} "
                            "(cd www && npm install --package-lock-only)")
    changelog = (ROOT / "CHANGELOG.md").read_text()
    top = re.search(r"^## \[?([^\]\s]+)\]?", changelog, re.MULTILINE)
    if not top or top.group(1) != version:
        problems.append(f"CHANGELOG.md: the newest entry is {top and top.group(1)}, not {version}")
    return problems


def licence_problems():
    problems = []
    bundled = (ROOT / "www/LICENSE").read_text()
    for licence in ["LICENSE-MIT", "LICENSE-APACHE"]:
        if (ROOT / licence).read_text() not in bundled:
            problems.append(f"www/LICENSE does not hold {licence} as it is")
    for path, (package, target) in THIRD_PARTY.items():
        tree = subprocess.run(
            ["cargo", "tree", "--locked", "-p", package, "-e", "normal", "--target", target,
             "--prefix", "none", "-f", "{p}"],
            cwd=ROOT, capture_output=True, text=True, check=True).stdout
        built = {re.sub(r" \(.*", "", line).replace(" v", " ", 1)
                 for line in tree.splitlines() if line.strip()}
        listed = set(re.findall(r"^- (\S+ \d\S*)$", (ROOT / path).read_text(), re.MULTILINE))
        for missing in sorted(built - listed):
            problems.append(f"{path}: {missing} is built in and not listed (./x licenses)")
        for stale in sorted(listed - built):
            problems.append(f"{path}: {stale} is listed and not built in any more (./x licenses)")
    return problems


def main():
    version = toml("Cargo.toml")["workspace"]["package"]["version"]
    problems = version_problems(version) + licence_problems()
    for problem in problems:
        print(f"release-check: {problem}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"release-check: {version} everywhere; licences and third-party lists current")


if __name__ == "__main__":
    main()
