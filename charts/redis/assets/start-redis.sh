#!/bin/sh
# Starts redis-server with /etc/redis/redis.conf and its ACL users.
#
# /etc/redis/users.rules holds one `<user> <rules>` line per user; each user's password is the
# file /secrets/users/<user>/password, from its Secret. This writes /tmp/users.acl with the
# passwords' SHA-256 hashes (`#<hex>`: the file never holds a password) and the default user
# off, and hands Redis the `aclfile` setting on standard input (the trailing `-`). `exec` makes
# redis-server PID 1, so it receives SIGTERM and shuts down cleanly.
set -eu
rules=${REDIS_USERS_RULES:-/etc/redis/users.rules}
users=${REDIS_USERS_DIR:-/secrets/users}
acl=${REDIS_ACL_FILE:-/tmp/users.acl}

# Files Redis creates (the AOF) and the ACL file are readable by its own user only.
umask 0077
{
  echo 'user default off'
  while read -r user rules; do
    [ -n "$user" ] || continue
    file="$users/$user/password"
    [ -s "$file" ] || { echo "no password for Redis user $user at $file (its Secret redis-$user)" >&2; exit 1; }
    hash=$(tr -d '\n' <"$file" | sha256sum | cut -d' ' -f1)
    echo "user $user on #$hash $rules"
  done <"$rules"
} >"$acl"
exec redis-server /etc/redis/redis.conf - <<EOF_CONFIG
aclfile $acl
EOF_CONFIG
