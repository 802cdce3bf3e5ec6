#!/usr/bin/env python3
"""A token service for docker-registry's "token" auth, for the registry
client's Bearer tests: docker-registry validates tokens but cannot issue
them.

Usage: registry_token_server.py DIR

Writes DIR/key.pem and DIR/cert.pem (the registry's rootcertbundle), listens
on a free port of 127.0.0.1 and writes that port to DIR/port. GET /token
with service and scope query parameters returns an RS256-signed JWT. The
user alice (password "secret") gets pull and push on every repository,
anonymous requests get pull; other credentials get 401. Each token request
is appended to DIR/requests.log as "USER SCOPE" ("-" for anonymous).
Anonymous responses carry only "access_token", authenticated ones only
"token", so that clients are tested with both field names.
"""
import base64
import http.server
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.parse
import uuid

ISSUER = "cbuild-test-issuer"
USERS = {"alice": "secret"}
TOKEN_LIFETIME_S = 300


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_key(directory):
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=cbuild-test-token",
         "-keyout", os.path.join(directory, "key.pem"),
         "-out", os.path.join(directory, "cert.pem")],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(os.path.join(directory, "cert.pem")) as f:
        return base64.b64encode(ssl.PEM_cert_to_DER_cert(f.read())).decode()


def sign(directory, data):
    result = subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", os.path.join(directory, "key.pem")],
        input=data, check=True, stdout=subprocess.PIPE)
    return result.stdout


def granted_access(scope, user):
    allowed = {"pull", "push"} if user else {"pull"}
    parts = scope.split(":")
    if len(parts) != 3 or parts[0] != "repository":
        return []
    actions = [a for a in parts[2].split(",") if a in allowed]
    return [{"type": "repository", "name": parts[1], "actions": actions}]


def make_token(directory, cert_der, service, scope, user):
    now = int(time.time())
    header = {"typ": "JWT", "alg": "RS256", "x5c": [cert_der]}
    claims = {"iss": ISSUER, "sub": user or "", "aud": service, "exp": now + TOKEN_LIFETIME_S,
              "nbf": now - 10, "iat": now, "jti": str(uuid.uuid4()),
              "access": granted_access(scope, user) if scope else []}
    signing_input = (b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())).encode()
    return signing_input.decode() + "." + b64url(sign(directory, signing_input))


class Handler(http.server.BaseHTTPRequestHandler):
    directory = None
    cert_der = None

    def log_message(self, *args):
        pass

    def user(self):
        """Returns (ok, user): user is None for anonymous requests."""
        header = self.headers.get("Authorization", "")
        if not header:
            return True, None
        if not header.startswith("Basic "):
            return False, None
        try:
            name, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False, None
        return USERS.get(name) == password, name

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        ok, user = self.user()
        scope = query.get("scope", [""])[0]
        with open(os.path.join(self.directory, "requests.log"), "a") as log:
            log.write("%s %s\n" % (user or "-", scope))
        if url.path != "/token":
            self.send_error(404)
            return
        if not ok:
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"details":"incorrect username or password"}')
            return
        token = make_token(self.directory, self.cert_der, query.get("service", [""])[0], scope, user)
        field = "token" if user else "access_token"
        body = json.dumps({field: token, "expires_in": TOKEN_LIFETIME_S}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    directory = sys.argv[1]
    Handler.directory = directory
    Handler.cert_der = make_key(directory)
    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    port_file = os.path.join(directory, "port")
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
