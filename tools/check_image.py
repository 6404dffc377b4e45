#!/usr/bin/env python3
"""Checks the OCI tarball that tools/build-image.sh writes: one image, run as a non-root user, `kvslim serve` on
0.0.0.0:8080 as the entry point with the heap a share of the container's memory, port 8080 exposed, and layers that
hold the Java runtime, the application's jars and the bundled models. Prints one line per check; exits 1 on the first
that fails."""
import io
import json
import os
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request


def fail(msg):
    print("FAIL " + msg)
    sys.exit(1)


def ok(msg):
    print("ok " + msg)


def blob(tar, digest):
    algo, hexd = digest.split(":", 1)
    return tar.extractfile(f"blobs/{algo}/{hexd}").read()


def main(path):
    with tarfile.open(path) as tar:
        names = set(tar.getnames())
        if "index.json" not in names or "oci-layout" not in names:
            fail("not an OCI image layout (index.json, oci-layout): " + ", ".join(sorted(names)[:5]))
        ok("OCI image layout")
        index = json.loads(tar.extractfile("index.json").read())
        manifests = index["manifests"]
        if len(manifests) != 1:
            fail(f"{len(manifests)} manifests, expected 1")
        manifest = json.loads(blob(tar, manifests[0]["digest"]))
        config = json.loads(blob(tar, manifest["config"]["digest"]))["config"]
        user = config.get("User", "")
        if not user or user.split(":")[0] in ("", "0", "root"):
            fail(f"runs as {user!r}, not a non-root user")
        ok(f"non-root user {user}")
        entry = config.get("Entrypoint", []) + config.get("Cmd", [])
        if entry[:1] != ["/opt/java/bin/java"] or "dev.kvslim.cli.KvSlim" not in entry or "serve" not in entry:
            fail(f"entry point is not `kvslim serve`: {entry}")
        if "-XX:MaxRAMPercentage=75" not in entry:
            fail("the heap does not follow the container's memory limit")
        ok("entry point: " + " ".join(entry))
        if "8080/tcp" not in config.get("ExposedPorts", {}):
            fail(f"port 8080 not exposed: {config.get('ExposedPorts')}")
        ok("port 8080 exposed")
        files = set()
        for layer in manifest["layers"]:
            with tarfile.open(fileobj=io.BytesIO(blob(tar, layer["digest"]))) as lt:
                for m in lt.getmembers():
                    files.add("/" + m.name.lstrip("./").lstrip("/"))
        for needed in ["/opt/java/bin/java", "/app/classes", "/app/models/kvslim-demo/config.json",
                       "/app/models/kvslim-demo-dms-cr8/config.json"]:
            if not any(f == needed or f.startswith(needed + "/") for f in files):
                fail(f"{needed} is not in the image")
        jars = [f for f in files if f.startswith("/app/libs/kvslim-core")]
        if not jars:
            fail("the application's jars are not in /app/libs")
        ok(f"{len(files)} files: the runtime, the application ({len(jars)} core jar), the bundled models")
        if "--run" in sys.argv:
            run(tar, manifest, config)


def run(tar, manifest, config):
    """Unpacks the layers into a directory and runs the entry point in it under chroot, as the image's user, with /proc
    mounted as a container runtime mounts it; asks the server for a completion."""
    root = tempfile.mkdtemp(prefix="kvslim-image-")
    os.chmod(root, 0o755)  # the image's user must be able to enter its root
    for layer in manifest["layers"]:
        with tarfile.open(fileobj=io.BytesIO(blob(tar, layer["digest"]))) as lt:
            lt.extractall(root, filter="tar")
    # a container runtime mounts /proc (the Java launcher finds its libraries through /proc/self/exe)
    os.makedirs(os.path.join(root, "proc"), exist_ok=True)
    subprocess.run(["mount", "-t", "proc", "proc", os.path.join(root, "proc")], check=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = config["Entrypoint"] + [a if a != "8080" else str(port) for a in config.get("Cmd", [])]
    user = config["User"].split(":")
    uid, gid = (int(x) for x in config["User"].split(":"))
    workdir = config.get("WorkingDir", "/")

    def enter():  # what a container runtime does: its root, its working directory, its user
        os.chroot(root)
        os.chdir(workdir)
        os.setgid(gid)
        os.setuid(uid)

    proc = subprocess.Popen(cmd, preexec_fn=enter, env={"PATH": "/opt/java/bin"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                fail("the image's server did not start: " + proc.stdout.read().decode(errors="replace")[-2000:])
            time.sleep(0.5)
        ok("the image's server is ready")
        body = json.dumps({"model": "kvslim-demo", "prompt": "needle", "max_tokens": 8, "temperature": 0}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/completions", data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            answer = json.loads(r.read())
        if answer["usage"]["completion_tokens"] < 1:
            fail(f"no completion: {answer}")
        ok("a completion from the image: " + json.dumps(answer["choices"][0]["text"]))
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        subprocess.run(["umount", os.path.join(root, "proc")], check=False)
        subprocess.run(["rm", "-rf", root], check=False)


if __name__ == "__main__":
    main(sys.argv[1])
