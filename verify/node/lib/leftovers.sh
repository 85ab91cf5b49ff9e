# shellcheck shell=bash
# What a node run may leave on the machine, to compare before and after (the same survey as
# verify/node/smoke.sh's no-leftovers check): links, the whole nftables ruleset (iptables-nft
# included), the node's sysctls, mounts, cgroups, files under /run /var/lib /var/log /etc /opt
# and ~/.*, and processes of ours. Needs lib/node.sh (QY_NODE_SYSCTLS, QY_NODE_RUN).

qy_leftovers_snapshot() {
  echo "## links"
  ip -o link show | awk -F': ' '{ print $2 }' | cut -d@ -f1 | sort
  echo "## nftables (iptables-nft included)"
  nft list ruleset 2>/dev/null | sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/'
  echo "## iptables chains"
  local ipt t
  for ipt in iptables ip6tables; do
    for t in filter nat mangle raw; do "$ipt" -w -t "$t" -S 2>/dev/null | sed -E "s/^/$ipt $t /; s/ -c [0-9]+ [0-9]+//"; done
  done
  echo "## sysctls"
  local k
  for k in "${QY_NODE_SYSCTLS[@]}"; do printf '%s=%s\n' "$k" "$(sysctl -n "$k" 2>/dev/null)"; done
  echo "## mounts"
  awk '{ print $5 }' /proc/self/mountinfo | sort
  echo "## cgroups"
  find /sys/fs/cgroup -maxdepth 2 -type d -name 'qingyu-node*' 2>/dev/null | sort
  echo "## files"
  find /run /var/lib /var/log /etc /opt -maxdepth 2 2>/dev/null | sort
  find "$HOME" -maxdepth 2 -name '.*' 2>/dev/null | sort
}

# qy_leftovers_processes WORK RECORD: processes of ours still alive: in a cgroup of the node's,
# naming the work dir or /run/qingyu-node, or recorded by node_up (same pid and start time) in
# RECORD (a copy of the record taken before node_down).
qy_leftovers_processes() {
  local work="$1" record="$2" p cmd
  for p in /proc/[0-9]*; do
    cmd="$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)" || continue
    [[ "${p#/proc/}" == "$$" || "${p#/proc/}" == "$BASHPID" ]] && continue
    if grep -q 'qingyu-node' "$p/cgroup" 2>/dev/null; then
      printf '%s %s\n' "${p#/proc/}" "$cmd"
      continue
    fi
    case "$cmd" in
      *"$work/"* | *"$QY_NODE_RUN"*) printf '%s %s\n' "${p#/proc/}" "$cmd" ;;
    esac
  done
  [[ -s "$record" ]] || return 0
  local _ name pid start
  while read -r _ name pid start; do
    [[ "$(_qy_node_starttime "$pid")" == "$start" ]] && printf '%s %s (recorded)\n' "$pid" "$name"
  done < <(awk '$1 == "pid"' "$record")
  return 0
}
