"""httpx_client.py - httpx as a test client, HTTP/1.1 or (HTTPVER 2, with
the h2 package) HTTP/2.  One Client, so exchanges share a connection; bodies
streamed and decoded the way httpx decodes them.  Usage: see common.py."""

import ssl
import sys

import httpx

from common import Args, Output


def main(argv):
    args = Args(argv)
    if args.parallel:
        sys.exit("httpx_client runs exchanges one at a time")
    out = Output(args.out)
    ctx = ssl.create_default_context(cafile=args.cafile)
    with httpx.Client(http2=args.http == "2", verify=ctx, timeout=60) as client:
        for ex in args.exchanges:
            status, body, err = None, bytearray(), None
            try:
                with client.stream(ex.method, ex.url, content=ex.body,
                                   headers=ex.headers) as r:
                    status = r.status_code
                    for piece in r.iter_bytes():
                        body += piece
            except Exception as e:
                err = e
            out.add(status, body, err)
    return out.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
