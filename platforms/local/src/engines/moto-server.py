"""moto's WSGI app (what moto_server serves) under waitress, which keeps connections open.

moto_server runs Werkzeug's development server, which closes the connection after every
answer: every AWS call of the lab then costs a TCP handshake through its Toxiproxy link and a new
server thread (seen: one connection per Kinesis poll, thousands an hour per consumer). waitress
(ZPL 2.1, pure Python) serves the same app with HTTP/1.1 keep-alive from a fixed pool of threads,
in one process, so moto's in-memory state is shared as before.

Usage: python moto-server.py HOST PORT
"""

import logging
import sys

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from waitress import serve


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    # waitress warns each time a request waits for a free thread: under load that is a line per
    # request on the hot path, and the queue is moto's known limit, not news.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    app = DomainDispatcherApplication(create_backend_app)
    # moto is CPU-bound Python under one GIL: a few threads overlap I/O, more only contend.
    serve(app, host=host, port=port, threads=4, connection_limit=200, channel_timeout=120, ident="moto")


if __name__ == "__main__":
    main()
