#!/bin/sh
# The Milvus auth Job (grpcurl, as Milvus's root: the one use of milvus-root). Milvus 2.3 starts
# with authorization on and root's password the built-in default `Milvus`, with no setting to
# change it at start-up. This step:
#   1. waits for Milvus, then makes root's password the Secret's (changing it from the default
#      at first start);
#   2. gives each client its own user, with the password of its Secret (a changed Secret replaces
#      the user), and a role of the same name holding exactly the grants listed for it: grants
#      not listed are revoked, other roles unbound;
#   3. proves each client authenticates and is refused an administrative call.
# Idempotent: a second run changes nothing and says so.
#
# Files: $AUTH_DIR/milvus-auth.proto (the API), $AUTH_DIR/users (lines `<secret dir> <user>`),
# $AUTH_DIR/grants-<user> (lines `<object type> <object name> <privilege>`);
# $SECRETS_DIR/root/password, $SECRETS_DIR/users/<secret dir>/password. Environment:
# MILVUS_ADDRESS (host:port), MAX_WAIT_SECONDS, TMPDIR (writable). Credentials and passwords travel in the request
# body (stdin) and an expanded header, never on a command line.
set -u
dir=${AUTH_DIR:-/auth}
secrets=${SECRETS_DIR:-/secrets}
max_wait=${MAX_WAIT_SECONDS:-600}
DEFAULT_ROOT_PASSWORD=Milvus
have_file=${TMPDIR:-/tmp}/grants

b64() { printf %s "$1" | base64 | tr -d '\n'; }

# call USER:PASSWORD METHOD, the JSON body on stdin: prints the answer as compact JSON on one
# line (an error as grpcurl words it); see failed for whether it succeeded. Milvus 2.3 repeats
# the user and password it was given in its "auth check failure" text ("actual=username: ...,
# password: ..."): that part is cut, so that no message of this Job holds a password.
call() {
  # shellcheck disable=SC2016 # ${AUTH} is for grpcurl -expand-headers, not the shell
  AUTH="$(b64 "$1")" grpcurl -plaintext -expand-headers -H 'authorization: ${AUTH}' \
    -import-path "$dir" -proto milvus-auth.proto -connect-timeout 5 -max-time 30 -d @ \
    "$MILVUS_ADDRESS" "milvus.proto.milvus.MilvusService/$2" 2>&1 |
    tr -d '\n' | sed -e 's/actual=.*/actual=(not shown)/' -e 's/  */ /g' -e 's/" *: */":/g' -e 's/\([[{,]\) */\1/g' -e 's/ *\([]}]\)/\1/g'
}

# failed ANSWER: true when the call was refused or answered with a non-zero errorCode.
failed() {
  case $1 in
    *ERROR:* | *'"errorCode"'*) return 0 ;;
    *) return 1 ;;
  esac
}

# authenticates USER:PASSWORD: 0 the credentials are accepted, 1 refused, 2 Milvus unreachable.
authenticates() {
  out=$(echo '{}' | call "$1" ListCredUsers)
  case $out in
    *'"usernames"'* | *PermissionDenied*) return 0 ;;
    *"auth check failure"*) return 1 ;;
    *) return 2 ;;
  esac
}

must() { # must WHAT ANSWER
  if failed "$2"; then
    echo "$1 failed: $2" >&2
    exit 1
  fi
}

root_password=$(cat "$secrets/root/password")
ROOT="root:$root_password"

# ---- 1. root ----------------------------------------------------------------------------------
started=$(date +%s)
while :; do
  authenticates "$ROOT"
  case $? in
    0)
      echo "root authenticates with the password of milvus-root"
      break
      ;;
    1)
      if authenticates "root:$DEFAULT_ROOT_PASSWORD"; then
        out=$(printf '{"username":"root","oldPassword":"%s","newPassword":"%s"}' \
          "$(b64 "$DEFAULT_ROOT_PASSWORD")" "$(b64 "$root_password")" | call "root:$DEFAULT_ROOT_PASSWORD" UpdateCredential)
        must "changing root's password from the default" "$out"
        echo "root's password changed from the default to the one of milvus-root"
        continue
      fi
      echo "root authenticates with neither milvus-root's password nor the default: was milvus-root changed after the first start? Put the old password back, or change root's in Milvus to the Secret's (README \"Milvus authentication\")" >&2
      exit 1
      ;;
    *)
      if [ $(($(date +%s) - started)) -ge "$max_wait" ]; then
        echo "giving up: Milvus at $MILVUS_ADDRESS did not answer within ${max_wait}s: $out" >&2
        exit 1
      fi
      echo "Milvus at $MILVUS_ADDRESS is not answering yet; retrying in 5s"
      sleep 5
      ;;
  esac
done

out=$(echo '{}' | call "$ROOT" ListCredUsers)
must 'listing the users' "$out"
existing=$out

# ---- 2. each client ---------------------------------------------------------------------------
while read -r secret user; do
  [ -n "$user" ] || continue
  password=$(cat "$secrets/users/$secret/password")
  if authenticates "$user:$password"; then
    echo "user $user: password current"
  else
    case $existing in
      *"\"$user\""*)
        out=$(printf '{"username":"%s"}' "$user" | call "$ROOT" DeleteCredential)
        must "deleting user $user (its password changed)" "$out"
        echo "user $user: replaced (its Secret's password changed)"
        ;;
      *) echo "user $user: created" ;;
    esac
    out=$(printf '{"username":"%s","password":"%s"}' "$user" "$(b64 "$password")" | call "$ROOT" CreateCredential)
    must "creating user $user" "$out"
  fi

  out=$(printf '{"entity":{"name":"%s"}}' "$user" | call "$ROOT" CreateRole)
  case $out in
    *"has existed"* | *hasexisted*) ;;
    *) must "creating role $user" "$out" ;;
  esac

  # The role's grants: exactly those of grants-<user>.
  want="$dir/grants-$user"
  have=$(printf '{"entity":{"role":{"name":"%s"}}}' "$user" | call "$ROOT" SelectGrant)
  must "reading the grants of role $user" "$have"
  echo "$have" | sed 's/{"role":/\n/g' |
    sed -n 's/.*"object":{"name":"\([^"]*\)"},"objectName":"\([^"]*\)".*"privilege":{"name":"\([^"]*\)"}.*/\1 \2 \3/p' >"$have_file"
  while read -r type name privilege; do
    grep -qxF "$type $name $privilege" "$want" && continue
    out=$(printf '{"entity":{"role":{"name":"%s"},"object":{"name":"%s"},"object_name":"%s","grantor":{"privilege":{"name":"%s"}}},"type":"Revoke"}' \
      "$user" "$type" "$name" "$privilege" | call "$ROOT" OperatePrivilege)
    must "revoking $privilege on $type $name from role $user" "$out"
    echo "role $user: revoked $privilege on $type $name (not listed)"
  done <"$have_file"
  added=0
  while read -r type name privilege; do
    [ -n "$privilege" ] || continue
    grep -qxF "$type $name $privilege" "$have_file" && continue
    out=$(printf '{"entity":{"role":{"name":"%s"},"object":{"name":"%s"},"object_name":"%s","grantor":{"privilege":{"name":"%s"}}},"type":"Grant"}' \
      "$user" "$type" "$name" "$privilege" | call "$ROOT" OperatePrivilege)
    must "granting $privilege on $type $name to role $user" "$out"
    added=$((added + 1))
  done <"$want"
  echo "role $user: $(grep -c . "$want") grants, $added added"

  # The user's roles: its own, nothing else.
  roles=$(printf '{"user":{"name":"%s"},"include_role_info":true}' "$user" | call "$ROOT" SelectUser)
  must "reading the roles of user $user" "$roles"
  for role in $(echo "$roles" | sed -n 's/.*"roles":\[\([^]]*\)\].*/\1/p' | tr ',' '\n' | sed -n 's/.*"name":"\([^"]*\)".*/\1/p'); do
    [ "$role" = "$user" ] && continue
    out=$(printf '{"username":"%s","role_name":"%s","type":"RemoveUserFromRole"}' "$user" "$role" | call "$ROOT" OperateUserRole)
    must "removing user $user from role $role" "$out"
    echo "user $user: removed from role $role (not its own)"
  done
  case $roles in
    *"\"roles\""*"{\"name\":\"$user\"}"*) ;;
    *)
      out=$(printf '{"username":"%s","role_name":"%s","type":"AddUserToRole"}' "$user" "$user" | call "$ROOT" OperateUserRole)
      must "binding user $user to role $user" "$out"
      echo "user $user: bound to role $user"
      ;;
  esac

  # ---- 3. the proof ---------------------------------------------------------------------------
  out=$(echo '{}' | call "$user:$password" ListCredUsers)
  case $out in
    *PermissionDenied*) echo "user $user: authenticates, and is refused listing the users" ;;
    *)
      echo "user $user: expected an authenticated refusal of ListCredUsers, got: $out" >&2
      exit 1
      ;;
  esac
done <"$dir/users"

if authenticates "root:$DEFAULT_ROOT_PASSWORD"; then
  echo "root still accepts the default password" >&2
  exit 1
fi
echo "Milvus authentication is as configured; the default root password is refused"
