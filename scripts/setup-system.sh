#!/usr/bin/env bash
# Installs the Debian packages the tests need (real PTYs, a real time-series server, a real browser, a real AVR
# running StandardFirmata, openssl for the OCPP test's TLS certificate, poppler-utils to read the PDF certificate back,
# PostgreSQL's server for the lab tests, which start their own cluster). As root it installs what is missing; otherwise it fails and names what to install.
set -euo pipefail
# command → package
declare -A NEED=(
  [socat]=socat
  [victoria-metrics]=victoria-metrics
  [chromium]=chromium
  [script]=bsdutils
  [openssl]=openssl
  [pdftotext]=poppler-utils
)
missing=()
for cmd in "${!NEED[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${NEED[$cmd]}")
done
# Debian keeps PostgreSQL's server binaries off PATH.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "setup-system: missing Debian packages: ${missing[*]}" >&2
  echo "setup-system: install them with: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "setup-system: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
