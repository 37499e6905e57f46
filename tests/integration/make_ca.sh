#!/bin/sh
# make_ca.sh DIR [HOST...] - a throwaway CA and one server certificate for
# every provider hostname the fake provider answers for, plus HOSTs (the
# hosts named by the cases files, e.g. a regional Bedrock endpoint).
#
# Owns: DIR/ca.pem (trust anchor handed to the clients), DIR/server.pem and
# DIR/server.key (served by fake_provider.py).  Made fresh for each run and
# valid two days, so a leaked file is worthless; never committed.
set -eu

[ $# -ge 1 ] || { echo "usage: $0 DIR [HOST...]" >&2; exit 2; }
dir=$1
shift
mkdir -p "$dir"
cd "$dir"

# Kept in step with HOSTS in fake_provider.py.
sans="IP:127.0.0.1,DNS:*.openai.azure.com"
for h in api.openai.com api.anthropic.com generativelanguage.googleapis.com \
	myres.openai.azure.com bedrock-runtime.us-east-1.amazonaws.com \
	api.cohere.com api.mistral.ai api.groq.com api.x.ai api.together.xyz \
	api.fireworks.ai api.perplexity.ai api.deepseek.com openrouter.ai localhost "$@"; do
	case $h in *[!0-9.]*) ;; *) continue ;; esac  # addresses: IP:127.0.0.1 above
	case ",$sans," in *",DNS:$h,"*) ;; *) sans="$sans,DNS:$h" ;; esac
done

# EC P-256 keys: generation is instant, which matters on a shared 2-core box.
openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
openssl req -x509 -new -key ca.key -sha256 -days 2 -out ca.pem \
	-subj "/CN=tokenguard test CA" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

openssl ecparam -name prime256v1 -genkey -noout -out server.key 2>/dev/null
openssl req -new -key server.key -subj "/CN=api.openai.com" -out server.csr 2>/dev/null
cat > server.ext <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
subjectAltName=$sans
EXT
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
	-days 2 -sha256 -extfile server.ext -out server.pem 2>/dev/null
rm -f server.csr server.ext ca.srl
chmod 600 ca.key server.key
