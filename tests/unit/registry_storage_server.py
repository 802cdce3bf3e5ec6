#!/usr/bin/env python3
"""A static file server in place of the object storage (such as S3) that
a registry redirects blob downloads to, for the registry client's redirect
test. docker-registry's "redirect" storage middleware sends
clients here.

Usage: registry_storage_server.py DIR

Serves the files under DIR on a free port of 127.0.0.1 and writes that
port to DIR.port. Each request is appended to DIR.log as
"METHOD PATH auth" when it carried an Authorization header and as
"METHOD PATH -" otherwise, so that the test can check that registry
credentials never reach the storage host.
"""
import functools
import http.server
import os
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    log_path = None

    def log_message(self, *args):
        pass

    def record(self):
        with open(self.log_path, "a") as log:
            log.write("%s %s %s\n" % (self.command, self.path,
                                      "auth" if "Authorization" in self.headers else "-"))

    def do_GET(self):
        self.record()
        super().do_GET()

    def do_HEAD(self):
        self.record()
        super().do_HEAD()


def main():
    directory = sys.argv[1]
    Handler.log_path = directory + ".log"
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=directory))
    with open(directory + ".port.tmp", "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(directory + ".port.tmp", directory + ".port")
    server.serve_forever()


if __name__ == "__main__":
    main()
