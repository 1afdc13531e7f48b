#!/usr/bin/env bash
# tests/kvm-hw/run.sh [CACHE_DIR]: runs `runsc --platform=kvm` on hardware KVM (AMD SVM)
# inside QEMU's software emulation, through ../shared/kvm/tcg/run-in-tcg.sh, because the
# /dev/kvm of these machines is PVM. Builds a static runsc and static test programs; in
# the guest each program runs natively and under runsc, and must print the same and exit
# the same (stdout, and stderr for programs that exit). Prints PASS/FAIL per program and exits non-zero if any failed.
# Slow (TCG: minutes); for correctness only, never timing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ws=$(cd "$here/../.." && pwd)
tcg=${RUNSC_TCG_SCRIPT:-$ws/../shared/kvm/tcg/run-in-tcg.sh}
cache=${1:-$ws/target/kvm-hw}
[ -x "$tcg" ] || { echo "run.sh: $tcg not found" >&2; exit 2; }
mkdir -p "$cache"

# The programs: name and the status the native run must have.
programs="hello:0 null_deref:139 sigfpe:136 pthread_basic:0 fork_basic:0 execve_basic:0 pipe_procs:0 cow_fork:0 fp_inherit:0 arch_prctl:0"

# A static runsc (musl is not available; glibc links statically for this).
RUSTFLAGS="-C target-feature=+crt-static" cargo build -q -p runsc-cli \
    --manifest-path "$ws/Cargo.toml" --target x86_64-unknown-linux-gnu \
    --target-dir "$cache/target"
payload=$(mktemp -d)
trap 'rm -rf "$payload"' EXIT
cp "$cache/target/x86_64-unknown-linux-gnu/debug/runsc" "$payload/runsc"
for entry in $programs; do
    name=${entry%%:*}
    cc -static -O2 -I"$ws/tests/programs" -o "$payload/$name" "$ws/tests/programs/$name.c" -lpthread -lm
done

cat > "$payload/check.sh" <<CHECK
#!/bin/sh
# In the guest: each program natively, then under runsc --platform=kvm.
failed=0
[ -c /dev/kvm ] || { echo "FAIL no /dev/kvm in the guest"; exit 1; }
for entry in $programs; do
    name=\${entry%%:*}; want=\${entry#*:}
    ./\$name > /tmp/\$name.native 2>/tmp/\$name.native-err; native=\$?
    # A hang is a failure of its own, not the end of the whole run (TCG's time limit).
    timeout 300 ./runsc --platform=kvm do -- ./\$name > /tmp/\$name.kvm 2>/tmp/\$name.err; got=\$?
    [ \$got -ne 143 ] || echo "(\$name: runsc did not finish in 300 s)" >> /tmp/\$name.err
    # The shell reports a native death by signal on the same stderr: compare stderr
    # only for programs that exit.
    [ \$native -ge 128 ] || cat /tmp/\$name.native-err >> /tmp/\$name.native
    [ \$native -ge 128 ] || cat /tmp/\$name.err >> /tmp/\$name.kvm
    if [ \$native -ne \$want ]; then
        echo "FAIL \$name: native run exited \$native, want \$want"; failed=1
    elif [ \$got -ne \$native ]; then
        echo "FAIL \$name: runsc exited \$got, native \$native"; head -5 /tmp/\$name.err; failed=1
    elif ! cmp -s /tmp/\$name.native /tmp/\$name.kvm; then
        echo "FAIL \$name: output differs"; diff /tmp/\$name.native /tmp/\$name.kvm | head -10; failed=1
    else
        echo "PASS \$name"
    fi
done
exit \$failed
CHECK
chmod +x "$payload/check.sh"

set +e
out=$("$tcg" "$cache/tcg" "$payload" ./check.sh 2>&1)
rc=$?
set -e
# The console may run a line of its own into the first one printed.
echo "$out" | grep -oE '(PASS|FAIL) .*|TCG-EXIT .*|insmod .*|no /dev/kvm.*|^[<>-].*' || echo "$out" | tail -30
exit $rc
