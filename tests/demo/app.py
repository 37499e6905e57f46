"""app.py - a small program of the kind tokenguard watches: it asks
Anthropic for a streamed answer and Gemini for a plain one, with nothing but
the standard library and no idea that anything is counting its tokens.

The demo runs it under LD_PRELOAD=libtokenguard.so against the local fake
provider; the keys below are placeholders the fake provider accepts.
"""

import json
import os
import urllib.request


def post(url, headers, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"content-type": "application/json", **headers})
    return urllib.request.urlopen(req, timeout=30)


def ask_anthropic(question):
    resp = post("https://api.anthropic.com/v1/messages",
                {"x-api-key": os.environ.get("ANTHROPIC_API_KEY", "sk-ant-demo"),
                 "anthropic-version": "2023-06-01"},
                {"model": "claude-sonnet-4-5", "max_tokens": 256, "stream": True,
                 "messages": [{"role": "user", "content": question}]})
    text = []
    with resp:
        for raw in resp:  # server-sent events, one line at a time as they arrive
            line = raw.decode().rstrip("\r\n")
            if not line.startswith("data:"):
                continue
            event = json.loads(line[5:])
            if event.get("type") == "content_block_delta":
                text.append(event["delta"].get("text", ""))
    return "".join(text)


def ask_gemini(question):
    resp = post("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent",
                {"x-goog-api-key": os.environ.get("GEMINI_API_KEY", "gemini-demo")},
                {"contents": [{"role": "user", "parts": [{"text": question}]}]})
    with resp:
        doc = json.load(resp)
    return "".join(p.get("text", "") for p in doc["candidates"][0]["content"]["parts"])


def main():
    answer = ask_anthropic("Why is the sky blue? One sentence.")
    print("    anthropic (streamed): " + " ".join(answer.split())[:100])
    answer = ask_gemini("Why is the sky blue? One sentence.")
    print("    gemini:               " + " ".join(answer.split())[:100])


if __name__ == "__main__":
    main()
