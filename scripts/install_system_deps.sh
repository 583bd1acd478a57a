#!/usr/bin/env bash
# Debian packages for the tests (`make test`, CI runs as root): the WordNet 3.0 database in
# /usr/share/wordnet (wordnet-base; wordnet-sense-index for the NLTK comparison test). The
# real-data rules (concept frequency, LAIONet, YFCC/CC-12M-Cls, IN-Caps synset templates) use it
# too when present. Nothing needs it otherwise: `make reproduce` (the synthetic study) uses no
# WordNet, and without root the pipeline fetches WordNet 3.0 itself into resources/wordnet
# (workflow/scripts/fetch_wordnet.py: Princeton's release, sha256-checked).
# Idempotent; skipped when already present. Needs root (or sudo) only when something is missing.
set -euo pipefail
missing=()
[ -f /usr/share/wordnet/index.noun ] || missing+=(wordnet-base)
[ -f /usr/share/wordnet/index.sense ] || missing+=(wordnet-sense-index)
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "error: missing ${missing[*]} (the WordNet 3.0 database in /usr/share/wordnet) and no apt-get;" \
       "install WordNet 3.0 there by other means, or fetch it without root:" \
       "python workflow/scripts/fetch_wordnet.py --out DIR, then CLIPTAIL_WORDNET_DIR=DIR" >&2
  exit 1
fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
echo "installing ${missing[*]} ..."
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
