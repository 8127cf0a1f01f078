#!/usr/bin/env bash
# deps.sh: install what dolen needs to build and test, from Debian packages.
# Installs only what is missing; safe to run again. Needs root (or sudo).
set -euo pipefail

pkgs=(gcc clang libc6-dev meson ninja-build pkg-config
      libssl-dev zlib1g-dev libyaml-dev libisal-dev libcriterion-dev
      gzip ca-certificates)
if [ "${1:-}" = "--test" ]; then
    # The test suite also builds the libFuzzer targets with clang, and renders
    # the report page in headless Chromium (tests/test_report.c).
    pkgs+=(libclang-rt-dev chromium)
fi

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "deps: run as root to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
