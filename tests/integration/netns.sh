# netns.sh - sourced by run.sh and demo.sh: a private network and mount
# namespace in which every provider hostname is this machine, with the fake
# provider listening on 127.0.0.1:443.
#
# Owns: entering the namespace (tg_netns_enter), the hosts file and the
# throwaway CA (tg_netns_setup), the fake provider's life (tg_fake_start,
# tg_fake_stop), Debian's nodejs in it (tg_node_mount).  Inside the
# namespace only lo exists, so nothing a test runs can reach a real provider
# whatever the hosts file says.
#
# Callers set TG_TOP (the source tree) before sourcing.  Everything defined
# here starts with tg_ or TG_ so it cannot clobber the caller's variables.

TG_PY=/usr/bin/python3
TG_IT=$TG_TOP/tests/integration

# tg_netns_enter "$0" "$@": re-executes the calling script inside a fresh
# network+mount namespace; returns only when already inside.
tg_netns_enter() {
	[ "${TG_NETNS_INSIDE:-}" = 1 ] && return 0
	tg_script=$1
	shift
	if [ "$(id -u)" -eq 0 ] && unshare -n -m --propagation private true 2>/dev/null; then
		TG_NETNS_INSIDE=1 exec unshare -n -m --propagation private sh "$tg_script" "$@"
	fi
	# Without root, a user namespace gives the same isolation where the
	# kernel allows unprivileged ones.
	if unshare -r -n -m --propagation private true 2>/dev/null; then
		TG_NETNS_INSIDE=1 exec unshare -r -n -m --propagation private sh "$tg_script" "$@"
	fi
	echo "$tg_script: needs a private network namespace to keep test traffic off the" >&2
	echo "$tg_script: real providers: run as root, or allow unprivileged user namespaces" >&2
	echo "$tg_script: (sysctl kernel.unprivileged_userns_clone=1)" >&2
	exit 2
}

# tg_netns_setup DIR CASES...: lo up, every served hostname mapped to
# 127.0.0.1 over /etc/hosts, a fresh CA in DIR/ca.
tg_netns_setup() {
	tg_dir=$1
	shift
	if [ "$(ip -o link show | grep -vc ': lo:')" -ne 0 ]; then
		echo "tokenguard tests: refusing to run: a network interface other than lo is visible" >&2
		exit 2
	fi
	ip link set lo up
	tg_hosts=$("$TG_PY" "$TG_IT/fake_provider.py" "$@" --print-hosts | tr '\n' ' ')
	{
		echo "127.0.0.1 localhost"
		for tg_h in $tg_hosts; do
			[ "$tg_h" = localhost ] || [ "$tg_h" = 127.0.0.1 ] || echo "127.0.0.1 $tg_h"
		done
	} >"$tg_dir/hosts"
	mount --bind "$tg_dir/hosts" /etc/hosts
	# One argument per hostname: the list is split on purpose.
	# shellcheck disable=SC2086
	sh "$TG_IT/make_ca.sh" "$tg_dir/ca" $tg_hosts
}

# tg_fake_start DIR CASES...: starts the fake provider on port 443 and waits
# until it listens.  Sets TG_FAKE_PID; its log is DIR/provider.log (one JSON
# line per request) and its stderr DIR/provider.err.
tg_fake_start() {
	tg_dir=$1
	shift
	rm -f "$tg_dir/provider.ready"
	"$TG_PY" "$TG_IT/fake_provider.py" --port 443 \
		--cert "$tg_dir/ca/server.pem" --key "$tg_dir/ca/server.key" \
		--log "$tg_dir/provider.log" --ready-file "$tg_dir/provider.ready" \
		"$@" 2>"$tg_dir/provider.err" &
	TG_FAKE_PID=$!
	tg_i=0
	while [ ! -e "$tg_dir/provider.ready" ]; do
		if ! kill -0 "$TG_FAKE_PID" 2>/dev/null || [ $tg_i -ge 200 ]; then
			echo "tokenguard tests: the fake provider did not start:" >&2
			cat "$tg_dir/provider.err" >&2
			return 1
		fi
		sleep 0.1
		tg_i=$((tg_i + 1))
	done
}

tg_fake_stop() {
	if [ -n "${TG_FAKE_PID:-}" ]; then
		kill -TERM "$TG_FAKE_PID" 2>/dev/null || true
		wait "$TG_FAKE_PID" 2>/dev/null || true
		TG_FAKE_PID=
	fi
}

# tg_node_mount NODE_DIR: makes the Debian nodejs that tests/deps_node.sh
# unpacked into NODE_DIR/root runnable in this namespace: libnode reads its
# externalized built-in modules (undici, acorn, cjs-module-lexer) from
# /usr/share/nodejs, a path compiled in, so NODE_DIR/root/usr/share is laid
# over /usr/share, read-only, in this mount namespace only.  Nothing when
# the node is not there (the sdk-node-* tests then fail saying so).
tg_node_mount() {
	[ -d "$1/root/usr/share/nodejs" ] || return 0
	mount -t overlay tg-node -o "ro,lowerdir=$1/root/usr/share:/usr/share" /usr/share
}
