#!/usr/bin/env bash
# Debian packages cliptail needs at run time: the WordNet 3.0 database (concept frequency).
# Idempotent; skipped when already present. Needs root (or sudo) only when something is missing.
set -euo pipefail
missing=()
[ -f /usr/share/wordnet/index.noun ] || missing+=(wordnet-base)
[ -f /usr/share/wordnet/index.sense ] || missing+=(wordnet-sense-index)
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "error: missing ${missing[*]} (the WordNet 3.0 database in /usr/share/wordnet) and no apt-get;" \
       "install WordNet 3.0 there by other means" >&2
  exit 1
fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
echo "installing ${missing[*]} ..."
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
