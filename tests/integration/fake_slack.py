#!/usr/bin/python3
"""A fake Slack for svrelay's integration tests (stdlib only).

Serves on 127.0.0.1 (port 0: the kernel picks; the port is printed and,
with --port-file, written to a file):

  POST /services/T000/B000/XXXX   incoming webhook: 200 "ok"
  POST /api/chat.postMessage      Web API: 200 {"ok":true,"channel":…,"ts":…}
  POST /api/chat.update           Web API: needs channel and ts
  POST --webhook PATH             more incoming webhooks (repeatable)
  other webhook paths             404 "no_service"

The API checks "Authorization: Bearer TOKEN" (--token) and answers
{"ok":false,"error":"invalid_auth"} when it is wrong or missing.

Every request is logged as one JSON line to --log: time (Unix seconds,
float), method, path, headers (all of them), body, and what was answered
("answer": the HTTP status, or "hang"/"close"; "reply": the body sent).

Faults, scripted by POST /_control (a JSON object or list of them), or
by --script FILE (the same JSON) at start; POST /_control/reset clears
them.  Each fault applies to the next "count" requests (default: every
request) and/or for "seconds" from when it was set, then expires:

  {"fault":"status","status":500,"body":"rollup_error","seconds":25}
  {"fault":"ratelimit","retry_after":4,"count":1}
  {"fault":"hang","count":1}            never answer (until --hang-max)
  {"fault":"close","count":1}           close the connection unanswered
  {"fault":"garbage","count":1}         200 with a body that is not Slack's
  {"fault":"api_error","error":"invalid_auth"}   ok:false (API), or the
                                        matching text error (webhook)
Optional "path": only requests whose path starts with it.
"""

import argparse
import http.server
import json
import os
import sys
import threading
import time

WEBHOOK_PATH = "/services/T000/B000/XXXX"

# Webhook answers for API-style error names (Slack's documented codes).
WEBHOOK_ERRORS = {
    "invalid_auth": (403, "invalid_token"),
    "invalid_token": (403, "invalid_token"),
    "action_prohibited": (403, "action_prohibited"),
    "channel_not_found": (404, "channel_not_found"),
    "no_service": (404, "no_service"),
    "channel_is_archived": (410, "channel_is_archived"),
    "is_archived": (410, "channel_is_archived"),
    "invalid_payload": (400, "invalid_payload"),
    "no_text": (400, "no_text"),
    "rollup_error": (500, "rollup_error"),
}


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.faults = []
        self.log = open(args.log, "a", encoding="utf-8") if args.log else None
        self.token = args.token
        self.hang_max = args.hang_max
        self.webhooks = set([WEBHOOK_PATH] + (args.webhook or []))
        self.ts = 1700000000.000100
        self.stopping = threading.Event()

    def add_faults(self, spec):
        if isinstance(spec, dict):
            spec = [spec]
        now = time.time()
        with self.lock:
            for f in spec:
                f = dict(f)
                if "seconds" in f:
                    f["until"] = now + float(f["seconds"])
                self.faults.append(f)

    def take_fault(self, path):
        now = time.time()
        with self.lock:
            for f in list(self.faults):
                if "until" in f and now >= f["until"]:
                    self.faults.remove(f)
                    continue
                if "path" in f and not path.startswith(f["path"]):
                    continue
                if "count" in f:
                    f["count"] -= 1
                    if f["count"] <= 0:
                        self.faults.remove(f)
                return f
        return None

    def next_ts(self):
        with self.lock:
            self.ts += 0.000100
            return "%.6f" % self.ts

    def record(self, entry):
        if self.log is None:
            return
        with self.lock:
            self.log.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self.log.flush()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"	# keep-alive: svrelayd reuses connections
    server_version = "fake-slack/1"
    # Headers and body go out in separate writes: without TCP_NODELAY the
    # body waits for the client's delayed ACK (40 ms a request).
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    def _read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _answer(self, status, body, ctype="text/plain", headers=None):
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.reply = data.decode("utf-8", errors="replace")
        return status

    def _json(self, obj, status=200):
        return self._answer(status, json.dumps(obj), "application/json")

    def do_GET(self):
        self._answer(404, "not_found")

    def do_POST(self):
        st = self.server.state
        t = time.time()
        raw = self._read_body()
        if self.path.startswith("/_control"):
            if self.path == "/_control/reset":
                with st.lock:
                    st.faults = []
            else:
                try:
                    st.add_faults(json.loads(raw.decode("utf-8")))
                except ValueError as e:
                    self._answer(400, "bad control: %s" % e)
                    return
            self._answer(200, "ok")
            return
        body = raw.decode("utf-8", errors="replace")
        entry = {
            "time": t,
            "client_port": self.client_address[1],
            "method": "POST",
            "path": self.path,
            "headers": dict(self.headers.items()),
            "body": body,
        }
        api = self.path.startswith("/api/")
        fault = st.take_fault(self.path)
        answered = None
        kind = fault.get("fault") if fault else None
        if kind == "hang":
            entry["answer"] = "hang"
            st.record(entry)
            # Never answer: wait until the client gives up or we stop.
            st.stopping.wait(float(fault.get("hang_seconds", st.hang_max)))
            self.close_connection = True
            return
        if kind == "close":
            entry["answer"] = "close"
            st.record(entry)
            self.close_connection = True
            return
        if kind == "status":
            answered = self._answer(int(fault["status"]),
                                    fault.get("body", "internal_error"))
        elif kind == "ratelimit":
            ra = str(fault.get("retry_after", 1))
            if api:
                answered = self._answer(
                    429, json.dumps({"ok": False, "error": "ratelimited"}),
                    "application/json", {"Retry-After": ra})
            else:
                answered = self._answer(429, "rate_limited",
                                        headers={"Retry-After": ra})
        elif kind == "garbage":
            answered = self._answer(200, "<html>Service Temporarily "
                                    "Unavailable</html>", "text/html")
        elif kind == "api_error":
            err = fault.get("error", "internal_error")
            if api:
                answered = self._json({"ok": False, "error": err})
            else:
                code, text = WEBHOOK_ERRORS.get(err, (400, err))
                answered = self._answer(code, text)
        elif api:
            answered = self._api(body)
        elif self.path in st.webhooks:
            answered = self._webhook(body)
        else:
            answered = self._answer(404, "no_service")
        entry["answer"] = answered
        entry["reply"] = getattr(self, "reply", "")
        st.record(entry)

    def _webhook(self, body):
        try:
            msg = json.loads(body)
        except ValueError:
            return self._answer(400, "invalid_payload")
        if not isinstance(msg, dict):
            return self._answer(400, "invalid_payload")
        if not msg.get("text") and not msg.get("blocks") \
                and not msg.get("attachments"):
            return self._answer(400, "no_text")
        return self._answer(200, "ok")

    def _api(self, body):
        st = self.server.state
        auth = self.headers.get("Authorization", "")
        if not auth:
            return self._json({"ok": False, "error": "not_authed"})
        if auth != "Bearer " + (st.token or ""):
            return self._json({"ok": False, "error": "invalid_auth"})
        method = self.path[len("/api/"):]
        try:
            msg = json.loads(body)
        except ValueError:
            return self._json({"ok": False, "error": "invalid_json"})
        if not isinstance(msg, dict):
            return self._json({"ok": False, "error": "json_not_object"})
        channel = msg.get("channel")
        if not channel:
            return self._json({"ok": False, "error": "channel_not_found"})
        if method == "chat.postMessage":
            if not msg.get("text") and not msg.get("blocks") \
                    and not msg.get("attachments"):
                return self._json({"ok": False, "error": "no_text"})
            return self._json({"ok": True, "channel": "C0FAKE",
                               "ts": st.next_ts(),
                               "message": {"text": msg.get("text", "")}})
        if method == "chat.update":
            if not msg.get("ts"):
                return self._json({"ok": False,
                                   "error": "message_not_found"})
            return self._json({"ok": True, "channel": "C0FAKE",
                               "ts": msg["ts"], "text": msg.get("text")})
        return self._json({"ok": False, "error": "unknown_method"}, 404)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--log")
    ap.add_argument("--token", default="xoxb-test-token")
    ap.add_argument("--script", help="JSON faults to start with")
    ap.add_argument("--hang-max", type=float, default=3600.0)
    ap.add_argument("--webhook", action="append",
                    help="another webhook path to accept")
    args = ap.parse_args()

    srv = Server(("127.0.0.1", args.port), Handler)
    srv.state = State(args)
    if args.script:
        with open(args.script, encoding="utf-8") as f:
            srv.state.add_faults(json.load(f))
    port = srv.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    print(port, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.state.stopping.set()


if __name__ == "__main__":
    sys.exit(main())
