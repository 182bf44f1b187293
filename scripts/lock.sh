#!/usr/bin/env bash
# requirements.lock: exact versions of everything `make install` puts into .venv, compiled by uv
# from pyproject.toml (all extras) and requirements/clip-vocab.in.
# Usage: scripts/lock.sh compile|check
#   compile  refresh the lock, keeping every pin that still satisfies pyproject.toml
#   check    fail when pyproject.toml and the lock disagree
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-.venv/bin/uv}
# The CPU build of torch 2.13.0 is a local wheel on the development machines, not on PyPI.
TORCH_WHEELS=${TORCH_WHEELS:-/opt/wheels}

compile() {
  "$UV" pip compile --quiet pyproject.toml requirements/clip-vocab.in --all-extras \
    --override requirements/overrides.txt --find-links "$TORCH_WHEELS" --no-emit-find-links \
    --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
    --custom-compile-command "make lock" -o "$1"
}

case "${1:-}" in
  compile) compile requirements.lock ;;
  check)
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    cp requirements.lock "$tmp/lock"  # uv prefers the pins already in the output file
    compile "$tmp/lock"
    if ! diff -u requirements.lock "$tmp/lock"; then
      echo "requirements.lock does not match pyproject.toml: run 'make lock' and commit it" >&2
      exit 1
    fi ;;
  *) echo "usage: $0 compile|check" >&2; exit 2 ;;
esac
