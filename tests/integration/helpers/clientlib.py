"""clientlib.py - what the Python programs in helpers/ share.

Owns: reading one exchange of a plan, given in the harness's argv form
[METHOD, URL, BODYFILE, "Name: value", ...] (BODYFILE "-": no body).  Each
program turns the result into what its client library takes.
"""


def read_exchange(ex):
    """(method, url, body bytes or None, [(name, value), ...]) of ex, the
    headers in the order given."""
    method, url, body_file = ex[0], ex[1], ex[2]
    body = None
    if body_file != "-":
        with open(body_file, "rb") as f:
            body = f.read()
    headers = []
    for h in ex[3:]:
        k, v = h.split(":", 1)
        headers.append((k.strip(), v.strip()))
    return method, url, body, headers
