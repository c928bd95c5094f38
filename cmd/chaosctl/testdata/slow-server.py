# A user's service for the control-run tests: answers every GET with 200
# after DELAY_MS milliseconds (0 by default), on 127.0.0.1:PORT.
import http.server
import os
import sys
import time

DELAY = float(os.environ.get("DELAY_MS", "0")) / 1000


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(DELAY)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
