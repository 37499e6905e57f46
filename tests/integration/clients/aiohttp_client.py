"""aiohttp_client.py - aiohttp as a test client.  asyncio drives TLS through
an SSLObject over memory BIOs, not a socket, which is the path this client
exists to cover.  One ClientSession (kept-alive connections); --parallel
runs the exchanges concurrently.  Usage: see common.py."""

import asyncio
import ssl
import sys

import aiohttp
import yarl

from common import Args, Output


async def exchange(session, ctx, ex):
    status, body, err = None, bytearray(), None
    try:
        # encoded=True: send the path as given (%3A in a Bedrock model id
        # stays %3A), as the providers' SDKs do.
        url = yarl.URL(ex.url, encoded=True)
        async with session.request(ex.method, url, data=ex.body, headers=ex.headers,
                                   ssl=ctx) as r:
            status = r.status
            async for piece in r.content.iter_any():
                body += piece
    except Exception as e:
        err = e
    return status, body, err


async def run(args, out):
    ctx = ssl.create_default_context(cafile=args.cafile)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        if args.parallel:
            results = await asyncio.gather(*(exchange(session, ctx, ex)
                                             for ex in args.exchanges))
        else:
            results = [await exchange(session, ctx, ex) for ex in args.exchanges]
    for status, body, err in results:
        out.add(status, body, err)


def main(argv):
    args = Args(argv)
    if args.http != "1.1":
        sys.exit("aiohttp speaks HTTP/1.1")
    out = Output(args.out)
    asyncio.run(run(args, out))
    return out.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
