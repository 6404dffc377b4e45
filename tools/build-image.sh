#!/usr/bin/env bash
# Builds KVSlim's container image as an OCI tarball (cli/target/kvslim-image.tar) without a Docker daemon, then checks
# its layout and configuration. Load it with `docker load -i cli/target/kvslim-image.tar` or
# `podman load -i cli/target/kvslim-image.tar`; run it with `docker run -p 8080:8080 -m 2g kvslim:0.1.0`.
set -euo pipefail
cd "$(dirname "$0")/.."
JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
export JAVA_HOME
# a Java runtime with the modules KVSlim uses, linked from the JDK (no base image to pull)
rm -rf cli/target/jre
mkdir -p cli/target
"$JAVA_HOME/bin/jlink" --add-modules java.se,jdk.incubator.vector,jdk.unsupported,jdk.management \
    --strip-debug --no-man-pages --no-header-files --output cli/target/jre
# the C library the runtime links against, from this machine (the image has no distribution underneath)
rm -rf cli/target/rootfs
mkdir -p cli/target/rootfs/lib/x86_64-linux-gnu cli/target/rootfs/lib64 cli/target/rootfs/tmp
for lib in libc.so.6 libdl.so.2 libpthread.so.0 librt.so.1 libm.so.6 libz.so.1; do
    cp -L "/lib/x86_64-linux-gnu/$lib" cli/target/rootfs/lib/x86_64-linux-gnu/
done
cp -L /lib64/ld-linux-x86-64.so.2 cli/target/rootfs/lib64/
./mvnw -B -q -Pimage package -DskipTests -Djacoco.skip=true
python3 tools/check_image.py cli/target/kvslim-image.tar
# start-up and a request, without a container runtime: the image's layers unpacked and run under chroot (root only)
if [ "$(id -u)" = 0 ]; then
    python3 tools/check_image.py cli/target/kvslim-image.tar --run
fi
