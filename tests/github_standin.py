"""A stand-in for the few GitHub REST endpoints the generated workflows call (issue comments),
served on loopback so act runs can post the model review. It records what it was sent."""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LIST_OR_CREATE = re.compile(r"^/repos/([^/]+/[^/]+)/issues/(\d+)/comments$")
UPDATE = re.compile(r"^/repos/([^/]+/[^/]+)/issues/comments/(\d+)$")


class GitHubStandIn:
    def __init__(self, token: str):
        self.token = token
        self.comments: list[dict] = []  # {"id", "repo", "issue", "body"}
        self.requests: list[tuple[str, str]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, status: int, payload) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def handle_one(self, method: str) -> None:
                path = self.path.split("?", 1)[0]
                standin.requests.append((method, path))
                if self.headers.get("Authorization") != f"Bearer {standin.token}":
                    return self.reply(401, {"message": "Bad credentials"})
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or "null")
                if (match := LIST_OR_CREATE.match(path)) and method == "GET":
                    repo, issue = match.groups()
                    found = [c for c in standin.comments if (c["repo"], c["issue"]) == (repo, int(issue))]
                    return self.reply(200, found)
                if (match := LIST_OR_CREATE.match(path)) and method == "POST":
                    repo, issue = match.groups()
                    comment = {
                        "id": len(standin.comments) + 1,
                        "repo": repo,
                        "issue": int(issue),
                        "body": body["body"],
                    }
                    standin.comments.append(comment)
                    return self.reply(201, comment)
                if (match := UPDATE.match(path)) and method == "PATCH":
                    for comment in standin.comments:
                        if comment["id"] == int(match.group(2)):
                            comment["body"] = body["body"]
                            return self.reply(200, comment)
                return self.reply(404, {"message": "Not Found"})

            def do_GET(self):
                self.handle_one("GET")

            def do_POST(self):
                self.handle_one("POST")

            def do_PATCH(self):
                self.handle_one("PATCH")

        return Handler
