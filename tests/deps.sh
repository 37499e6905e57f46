#!/bin/sh
# deps.sh - install the Debian packages tokenguard builds and tests with.
# Installs only what is missing; as non-root, prints the apt-get line to run.
# Then deps_node.sh: Debian's nodejs and the Node SDKs, under build/node.
set -eu

PKGS="build-essential pkg-config man-db groff-base clang libclang-rt-14-dev patchelf libssl-dev liblmdb-dev lmdb-utils libcriterion-dev \
zlib1g-dev libbrotli-dev libzstd-dev libnghttp2-dev libcurl4-openssl-dev protobuf-compiler python3-protobuf openssl curl iproute2 util-linux \
python3 python3-h2 tzdata python3-httpx python3-aiohttp python3-requests python3-brotli python3-zstandard prometheus \
chromium fonts-dejavu-core cppcheck clang-tidy clang-format libhiredis-dev redis-server postgresql libpq-dev"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exec sh "$(dirname "$0")/deps_node.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "tokenguard: missing Debian packages:$missing" >&2
	echo "tokenguard: run as root: apt-get update && apt-get install -y$missing" >&2
	exit 2
fi
echo "tokenguard: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
exec sh "$(dirname "$0")/deps_node.sh"
