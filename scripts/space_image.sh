#!/usr/bin/env bash
# The Hugging Face Space's image, built from the unchanged Dockerfile with podman and used for real.
#
#   bash scripts/space_image.sh [check [--no-build]]   build (or reuse the image), run, wait until healthy,
#                                          time a first prediction, stop; prints image size, build time,
#                                          run-to-healthy, first prediction; then the visitor check
#                                          (tests/test_space_image.py) on the same image
#   bash scripts/space_image.sh build      only build (the stand-in base image is made once and cached)
#   bash scripts/space_image.sh start NAME PORT [CMD...]   run the image detached as container NAME on
#                                          127.0.0.1:PORT (host network), CMD replacing the Streamlit command
#   bash scripts/space_image.sh stop NAME  stop and remove container NAME
#   bash scripts/space_image.sh exec NAME CMD...   run CMD inside container NAME
#   bash scripts/space_image.sh diff NAME  the files container NAME changed or added (podman diff)
#   bash scripts/space_image.sh clean      remove the image store (image, build cache, stand-in base)
#   bash scripts/space_image.sh verified   exit 0 when the image's inputs (Dockerfile, .dockerignore,
#                                          requirements*.txt, scripts/) are the ones a passing check last
#                                          saw (scripts/space_image.verified); scripts/test.sh asks this
#   bash scripts/space_image.sh tools      install podman, runc and debootstrap if missing (as root)
#
# Needs podman (installed with runc and debootstrap when missing and run as root). No container registry
# is reachable here, so `python:3.11-slim` is a stand-in made from Debian bookworm's own packages (its
# python3 is 3.11), tagged under that name so the Dockerfile's text runs as is (docs/deployment.md).
# Environment: SPACE_IMAGE (default postergenre-space), SPACE_PORT (default 8501 + a free offset: a
# free port), SPACE_LOG (the build log, default ~/.cache/postergenre/space-build.log), SPACE_CONTEXT=head
# (build from the last commit, `git archive HEAD`, as a push to the Space would, instead of the working tree).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${SPACE_IMAGE:-postergenre-space}
BASE=docker.io/library/python:3.11-slim        # the name the Dockerfile's FROM resolves to
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/postergenre
LOG=${SPACE_LOG:-$CACHE/space-build.log}
mkdir -p "$CACHE"

# podman with what this kind of machine needs: runc with cgroupfs and no default ulimits (crun fails here
# on rlimits and hybrid cgroups), and a store of the script's own (SPACE_STORE): overlay where the kernel
# has it (layers are differences: the export stage's torch is stored once), else vfs, which copies every
# layer in full (about 25 GB at the peak of a build).
CONF=$CACHE/containers.conf
printf '[containers]\ndefault_ulimits = []\n' >"$CONF"
STORE=${SPACE_STORE:-/var/lib/containers/postergenre-space}
DRIVER=vfs; grep -qw overlay /proc/filesystems 2>/dev/null && DRIVER=overlay
pm() { CONTAINERS_CONF=$CONF podman --root "$STORE" --runroot "/run/postergenre-space" --storage-driver "$DRIVER" \
         --runtime runc --cgroup-manager cgroupfs "$@"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

need_tools() {
  local missing=()
  for tool in podman runc debootstrap curl; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  [ ${#missing[@]} = 0 ] && return
  if [ "$(id -u)" != 0 ]; then
    echo "[space] missing: ${missing[*]}; install them: sudo apt-get install podman runc debootstrap curl" >&2; exit 1
  fi
  echo "[space] installing podman, runc, debootstrap (Debian packages, about a minute)"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
     podman runc debootstrap curl) >>"$LOG" 2>&1 || { tail -n 20 "$LOG"; echo "[space] apt-get failed; log: $LOG" >&2; exit 1; }
}

# The stand-in for python:3.11-slim: Debian bookworm minbase + python3/pip/venv, made to behave like the
# official image (python and pip on PATH, pip allowed to install, this machine's CA bundle as the system
# bundle so pip reaches PyPI through this network's proxy). PyTorch's wheel index, which the export stage
# names, cannot be reached from here: /etc/pip.conf's `retries = 0` makes pip skip it at once instead of
# retrying it for every package (about 15 minutes). The root file system is kept as a tarball, so
# removing images (`podman rmi -a`) does not mean another debootstrap. BASE_RECIPE names this recipe:
# change it when the recipe changes, and the next run makes the base again.
BASE_RECIPE=bookworm-3
# like the official Debian images: apt keeps no package caches, dpkg installs no docs, man pages or locales
slim_like_official() {
  local root=$1
  ln -sf /usr/bin/python3 "$root/usr/local/bin/python"
  ln -sf /usr/bin/pip3 "$root/usr/local/bin/pip"
  rm -f "$root"/usr/lib/python3*/EXTERNALLY-MANAGED
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  printf '[global]\nretries = 0\n' >"$root/etc/pip.conf"
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'CONF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CONF
  mkdir -p "$root/etc/dpkg/dpkg.cfg.d"
  printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
    'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' 'path-exclude /usr/share/locale/*' \
    'path-exclude /usr/share/lintian/*' >"$root/etc/dpkg/dpkg.cfg.d/docker"
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* "$root"/usr/share/lintian/*
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
}
make_base() {
  [ "$(pm image inspect --format '{{index .Labels "postergenre.stand-in"}}' "$BASE" 2>/dev/null)" = "$BASE_RECIPE" ] && return
  local tarball=$CACHE/space-base-$BASE_RECIPE.tar
  if [ ! -s "$tarball" ]; then
    [ "$(id -u)" = 0 ] || { echo "[space] making the stand-in base image needs root (debootstrap)" >&2; exit 1; }
    echo "[space] making the stand-in base image from Debian bookworm (once; a few minutes)"
    local root; root=$(mktemp -d /var/tmp/space-base.XXXXXX)
    chmod 755 "$root"   # it becomes the image's "/": mktemp's 0700 would lock every non-root user out
    debootstrap --variant=minbase --include=python3,python3-pip,python3-venv,ca-certificates bookworm "$root" \
      http://deb.debian.org/debian >>"$LOG" 2>&1 || { tail -n 20 "$LOG"; echo "[space] debootstrap failed; log: $LOG" >&2; exit 1; }
    slim_like_official "$root"
    tar -C "$root" -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
    rm -rf "$root"
  fi
  pm rmi -f "$BASE" >/dev/null 2>&1 || true
  pm import --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' \
            --change "LABEL postergenre.stand-in=$BASE_RECIPE" "$tarball" "$BASE" >>"$LOG"
}

build() {
  need_tools
  make_base
  echo "[space] building $IMAGE from Dockerfile (log: $LOG)"
  local t0; t0=$(now)
  local ctx=.
  if [ "${SPACE_CONTEXT:-}" = head ]; then
    ctx=$(mktemp -d /var/tmp/space-context.XXXXXX)
    git archive HEAD | tar -x -C "$ctx"
    echo "[space] context: commit $(git rev-parse --short HEAD)"
  fi
  local ok=1
  pm build --isolation chroot --pull=never -t "$IMAGE" -f "$ctx/Dockerfile" "$ctx" >>"$LOG" 2>&1 || ok=0
  [ "$ctx" = . ] || rm -rf "$ctx"
  if [ $ok = 0 ]; then
    tail -n 30 "$LOG"; echo "[space] build failed; full log: $LOG" >&2
    echo "[space] its cached layers are kept for a retry; 'bash $0 clean' frees their disk space" >&2; exit 1
  fi
  BUILD_S="$(secs "$t0" "$(now)") s"
  echo "[space] built in $BUILD_S; the build cache (the export stage's torch, ~8 GB) is kept: 'clean' removes it"
}

# The inputs that decide whether the image must be checked again, as one hash (no git history needed).
STAMP=scripts/space_image.verified
inputs_hash() {
  local f
  for f in Dockerfile .dockerignore requirements*.txt scripts/*; do
    if [ -f "$f" ] && [ "$f" != "$STAMP" ]; then printf '%s\n' "$f"; cat "$f"; fi
  done | sha256sum | cut -d' ' -f1
}
verified() { [ "$(cut -d' ' -f1 "$STAMP" 2>/dev/null)" = "$(inputs_hash)" ]; }

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start NAME PORT [CMD...]: detached, host network (this machine's podman has no other working network),
# PORT passed as $PORT (the Dockerfile's CMD serves on it); TMDB_API_TOKEN (the Space secret) and
# TMDB_API_BASE_URL (tests: a fake TMDB on 127.0.0.1) passed through when set.
start() {
  local name=$1 port=$2; shift 2
  pm rm -f "$name" >/dev/null 2>&1 || true
  pm run -d --rm --name "$name" --network host -e PORT="$port" \
     ${TMDB_API_TOKEN:+-e TMDB_API_TOKEN} ${TMDB_API_BASE_URL:+-e TMDB_API_BASE_URL} "$IMAGE" "$@" >/dev/null
}

stop() { pm stop -t 5 "$1" >/dev/null 2>&1 || true; pm rm -f "$1" >/dev/null 2>&1 || true; }

# wait_healthy URL SECONDS: 0 once URL answers "ok"
wait_healthy() {
  local deadline=$(( $(date +%s) + $2 ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    [ "$(curl -s -m 1 "$1" 2>/dev/null)" = ok ] && return 0
    sleep 0.1
  done
  return 1
}

size_of() { pm image inspect --format '{{.Size}}' "$IMAGE"; }

check() {
  if [ "${1:-}" = --no-build ]; then
    pm image exists "$IMAGE" || { echo "[space] no image $IMAGE yet: run without --no-build" >&2; exit 1; }
    BUILD_S="(not rebuilt: --no-build)"
  else
    build
  fi
  local port=${SPACE_PORT:-$(free_port)} name=postergenre-space-check
  trap 'stop '"$name" EXIT
  echo "[space] starting on http://127.0.0.1:$port"
  local t0; t0=$(now)
  start "$name" "$port"
  if ! wait_healthy "http://127.0.0.1:$port/_stcore/health" 60; then
    pm logs "$name" 2>&1 | tail -n 30; echo "[space] not healthy after 60 s" >&2; exit 1
  fi
  local healthy_s; healthy_s=$(secs "$t0" "$(now)")
  local first="skipped (needs .venv with Playwright and /usr/bin/chromium: bash scripts/test.sh sets both up)"
  if [ -x .venv/bin/python ] && [ -x /usr/bin/chromium ]; then
    first=$(.venv/bin/python scripts/space_visit.py "http://127.0.0.1:$port") || first="FAILED: $first"
  fi
  local bytes; bytes=$(size_of)
  echo
  echo "postergenre Space image ($IMAGE), podman $(podman --version | awk '{print $3}') ($DRIVER storage), $(nproc) CPUs:"
  awk -v b="$bytes" 'BEGIN { printf "  image size          %.2f GB (%.0f MiB)   target <= 1.5 GB\n", b / 1e9, b / 1048576 }'
  echo "  build time          $BUILD_S   (cached layers are reused; a first build downloads torch)"
  echo "  run to healthy      $healthy_s s   target <= 10 s"
  echo "  first prediction    $first   target <= 3 s after healthy"
  stop "$name"; trap - EXIT
  # the visitor check (tests/test_space_image.py) on the same image; its pass is what the stamp records
  case "$first" in FAILED*|skipped*) echo "[space] no visitor check: $first"; exit 1 ;; esac
  echo "[space] visitor check: tests/test_space_image.py (a few minutes)"
  SPACE_IMAGE_BUILT=1 POSTERGENRE_SPACE_IMAGE=1 .venv/bin/python -m pytest tests/test_space_image.py -x -q -p no:cacheprovider
  echo "$(inputs_hash) checked $(date -u +%Y-%m-%d) by scripts/space_image.sh" >"$STAMP"
  echo "[space] passed; inputs recorded in $STAMP (commit it: scripts/test.sh then skips this check)"
}

clean() {
  pm rm -af >/dev/null 2>&1 || true
  pm system reset -f >/dev/null 2>&1 || true
  rm -rf "$STORE"
  rm -f "$CACHE"/space-base-*.tar
  echo "[space] removed the image store $STORE (the image, its build cache, the stand-in base) and the base tarball"
}

case "${1:-check}" in
  check) [ $# -gt 0 ] && shift; check "$@" ;;
  build) build ;;
  start) shift; [ $# -ge 2 ] || { echo "usage: $0 start NAME PORT [CMD...]" >&2; exit 2; }; start "$@" ;;
  stop) [ $# = 2 ] || { echo "usage: $0 stop NAME" >&2; exit 2; }; stop "$2" ;;
  exec) shift; [ $# -ge 2 ] || { echo "usage: $0 exec NAME CMD..." >&2; exit 2; }; pm exec "$@" ;;
  diff) [ $# = 2 ] || { echo "usage: $0 diff NAME" >&2; exit 2; }; pm diff "$2" ;;
  clean) clean ;;
  verified) verified ;;
  tools) need_tools ;;
  *) echo "usage: $0 [check|build|start NAME PORT [CMD...]|stop NAME|exec NAME CMD...|diff NAME|clean|verified|tools]" >&2
     exit 2 ;;
esac; exit $?   # on the same line: an edit to this file while it runs cannot feed it more commands
