# CodePod's bash kernel driver (see docs/code.md). The agent starts it with
# requests on fd 3 — a line "execute_request BASE64-OF-THE-CODE" — and
# messages to the agent on fd 4; fds 1 and 2 are the cell's stdout and
# stderr. A cell runs in a child (its own process group, job control on), so
# an interrupt kills the child and leaves the shell as it was; on success
# the child's variables, functions, aliases, options and cwd are loaded
# back into this shell.
__cp_dir=$(mktemp -d) || exit 1
trap 'rm -rf "$__cp_dir"' EXIT
trap '[ -n "$__cp_child" ] && kill -KILL -- -"$__cp_child" 2>/dev/null; __cp_int=1' INT
while :; do
	if ! IFS=' ' read -r __cp_kind __cp_b64 <&3; then
		# A late interrupt between cells interrupts read: keep going.
		[ -n "$__cp_int" ] && { __cp_int=; continue; }
		break
	fi
	[ "$__cp_kind" = execute_request ] || continue
	__cp_code=$(printf %s "$__cp_b64" | base64 -d; printf x)
	__cp_code=${__cp_code%x}
	__cp_int=
	set -m # the child leads its own process group
	(
		trap - INT EXIT
		eval "$__cp_code"
		__cp_rc=$?
		{ declare -p; declare -f; alias; shopt -p; } >"$__cp_dir/state" 2>/dev/null
		pwd >"$__cp_dir/cwd"
		exit $__cp_rc
	) 3<&- 4>&- &
	__cp_child=$!
	set +m # and no job notices
	while :; do
		wait "$__cp_child"
		__cp_rc=$?
		[ -n "$__cp_int" ] && break
		kill -0 "$__cp_child" 2>/dev/null || break
	done
	__cp_child=
	if [ -n "$__cp_int" ]; then
		printf '{"msg_type":"error","ename":"Interrupted","evalue":"the cell was interrupted","traceback":[]}\n' >&4
		printf '{"msg_type":"execute_reply","status":"error","exit_code":130}\n' >&4
		continue
	fi
	if [ -s "$__cp_dir/cwd" ]; then
		. "$__cp_dir/state" >/dev/null 2>&1
		cd "$(cat "$__cp_dir/cwd")" 2>/dev/null
		rm -f "$__cp_dir/state" "$__cp_dir/cwd"
	fi
	printf '{"msg_type":"execute_reply","status":"ok","exit_code":%d}\n' "$__cp_rc" >&4
done
