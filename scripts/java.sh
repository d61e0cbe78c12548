#!/usr/bin/env bash
# Builds and tests the Java backend library (java/) with the JDK and Debian's junit5 only: no build
# tool, nothing downloaded. Output goes to java/build/ (ignored by git).
#
#   scripts/java.sh jar      build java/build/handoff-tickets.jar when a source is newer; print its path
#   scripts/java.sh test     build, compile the tests, run them with JUnit's console launcher;
#                            writes java/build/test-reports/ (XML, and the launcher's summary.txt)
#   scripts/java.sh bench [--json]   verifications per second in 1 and 4 threads
#
# Needs javac/jar (openjdk-17-jdk-headless) and, for `test`, junit5: scripts/services.sh installs both.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
src="$root/java/src"
build="$root/java/build"
jar_path="$build/handoff-tickets.jar"
junit="${HANDOFF_JUNIT_JAR:-/usr/share/java/junit-platform-console-standalone.jar}"
javac_flags=(--release 17 -encoding UTF-8 -Xlint:all -Werror -Xlint:-serial)

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "java.sh: $1 is missing: run scripts/services.sh (installs openjdk-17-jdk-headless)" >&2; exit 1; }
}

# Serialise concurrent builds (the test runner and a test may both ask for the jar).
lock() {
  mkdir -p "$build"
  exec 9>"$build/.lock"
  flock 9
}

stale() { # stale <target> <dir>...: true when the target is missing or a file under the dirs is newer
  local target="$1"; shift
  [ -f "$target" ] || return 0
  [ -n "$(find "$@" "$root/scripts/java.sh" -newer "$target" -type f -print -quit)" ]
}

build_jar() {
  need javac; need jar
  lock
  if stale "$jar_path" "$src/main"; then
    local tmp
    tmp="$(mktemp -d "$build/jar.XXXXXX")"
    find "$src/main/java" -name '*.java' > "$tmp/sources"
    javac "${javac_flags[@]}" -d "$tmp/classes" @"$tmp/sources" >&2
    jar --create --file "$tmp/handoff-tickets.jar" --main-class dev.handoff.tickets.cli.Main -C "$tmp/classes" . >&2
    mv -f "$tmp/handoff-tickets.jar" "$jar_path"
    rm -rf "$tmp"
  fi
  flock -u 9
}

case "${1:-}" in
  jar)
    build_jar
    echo "$jar_path"
    ;;
  test)
    build_jar
    [ -f "$junit" ] || { echo "java.sh: $junit is missing: run scripts/services.sh (installs junit5)" >&2; exit 1; }
    lock
    classes="$build/test-classes"
    if stale "$classes/.built" "$src/test" "$jar_path"; then
      rm -rf "$classes"
      mkdir -p "$classes"
      find "$src/test/java" -name '*.java' > "$build/test-sources"
      javac "${javac_flags[@]}" -Xlint:-try -cp "$jar_path:$junit" -d "$classes" @"$build/test-sources"
      touch "$classes/.built"
    fi
    flock -u 9
    reports="$build/test-reports"
    rm -rf "$reports"
    mkdir -p "$reports"
    # the launcher's summary (tests successful / failed / skipped, containers failed) is kept in
    # $reports/summary.txt for scripts/test.mjs to count
    set +e
    java -Dhandoff.root="$root" -jar "$junit" \
      --class-path "$jar_path:$classes" --scan-class-path "$classes" --fail-if-no-tests \
      --disable-banner --disable-ansi-colors --details=tree --details-theme=ascii --reports-dir "$reports" \
      | tee "$reports/summary.txt"
    status=${PIPESTATUS[0]}
    set -e
    exit "$status"
    ;;
  bench)
    shift
    build_jar
    lock
    classes="$build/bench-classes"
    if stale "$classes/.built" "$src/bench" "$jar_path"; then
      rm -rf "$classes"
      mkdir -p "$classes"
      javac "${javac_flags[@]}" -cp "$jar_path" -d "$classes" $(find "$src/bench/java" -name '*.java')
      touch "$classes/.built"
    fi
    flock -u 9
    exec java -cp "$jar_path:$classes" dev.handoff.tickets.bench.VerifyBench "$@"
    ;;
  *)
    echo "usage: scripts/java.sh jar|test|bench [--json]" >&2
    exit 2
    ;;
esac
