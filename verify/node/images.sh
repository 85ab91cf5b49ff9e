#!/usr/bin/env bash
# Builds (once, into the cache) every image the development platform's synthesized YAML names,
# under the exact names the YAML uses, and prints what each one is:
#
#   bash verify/node/images.sh            # synthesize development (3 pods per app), build, table
#   QINGYU_VERIFY_DIST=DIR bash ...       # use YAML synthesized elsewhere (DIR/development or DIR)
#
# image | real / stand-in / absent | what it is | build time. Real: built from the upstream
# source at the version the tag names. Stand-in: something else under that name (the table says
# what). Absent: cannot be had here (the reason is given); pods using it fail at once with
# ErrImagePull, no traffic leaves the machine. Nothing needs the node: verify/node/platform.sh
# (npm run verify:node) imports the images into the node's containerd after node_up, with the
# import time added to the build column. Needs go, node, python3 + pip, xz, apt-get (Debian).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck disable=SC2034 # read by the sourced libraries (log prefixes)
QY_LOG_NAME=node-images
# shellcheck source=verify/node/lib/platform.sh
source "$here/lib/platform.sh"

work="$(mktemp -d "${TMPDIR:-/tmp}/qingyu-node-images.XXXXXX")"
trap 'rm -rf "$work"' EXIT

qy_platform_synth "$work/dist"
qy_pimg_plan "$work/dist"
qy_pimg_build
qy_pimg_table
