#!/usr/bin/env bash
# Installs the system services the test suite needs, when they are missing:
#   - redis-server (replay store and session directory tests)
#   - Go with quic-go (an independent QUIC peer for the interop tests)
#   - a JDK and JUnit 5 (the Java backend library in java/, built by scripts/java.sh)
# Only Debian's packages are used; nothing is downloaded from elsewhere.
# Idempotent: a machine that has everything returns at once.
set -euo pipefail

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v go >/dev/null 2>&1 || need+=(golang-go)
[ -d /usr/share/gocode/src/github.com/quic-go/quic-go ] || [ -d /usr/share/gocode/src/github.com/lucas-clemente/quic-go ] \
  || need+=(golang-github-lucas-clemente-quic-go-dev)
command -v javac >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
[ -f /usr/share/java/junit-platform-console-standalone.jar ] || need+=(junit5)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "services: missing ${need[*]} and not root: install them with apt-get" >&2
    exit 1
  fi
else
  SUDO=
fi

echo "services: installing ${need[*]} from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian enables and starts a system redis on 6379; the tests start their own on a free loopback port.
