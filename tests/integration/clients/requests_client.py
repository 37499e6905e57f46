"""requests_client.py - python-requests as a test client: one Session, so
several exchanges share a kept-alive connection; bodies streamed and decoded
the way requests decodes them.  Usage: see common.py."""

import sys

import requests

from common import Args, Output


def main(argv):
    args = Args(argv)
    if args.http != "1.1" or args.parallel:
        sys.exit("requests speaks HTTP/1.1, one exchange at a time")
    out = Output(args.out)
    with requests.Session() as session:
        for ex in args.exchanges:
            status, body, err = None, bytearray(), None
            try:
                with session.request(ex.method, ex.url, data=ex.body, headers=ex.headers,
                                     verify=args.cafile, stream=True, timeout=60) as r:
                    status = r.status_code
                    for piece in r.iter_content(chunk_size=None):
                        body += piece
            except Exception as e:
                err = e
            out.add(status, body, err)
    return out.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
