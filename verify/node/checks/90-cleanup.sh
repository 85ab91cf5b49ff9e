# shellcheck shell=bash
# Check 7, clean-up (after node_down): the run left nothing behind: no process, mount, cgroup,
# link (bridge), iptables/nftables rule, sysctl or file that was not there before node_up.
# Needs: QY_LEFTOVERS_BEFORE (the snapshot taken before node_up), QY_RUN_WORK, QY_RECORD_COPY.

check_cleanup() {
  local after="$QY_RUN_WORK/leftovers-after.txt" diff="$QY_RUN_WORK/leftovers.diff" bad=0 procs
  qy_leftovers_snapshot >"$after"
  if ! diff -u "$QY_LEFTOVERS_BEFORE" "$after" >"$diff"; then
    # Only what we could have added counts: other activity on the machine may remove files.
    if grep -E '^\+[^+]' "$diff"; then bad=1; fi
  fi
  procs="$(qy_leftovers_processes "$QY_RUN_WORK" "$QY_RECORD_COPY")"
  [[ -z "$procs" ]] || { echo "processes left:"; echo "$procs"; bad=1; }
  [[ ! -e "$QY_NODE_RUN" ]] || { echo "$QY_NODE_RUN left"; bad=1; }
  ((bad == 0)) || return 1
  echo "no process, mount, cgroup, link, iptables/nftables rule, sysctl or file left"
}
qy_check 90 "7-cleanup" check_cleanup down
