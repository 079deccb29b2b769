#!/usr/bin/env python3
"""What the container image and the systemd unit rely on, checked without a container runtime.

No container daemon runs here and base images cannot be pulled, so this reads the Dockerfile
and does what it says: the build stage's RUN (the same `cargo install`, its ENV), then an
otherwise empty root made from the final stage's COPY lines, and runs its ENTRYPOINT and CMD
there with its ENV, as its USER, in namespaces of its own (mount, PID, network: so port 8080
is free), with /proc mounted as a runtime would. Then, over loopback inside: the HEALTHCHECK
command passes, the snapshot is served, an evaluation answers, an edit of a flag file is
picked up, logs are JSON, the CPU and allocation profiles name functions (the shipped binary
keeps its symbols), and SIGTERM stops it cleanly.

The unit file: `systemd-analyze verify` says nothing, `systemd-analyze security` rates its
exposure at most 2.0, and its ExecStart starts the server with the example config.

    python3 server/tests/deploy/check.py        (as root: chroot, namespaces; `./x test-deploy`)
"""

import gzip
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = ROOT / "Dockerfile"
UNIT = ROOT / "deploy" / "vexil.service"
# Where the build stage's `/out` goes: beside the workspace's other build outputs.
BUILD_OUT = ROOT / "target" / "image"
MAX_EXPOSURE = 20  # systemd-analyze's scale: 2.0


def fail(message):
    print(f"deploy check: {message}", file=sys.stderr)
    sys.exit(1)


def instructions(text):
    """The Dockerfile as (INSTRUCTION, arguments) pairs, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", text)
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            yield word.upper(), rest.strip()


def stages(text):
    """Each stage's instructions, in order, by stage."""
    result = []
    for word, rest in instructions(text):
        if word == "FROM":
            result.append({"from": rest, "steps": []})
        elif not result:
            fail(f"{word} before FROM")
        else:
            result[-1]["steps"].append((word, rest))
    return result


def env_pairs(rest):
    """`ENV A=1 B="two words"` as a dict."""
    return dict(pair.split("=", 1) for pair in shlex.split(rest))


def exec_form(rest):
    """A JSON array instruction (`CMD ["a", "b"]`); the shell form is refused: no shell here."""
    try:
        words = json.loads(rest)
    except json.JSONDecodeError:
        fail(f"not a JSON array (an image without a shell needs the exec form): {rest}")
    return words


def build(stage):
    env = dict(os.environ)
    for word, rest in stage["steps"]:
        if word == "ENV":
            env.update(env_pairs(rest))
    runs = [rest for word, rest in stage["steps"] if word == "RUN"]
    if len(runs) != 1:
        fail("the build stage should have one RUN")
    if BUILD_OUT.exists():
        shutil.rmtree(BUILD_OUT)
    # The same command, with `/out` here and the workspace's target directory reused.
    command = re.sub(r"(?<![\w/])/out\b", str(BUILD_OUT), runs[0])
    env["CARGO_TARGET_DIR"] = str(ROOT / "target")
    print(f"deploy check: {command}", flush=True)
    subprocess.run(["sh", "-c", command], cwd=ROOT, env=env, check=True)


def assemble(stage, image):
    """The final stage's file system: its COPY lines, from the build's output or the sources."""
    settings = {"env": {}, "user": None, "entrypoint": [], "cmd": [], "healthcheck": None,
                "expose": None}
    image.chmod(0o755)
    for word, rest in stage["steps"]:
        if word == "COPY":
            args = shlex.split(rest)
            origin = ROOT
            if args[0].startswith("--from="):
                origin = BUILD_OUT
                args = args[1:]
            *sources, dest = args
            for source in sources:
                if origin == BUILD_OUT:
                    path = BUILD_OUT / Path(source).relative_to("/out")
                else:
                    path = ROOT / source
                if not path.exists():
                    fail(f"COPY {source}: {path} does not exist")
                target = image / dest.lstrip("/")
                if dest.endswith("/") or len(sources) > 1:
                    target = target / path.name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.parent.chmod(0o755)
                if path.is_dir():
                    shutil.copytree(path, target, dirs_exist_ok=True)
                    target.chmod(path.stat().st_mode & 0o7777)
                else:
                    shutil.copy2(path, target)
        elif word == "ENV":
            settings["env"].update(env_pairs(rest))
        elif word == "USER":
            settings["user"] = rest
        elif word == "ENTRYPOINT":
            settings["entrypoint"] = exec_form(rest)
        elif word == "CMD":
            settings["cmd"] = exec_form(rest)
        elif word == "EXPOSE":
            settings["expose"] = int(rest.split("/")[0])
        elif word == "HEALTHCHECK":
            settings["healthcheck"] = exec_form(rest.split(" CMD ", 1)[1])
        else:
            fail(f"the check does not know {word}: teach it, or keep the image to what it knows")
    if not settings["user"] or settings["user"].split(":")[0] in ("0", "root"):
        fail("the image runs as root")
    return settings


def check_binary(binary):
    program = subprocess.run(["readelf", "-lS", "--wide", str(binary)], capture_output=True,
                             text=True, check=True).stdout
    if "INTERP" in program:
        fail(f"{binary} is linked dynamically: it needs a loader the image does not have")
    if ".debug_" in program:
        fail(f"{binary} carries debug information (the dist profile should leave it out)")
    if ".symtab" not in program:
        fail(f"{binary} has no symbol table: profiles could not name functions")
    print(f"deploy check: {binary.name}: static, symbols kept, no debug info, "
          f"{binary.stat().st_size / 1e6:.1f} MB")


def start_inside(image, settings):
    """Re-runs this script in new namespaces, as root of them, to run the image there."""
    inside = subprocess.run(
        ["unshare", "--mount", "--pid", "--net", "--fork", sys.executable, __file__, "--inside",
         str(image), json.dumps(settings)],
        timeout=180,
    )
    if inside.returncode != 0:
        fail("the image does not work as its Dockerfile says (above)")


def http(url, data=None, headers=None, timeout=10):
    request = urllib.request.Request(url, data=data, headers=headers or {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, response.headers, response.read()


def inside(image, settings):
    image = Path(image)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    (image / "proc").mkdir(exist_ok=True)
    subprocess.run(["mount", "-t", "proc", "proc", str(image / "proc")], check=True)
    user = settings["user"]
    # The image's environment has no PATH: chroot is named by where it is here.
    jail = [shutil.which("chroot"), f"--userspec={user}", str(image)]
    env = settings["env"]
    server = subprocess.Popen(jail + settings["entrypoint"] + settings["cmd"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log = []
    threading.Thread(target=lambda: log.extend(server.stderr), daemon=True).start()
    base = f"http://127.0.0.1:{settings['expose']}"
    try:
        healthy = False
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not healthy:
            probe = subprocess.run(jail + settings["healthcheck"], env=env, capture_output=True,
                                   text=True)
            healthy = probe.returncode == 0
            if not healthy:
                time.sleep(0.2)
        if not healthy:
            fail(f"HEALTHCHECK never passed: {probe.stderr.strip()}; log: {''.join(log)}")

        snapshot_url = f"{base}/internal/v1/evaluation/snapshot/namespace/default"
        status, headers, body = http(snapshot_url)
        flags = [flag["key"] for flag in json.loads(body)["flags"]]
        if status != 200 or "new-checkout" not in flags:
            fail(f"snapshot: {status} {flags}")
        answer = json.loads(http(
            f"{base}/evaluate/v1/variant",
            json.dumps({"namespaceKey": "default", "flagKey": "new-checkout",
                        "entityId": "user-7", "context": {"plan": "pro"}}).encode(),
            {"content-type": "application/json"})[2])
        if "variantKey" not in answer:
            fail(f"evaluation: {answer}")

        # The watcher works in the image: an edited flag file is served.
        features = image / "flags" / "default" / "features.yml"
        text = features.read_text()
        edited = features.with_name(".features.yml.new")
        edited.write_text(text.replace("New checkout", "New checkout, edited"))
        edited.chmod(0o644)
        edited.rename(features)
        etag = headers["ETag"]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if http(snapshot_url)[1]["ETag"] != etag:
                break
            time.sleep(0.1)
        else:
            fail("an edited flag file was not picked up")

        # Profiles name functions: the symbols the dist profile keeps are enough.
        stop = threading.Event()

        def load():
            while not stop.is_set():
                http(snapshot_url)

        threading.Thread(target=load, daemon=True).start()
        profile = gzip.decompress(http(f"{base}/debug/pprof/profile?seconds=2", timeout=20)[2])
        allocs = gzip.decompress(http(f"{base}/debug/pprof/allocs")[2])
        stop.set()
        # Where a 2-second CPU profile's samples land is luck (mostly hyper and tokio): any Rust
        # function named shows the symbols are there; the allocation profile always has Vexil's.
        for name, data, pattern in [
            ("CPU profile", profile, rb"(?:vexil|hyper|tokio|axum|core|std)::[a-z_]+"),
            ("allocation profile", allocs, rb"vexil::[a-z_]+::[a-z_]+"),
        ]:
            functions = set(re.findall(pattern, data))
            if not functions:
                fail(f"the {name} names no function ({len(data)} bytes)")
            print(f"deploy check: {name}: {len(functions)} functions named")

        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=15)
        if code != 0:
            fail(f"SIGTERM: exit {code}")
        lines = [line for line in log if line.strip()]
        if not lines or not all(json.loads(line).get("level") for line in lines):
            fail(f"the log is not JSON lines: {lines[:3]}")
        print(f"deploy check: image root: healthy, served, reloaded, profiled, stopped "
              f"({len(lines)} JSON log lines)")
    finally:
        if server.poll() is None:
            server.kill()


def check_unit(binary):
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        unit = scratch / "vexil.service"
        etc = scratch / "etc"
        # The unit as installed: the binary where ExecStart has it, /etc/vexil as its README says.
        unit.write_text(UNIT.read_text().replace("/usr/local/bin/vexil", str(binary))
                        .replace("/etc/vexil", str(etc)))
        verify = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                                text=True)
        said = (verify.stdout + verify.stderr).strip()
        if verify.returncode != 0 or said:
            fail(f"systemd-analyze verify: {said}")
        security = subprocess.run(
            ["systemd-analyze", "security", "--offline=true", f"--threshold={MAX_EXPOSURE}",
             str(unit)], capture_output=True, text=True)
        exposure = re.search(r"Overall exposure level for \S+: ([\d.]+)", security.stdout)
        if security.returncode != 0 or not exposure:
            fail(f"systemd-analyze security: above {MAX_EXPOSURE / 10}: {security.stdout[-400:]}")
        print(f"deploy check: unit: verified, exposure {exposure.group(1)}")

        etc.mkdir()
        shutil.copy(ROOT / "examples" / "vexil.toml", etc / "vexil.toml")
        shutil.copytree(ROOT / "examples" / "flags", etc / "flags")
        exec_start = next(line.split("=", 1)[1] for line in unit.read_text().splitlines()
                          if line.startswith("ExecStart="))
        env = {}
        for line in unit.read_text().splitlines():
            if line.startswith("Environment="):
                env.update(env_pairs(line.split("=", 1)[1]))
        # Any free port: the variable wins over the config file's `listen`.
        env.update(VEXIL_LISTEN="127.0.0.1:0", VEXIL_LOG="warn")
        server = subprocess.Popen(shlex.split(exec_start), env=env, stdout=subprocess.PIPE,
                                  text=True)
        try:
            first = server.stdout.readline()
            if not first.startswith("vexil listening on "):
                fail(f"the unit's ExecStart did not start: {first!r}")
            base = first.split()[-1]
            if http(f"{base}/ready")[0] != 200:
                fail("the unit's server is not ready")
        finally:
            server.terminate()
            server.wait(timeout=15)
        print("deploy check: unit: ExecStart serves the example config")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--inside":
        inside(sys.argv[2], json.loads(sys.argv[3]))
        return
    if os.geteuid() != 0:
        fail("run as root (chroot and namespaces): sudo python3 server/tests/deploy/check.py")
    parsed = stages(DOCKERFILE.read_text())
    build_stage, final = parsed[0], parsed[-1]
    if final["from"] != "scratch":
        fail(f"the final stage is FROM {final['from']}: the check runs an empty root")
    build(build_stage)
    binary = BUILD_OUT / "bin" / "vexil"
    check_binary(binary)
    with tempfile.TemporaryDirectory() as image:
        settings = assemble(final, Path(image))
        start_inside(image, settings)
    check_unit(binary)


if __name__ == "__main__":
    main()
