#!/usr/bin/env bash
# Init container: copies the replica set's keyFile from its Secret volume to a memory-backed
# emptyDir, owned by the mongod user with mode 0400.
#
# mongod refuses a keyFile that group or others may read ("permissions on ... are too open"), and
# a Secret volume cannot provide one here: with the pod's fsGroup the kubelet makes every file
# group-readable (0440, owner root, group fsGroup), whatever defaultMode says.
set -euo pipefail

readonly source_file=${KEYFILE_SOURCE:-/secrets/keyfile/keyfile}
readonly target_file=${KEYFILE_TARGET:-/keyfile/keyfile}

if [[ ! -r $source_file ]]; then
  echo "cannot read the keyFile at $source_file: is the mongodb-keyfile Secret there, with key 'keyfile'?" >&2
  exit 1
fi

# mongod ignores whitespace and accepts 6 to 1024 characters of the base64 alphabet.
key=$(tr -d ' \t\r\n' <"$source_file")
if (( ${#key} < 6 || ${#key} > 1024 )); then
  echo "the keyFile must hold 6 to 1024 base64 characters, it holds ${#key}" >&2
  exit 1
fi
if [[ ! $key =~ ^[A-Za-z0-9+/=]+$ ]]; then
  echo "the keyFile holds characters outside the base64 alphabet" >&2
  exit 1
fi

# A restarted pod finds its earlier copy read-only: replace it rather than write through it.
rm -f "$target_file"
(umask 0277 && printf '%s' "$key" >"$target_file")
chmod 0400 "$target_file"
echo "keyFile installed at $target_file (mode $(stat -c %a "$target_file"), owner $(stat -c %u:%g "$target_file"))"
