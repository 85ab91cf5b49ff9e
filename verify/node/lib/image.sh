# shellcheck shell=bash
# Container images without a registry or docker (sourced, not run): a directory becomes a
# docker-archive tar (manifest.json, an image config, one uncompressed layer; sha256 digests
# computed here) that `ctr -n k8s.io images import` loads into the node's containerd under the
# exact name given. Pods then find it with imagePullPolicy IfNotPresent (or Never). The layer
# is deterministic: sorted entries, mtime 0, numeric owners as they are in the directory, so the
# same files give the same digest on every run and machine.
#
#   root="$(qy_rootfs_new)"                          # an empty rootfs in a temp dir
#   qy_rootfs_add_static "$root" /path/to/bin /bin/server
#   qy_rootfs_add_dynamic "$root" /usr/bin/redis-server   # + its libraries (ldd) and loader
#   qy_rootfs_users "$root" 10001:app 65532:nonroot       # /etc/passwd and /etc/group entries
#   qy_image_build redis:7.2.16 "$root" '{"Entrypoint":["/usr/bin/redis-server"],"User":"999"}'
#   qy_image_list                                    # the images the node has, one a line
#
# CONFIG_JSON is the image's "config" object (Entrypoint, Cmd, Env, User, WorkingDir,
# ExposedPorts, Labels...); PATH gets a default when Env sets none.
# Needs the node's containerd: QY_NODE_CONTAINERD_SOCK (set by lib/node.sh) and
# QY_NODE_SNAPSHOTTER (the snapshotter the CRI plugin uses, so the layers are unpacked for it).

# qy_ctr ARGS...: ctr against the node's containerd, namespace k8s.io (the CRI's).
qy_ctr() {
  ctr --address "${QY_NODE_CONTAINERD_SOCK:?the node is not up (QY_NODE_CONTAINERD_SOCK)}" -n k8s.io "$@"
}

# qy_rootfs_new: print a new rootfs directory (under $QY_NODE_WORK when the node is up, else
# TMPDIR) with the skeleton every image here has: /etc (passwd and group with root and nobody,
# nsswitch.conf, empty hosts/resolv.conf/hostname for the runtime's mounts), /tmp (1777),
# /dev, /proc, /sys, /var/run -> /run.
qy_rootfs_new() {
  local root
  root="$(mktemp -d "${QY_NODE_WORK:-${TMPDIR:-/tmp}}/rootfs-XXXXXX")"
  chmod 755 "$root"
  mkdir -p "$root"/{etc,dev,proc,sys,run,tmp,var,bin}
  chmod 1777 "$root/tmp"
  ln -s ../run "$root/var/run"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"$root/etc/group"
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
  : >"$root/etc/hosts"
  : >"$root/etc/resolv.conf"
  : >"$root/etc/hostname"
  printf '%s\n' "$root"
}

# qy_rootfs_users ROOT UID[:NAME[:GID]]...: passwd and group entries (home /tmp, no shell).
qy_rootfs_users() {
  local root="$1" spec uid name gid
  shift
  for spec in "$@"; do
    IFS=: read -r uid name gid <<<"$spec"
    name="${name:-user$uid}"
    gid="${gid:-$uid}"
    grep -q "^[^:]*:x:$uid:" "$root/etc/passwd" ||
      printf '%s:x:%s:%s:%s:/tmp:/sbin/nologin\n' "$name" "$uid" "$gid" "$name" >>"$root/etc/passwd"
    grep -q "^[^:]*:x:$gid:" "$root/etc/group" || printf '%s:x:%s:\n' "$name" "$gid" >>"$root/etc/group"
  done
}

# qy_rootfs_add_static ROOT FILE [DEST]: copy a file (a static binary, a config) into the rootfs,
# at DEST (default: the same path), mode kept.
qy_rootfs_add_static() {
  local root="$1" src="$2" dest="${3:-$2}"
  mkdir -p "$root$(dirname "$dest")"
  cp -L --preserve=mode "$src" "$root$dest"
}

# qy_rootfs_add_dynamic ROOT BINARY [DEST]: the binary plus every library ldd resolves for it
# and the dynamic loader, at their host paths (so the binary's interpreter path holds), resolved
# through symlinks. Libraries that are dlopen()ed at run time (NSS modules...) are not seen by
# ldd: add them with qy_rootfs_add_static (for names, /etc/nsswitch.conf says "files dns").
qy_rootfs_add_dynamic() {
  local root="$1" src="$2" dest="${3:-$2}" lib
  qy_rootfs_add_static "$root" "$src" "$dest"
  while IFS= read -r lib; do
    [[ -n "$lib" && -e "$lib" ]] || continue
    [[ -e "$root$lib" ]] && continue
    qy_rootfs_add_static "$root" "$lib"
  done < <(ldd "$src" 2>/dev/null | awk '
    $2 == "=>" && $3 ~ /^\// { print $3; next }
    $1 ~ /^\// { print $1 }')
}

# qy_image_tar NAME ROOT CONFIG_JSON OUT.tar: write the docker-archive (no containerd needed).
qy_image_tar() {
  local name="$1" root="$2" config="${3:-"{}"}" out="$4" tmp
  tmp="$(mktemp -d)"
  # Deterministic layer: GNU tar, sorted, fixed mtime, numeric owners, no atime/ctime.
  tar --sort=name --mtime=@0 --numeric-owner --format=posix \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    -C "$root" -cf "$tmp/layer.tar" . || { rm -rf "$tmp"; return 1; }
  python3 - "$name" "$config" "$tmp" <<'PY' || { rm -rf "$tmp"; return 1; }
import hashlib, json, os, sys
name, config, tmp = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
h = hashlib.sha256()
with open(os.path.join(tmp, "layer.tar"), "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
        h.update(chunk)
layer = h.hexdigest()
env = config.get("Env") or []
if not any(e.startswith("PATH=") for e in env):
    config["Env"] = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] + env
image = {
    "architecture": "amd64",
    "os": "linux",
    "created": "1970-01-01T00:00:00Z",
    "config": config,
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + layer]},
    "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "verify/node/lib/image.sh"}],
}
blob = json.dumps(image, sort_keys=True, separators=(",", ":")).encode()
digest = hashlib.sha256(blob).hexdigest()
os.mkdir(os.path.join(tmp, layer))
os.rename(os.path.join(tmp, "layer.tar"), os.path.join(tmp, layer, "layer.tar"))
with open(os.path.join(tmp, digest + ".json"), "wb") as f:
    f.write(blob)
manifest = [{"Config": digest + ".json", "RepoTags": [name], "Layers": [layer + "/layer.tar"]}]
with open(os.path.join(tmp, "manifest.json"), "w") as f:
    json.dump(manifest, f)
print("sha256:" + digest)
PY
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$tmp" -cf "$out" . || { rm -rf "$tmp"; return 1; }
  rm -rf "$tmp"
}

# qy_image_build NAME ROOT [CONFIG_JSON]: build the archive and import it into the node's
# containerd as NAME (a short name normalizes as docker does: redis:7.2.16 is
# docker.io/library/redis:7.2.16). Prints the image ID (the config digest).
qy_image_build() {
  local name="$1" root="$2" config="${3:-"{}"}" tar id
  [[ -d "$root" ]] || { printf 'qy_image_build: no directory %s\n' "$root" >&2; return 1; }
  tar="$(mktemp "${QY_NODE_WORK:-${TMPDIR:-/tmp}}/image-XXXXXX.tar")"
  id="$(qy_image_tar "$name" "$root" "$config" "$tar")" || { rm -f "$tar"; return 1; }
  qy_image_import "$tar" || { rm -f "$tar"; return 1; }
  rm -f "$tar"
  printf '%s\n' "$id"
}

# qy_image_import TAR: import a docker-archive or OCI tar (e.g. one made by qy_image_tar and kept).
qy_image_import() {
  qy_ctr images import --snapshotter "${QY_NODE_SNAPSHOTTER:-overlayfs}" "$1" >/dev/null
}

# qy_image_list: the node's images (their full names), one a line.
qy_image_list() {
  qy_ctr images ls -q | grep -v '^sha256:' | sort
}
