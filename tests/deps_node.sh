#!/bin/sh
# deps_node.sh - the Node.js and the official Node SDKs (openai,
# @anthropic-ai/sdk, @google/genai) that the sdk-node-* integration tests run
# under the shim.  Called by deps.sh; idempotent, everything cached under
# build/node (TG_NODE_DIR).
#
# Owns: which node runs the SDKs and how it is obtained, and installing the
# SDKs from the committed lock.
#
# The shim hooks the system libssl, so the node must link it: Debian 12's
# own nodejs (18, with libnode108) does; a node built with OpenSSL inside
# (nodesource's, nodejs.org's) is invisible to the shim.  Debian's nodejs
# cannot be installed beside another nodejs package, so its packages are
# downloaded with apt-get (checked against the archive's signed indexes as
# any install is) and unpacked into build/node/root, run with
# LD_LIBRARY_PATH.  libnode reads some built-in modules (undici, acorn,
# cjs-module-lexer) from /usr/share/nodejs, a path compiled in: the test
# run lays build/node/root/usr/share over /usr/share inside its own mount
# namespace (tg_node_mount in integration/netns.sh), nothing is written
# outside build/.
#
# The SDKs: the last releases that support Node 18, pinned with their
# dependencies in integration/clients/node/package-lock.json, whose sha512
# integrity npm ci verifies for every tarball.  npm is the machine's; where
# there is none and no other nodejs (plain Debian 12), Debian's npm is
# installed as root.
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
DIR=${TG_NODE_DIR:-$TOP/build/node}
LOCK=$TOP/tests/integration/clients/node
# Debian 12's nodejs major version; libnode's soname goes with it.
MAJOR=18
PKGS="libnode108 libc-ares2 node-undici node-acorn node-cjs-module-lexer"

say() { echo "tokenguard: deps_node: $*" >&2; }

install_node() {
	ver=$(apt-cache madison nodejs | awk -F'|' -v m="$MAJOR" \
		'{ v = $2; gsub(/ /, "", v) } index(v, m ".") == 1 { print v; exit }')
	if [ -z "$ver" ]; then
		say "apt-cache knows no nodejs $MAJOR.x (Debian 12's): run apt-get update"
		exit 2
	fi
	say "Debian's nodejs $ver into $DIR/root"
	rm -rf "$DIR/debs" "$DIR/root.new"
	mkdir -p "$DIR/debs" "$DIR/root.new"
	# libnode108 must be the build of the same nodejs version.
	pkgs=$(echo "$PKGS" | sed "s/libnode108/libnode108=$ver/")
	# As root apt drops to _apt, who cannot write here.
	sandbox=
	[ "$(id -u)" -ne 0 ] || sandbox="-o APT::Sandbox::User=root"
	# shellcheck disable=SC2086  # one argument per package or option
	(cd "$DIR/debs" && apt-get download -q $sandbox "nodejs=$ver" $pkgs >/dev/null)
	for deb in "$DIR"/debs/*.deb; do
		dpkg-deb -x "$deb" "$DIR/root.new"
	done
	rm -rf "$DIR/root"
	mv "$DIR/root.new" "$DIR/root"
}

# The node links the system's libssl, not one of its own.
check_node() {
	libs=$(dirname "$(find "$DIR/root/usr/lib" -name 'libnode.so.*' | head -n 1)")
	ssl=$(LD_LIBRARY_PATH=$libs ldd "$DIR/root/usr/bin/node" | awk '$1 == "libssl.so.3" { print $3 }')
	case $ssl in
	/lib/* | /usr/lib/*) ;;
	*)
		say "$DIR/root/usr/bin/node does not load the system libssl.so.3 (got '$ssl')"
		exit 2
		;;
	esac
}

install_sdks() {
	if ! command -v npm >/dev/null 2>&1; then
		if [ "$(id -u)" -ne 0 ]; then
			say "no npm: install one (as root: apt-get install npm), then rerun"
			exit 2
		fi
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
	fi
	say "the SDKs of $LOCK/package-lock.json into $DIR/sdk"
	rm -rf "$DIR/sdk"
	mkdir -p "$DIR/sdk"
	cp "$LOCK/package.json" "$LOCK/package-lock.json" "$LOCK/.npmrc" "$DIR/sdk/"
	(cd "$DIR/sdk" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
	cp "$LOCK/package-lock.json" "$DIR/sdk/installed.lock"
}

mkdir -p "$DIR"
[ -x "$DIR/root/usr/bin/node" ] || install_node
check_node
cmp -s "$LOCK/package-lock.json" "$DIR/sdk/installed.lock" 2>/dev/null || install_sdks
