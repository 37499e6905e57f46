"""urllib_client.py - the standard library's urllib as a test client: one
connection per exchange, no content decoding, bodies read as they arrive.
Usage: see common.py."""

import ssl
import sys
import urllib.error
import urllib.request

from common import Args, Output


def main(argv):
    args = Args(argv)
    if args.http != "1.1" or args.parallel:
        sys.exit("urllib speaks HTTP/1.1, one exchange at a time")
    out = Output(args.out)
    ctx = ssl.create_default_context(cafile=args.cafile)
    for ex in args.exchanges:
        req = urllib.request.Request(ex.url, data=ex.body, headers=ex.headers,
                                     method=ex.method)
        status, body, err = None, bytearray(), None
        try:
            try:
                resp = urllib.request.urlopen(req, context=ctx, timeout=60)
            except urllib.error.HTTPError as e:
                resp = e
            status = resp.status
            while True:
                piece = resp.read1(65536)
                if not piece:
                    break
                body += piece
            resp.close()
        except Exception as e:
            err = e
        out.add(status, body, err)
    return out.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
