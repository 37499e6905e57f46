"""gunzip_client.py - a Python program that receives a gzip response over
urllib and decodes it itself, as it streams, never holding it whole: what a
program fetching a large compressed body does.  Prints the status, the
decoded length and its SHA-256, so two runs can be compared without keeping
a gigabyte.

Usage: gunzip_client.py METHOD URL BODYFILE ["Name: value"]...  (the CA to
trust is $SSL_CERT_FILE)."""

import hashlib
import os
import ssl
import sys
import urllib.request
import zlib

from clientlib import read_exchange


def main(argv):
    method, url, body, headers = read_exchange(argv)
    req = urllib.request.Request(url, data=body, headers=dict(headers), method=method)
    req.add_header("Accept-Encoding", "gzip")
    ctx = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    resp = urllib.request.urlopen(req, context=ctx, timeout=120)
    inflate = zlib.decompressobj(31)
    digest, total = hashlib.sha256(), 0
    while True:
        piece = resp.read1(65536)
        if not piece:
            break
        out = inflate.decompress(piece)
        digest.update(out)
        total += len(out)
    out = inflate.flush()
    digest.update(out)
    total += len(out)
    print("status %d encoding %s decoded %d sha256 %s"
          % (resp.status, resp.headers.get("Content-Encoding"), total, digest.hexdigest()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
