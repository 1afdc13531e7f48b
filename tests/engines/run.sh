#!/usr/bin/env bash
# tests/engines/run.sh: runsc under the real container engines (issue 7): containerd's
# ctr, Docker and podman from Debian's packages, on a busybox image built locally with
# the scripts in shared/engines (no registry), every daemon's state under a temporary
# directory. One PASS or FAIL line per check; exit 0 if all pass, 1 if any fails, 77 if
# the packages are missing and cannot be installed (no apt network), 2 on bad usage.
#   RUNSC=/path/to/runsc tests/engines/run.sh
# ENGINES_DIR overrides where shared/engines is (default: beside the project's clone);
# KEEP=1 keeps the temporary directory (daemon logs, container state) for debugging.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ENGINES=${ENGINES_DIR:-$HERE/../../../shared/engines}
RUNSC=${RUNSC:-$(command -v runsc || true)}
[ -n "$RUNSC" ] && [ -x "$RUNSC" ] || { echo "run.sh: set RUNSC to the runsc binary" >&2; exit 2; }
RUNSC=$(readlink -f "$RUNSC")
[ -x "$ENGINES/engines.sh" ] || { echo "run.sh: no engines.sh in $ENGINES (set ENGINES_DIR)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "SKIP: the engines need root"; exit 77; }

# The packages, installed only where a command is missing.
missing=()
for pc in containerd:containerd docker.io:dockerd podman:podman runc:runc busybox-static:/bin/busybox; do
  command -v "${pc#*:}" >/dev/null 2>&1 || missing+=("${pc%%:*}")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null 2>&1; then
    apt-get update >/dev/null 2>&1
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null 2>&1 ||
      { echo "SKIP: cannot install ${missing[*]} (no apt network?)"; exit 77; }
  fi
fi

T=$(mktemp -d /tmp/runsc-engines.XXXXXX)
S=$T/state
D="/usr/bin/docker -H unix://$S/docker/docker.sock"
CTR="ctr --address $S/containerd/containerd.sock"
PODMAN="podman --root $T/podman/root --runroot $T/podman/run --tmpdir $T/podman/tmp
  --cgroup-manager cgroupfs --events-backend file --runtime $RUNSC"
cleanup() {
  $D rm -f e1 e2 >/dev/null 2>&1
  "$ENGINES/engines.sh" stop "$S" >/dev/null 2>&1
  # Whatever the daemons left mounted under the temp dir, then the dir itself.
  grep -o " $T[^ ]*" /proc/self/mounts 2>/dev/null | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  if [ -n "${KEEP:-}" ]; then echo "state and logs kept in $T" >&2; else rm -rf "$T" 2>/dev/null; fi
}
trap cleanup EXIT

fails=0
# check NAME WANT CMD...: PASS when CMD's stdout (trimmed) is WANT (and it exits 0).
check() {
  local name=$1 want=$2 out rc; shift 2
  out=$(timeout 120 "$@" 2>"$T/err"); rc=$?
  out=$(printf '%s' "$out" | tr -d '\r')
  if [ "$rc" = 0 ] && [ "$out" = "$want" ]; then
    echo "PASS $name"
  else
    echo "FAIL $name: exit $rc, output '$out' (want '$want'): $(tail -c 600 "$T/err" | tr '\n' ' ')"
    fails=$((fails + 1))
  fi
}
# status NAME WANT CMD...: PASS when CMD exits with status WANT.
status() {
  local name=$1 want=$2 rc; shift 2
  timeout 120 "$@" >"$T/out" 2>"$T/err"; rc=$?
  if [ "$rc" = "$want" ]; then echo "PASS $name"; else
    echo "FAIL $name: exit $rc (want $want): $(tail -c 600 "$T/err" | tr '\n' ' ')"
    fails=$((fails + 1))
  fi
}

"$ENGINES/mkrootfs.sh" "$T/rootfs" >/dev/null &&
  "$ENGINES/mkimage.py" "$T/rootfs.tar" "$T/img.tar" >/dev/null ||
  { echo "FAIL building the image"; exit 1; }
DOCKERD_ARGS="--add-runtime runsc=$RUNSC" "$ENGINES/engines.sh" start "$S" ||
  { echo "FAIL starting containerd and dockerd"; exit 1; }
IMG=docker.io/library/myimg:latest
$CTR image import "$T/img.tar" >/dev/null 2>&1 || echo "ctr image import failed"
$D load -i "$T/img.tar" >/dev/null 2>&1 || echo "docker load failed"
$PODMAN load -i "$T/img.tar" >/dev/null 2>&1 || echo "podman load failed"

check "ctr run echo" hi $CTR run --rm --runc-binary "$RUNSC" $IMG c1 /bin/busybox echo hi
check "docker run echo" hi $D run --runtime=runsc --rm myimg echo hi
status "docker run exit 42" 42 $D run --runtime=runsc --rm myimg sh -c 'exit 42'
check "docker run sees /etc/hosts" yes $D run --runtime=runsc --rm myimg \
  sh -c 'grep -q localhost /etc/hosts && echo yes'
check "docker run -i (stdin)" piped sh -c "echo piped | $D run --runtime=runsc --rm -i myimg cat"
mkdir -p "$T/vol"
check "docker run -v (volume)" written $D run --runtime=runsc --rm -v "$T/vol:/vol" myimg \
  sh -c 'echo written > /vol/f && cat /vol/f'
check "docker volume on the host" written cat "$T/vol/f"
$D run --runtime=runsc -d --name e1 myimg sleep 1000 >/dev/null 2>"$T/err" ||
  echo "docker run -d failed: $(cat "$T/err")"
check "docker exec" inside $D exec e1 echo inside
# docker top shows the host's row of the sandbox process, which names the container.
ID1=$($D inspect -f '{{.Id}}' e1 2>/dev/null)
check "docker top" yes sh -c "$D top e1 | grep -q -- '$ID1' && echo yes"
# A pty for docker itself, so that -t is honoured end to end.
check "docker run -t" tty-ok script -qec \
  "$D run --runtime=runsc --rm -t myimg sh -c '[ -t 0 ] && [ -t 1 ] && echo tty-ok'" /dev/null
check "docker exec -t" tty-ok script -qec "$D exec -t e1 sh -c '[ -t 0 ] && echo tty-ok'" /dev/null
# sleep as pid 1 has no TERM handler: docker sends TERM, then KILL after the timeout.
status "docker stop" 0 $D stop -t 2 e1
check "docker stopped" false $D inspect -f '{{.State.Running}}' e1
$D run --runtime=runsc -d --name e2 myimg sh -c 'trap "exit 3" TERM; while :; do sleep 1; done' >/dev/null 2>&1
sleep 1
status "docker stop (TERM trap)" 0 $D stop -t 10 e2
check "docker stop exit status" 3 $D inspect -f '{{.State.ExitCode}}' e2
check "podman run echo" hi $PODMAN run --rm --network none \
  --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 myimg echo hi

if [ "$fails" -gt 0 ]; then
  echo "$fails check(s) failed; logs: dockerd $S/docker/log, containerd $S/containerd/log" >&2
  exit 1
fi
echo "all engine checks passed"
