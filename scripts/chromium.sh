#!/usr/bin/env bash
# Install Debian's `chromium` for the dashboard's browser tests (Playwright drives it through
# `executable_path`; no browser is downloaded). Prints the browser's path.
set -euo pipefail
BROWSER=${LORABOT_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$BROWSER" ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >&2
fi
echo "$BROWSER"
