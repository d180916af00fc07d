#!/usr/bin/env python3
"""A real SMTP server (aiosmtpd) for the delivery tests and the benchmark, rude on request.

Listens on 127.0.0.1 on a free port, prints the port on stdout, and exits when its stdin closes (children
of the Swift test runner inherit blocked signals, so a signal may never arrive).

Default: STARTTLS offered and required before AUTH (certificate from Tests/fakes/tls), AUTH PLAIN/LOGIN
required before MAIL, every recipient accepted. Every event is appended as one JSON line to --log:
  {"event": "connect", "conn": N}
  {"event": "starttls", "conn": N}
  {"event": "auth", "conn": N, "ok": true|false}
  {"event": "refused", "conn": N, "rcpt": ..., "code": 451|550}
  {"event": "message", "conn": N, "from": ..., "rcpts": [...], "message_id": ..., "bytes": N, "sha256": ...}
  {"event": "dropped", "conn": N, "rcpts": [...]}      (a connection cut mid-DATA on purpose)
A "message" line is written and flushed *before* the 250 goes out, so a client that saw the 250 can read
it. Tests assert on these lines: per recipient exactly the messages expected, and how many connections.

Faults (off by default):
  --connect-421 N        the first N connections get "421" instead of the greeting, then are closed
  --rcpt-451 ADDR:N      the first N RCPT TO:<ADDR> get "451" (greylisting), later ones are accepted
  --rcpt-550 ADDR        RCPT TO:<ADDR> always gets "550 no such user"
  --drop-data N          the Nth DATA (counted over the server's life, from 1) reads a few lines of the
                         message and then closes the connection without an answer (repeatable)
  --no-starttls          STARTTLS not offered (a client requiring it must refuse to go on)
  --smtps                TLS from the first byte (implicit TLS, for smtps:// URLs)
  --keep-content         add the message bytes (as latin-1 text) to each "message" line
  --user U --password P  the credentials AUTH accepts (defaults below); anything else gets 535
"""
import argparse
import asyncio
import hashlib
import json
import os
import ssl
import sys
import threading

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

HERE = os.path.dirname(os.path.abspath(__file__))
TLS = os.path.join(HERE, "tls")


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--log", required=True)
    p.add_argument("--connect-421", type=int, default=0)
    p.add_argument("--rcpt-451", action="append", default=[])
    p.add_argument("--rcpt-550", action="append", default=[])
    p.add_argument("--drop-data", type=int, action="append", default=[])
    p.add_argument("--no-starttls", action="store_true")
    p.add_argument("--smtps", action="store_true")
    p.add_argument("--keep-content", action="store_true")
    p.add_argument("--user", default="stethoscope")
    p.add_argument("--password", default="smtp-test-password-7f3a")
    return p.parse_args()


args = parse_args()
log = open(args.log, "a", encoding="utf-8")
state = {"conns": 0, "datas": 0, "connect_421_left": args.connect_421}
greylist = {}
for spec in args.rcpt_451:
    addr, _, count = spec.rpartition(":")
    greylist[addr.lower()] = int(count)
rejected = {a.lower() for a in args.rcpt_550}


def record(**event):
    log.write(json.dumps(event) + "\n")
    log.flush()


def message_id(content: bytes):
    head = content.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"message-id:"):
            return line.split(b":", 1)[1].strip().decode("utf-8", "replace")
    return None


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        key = address.lower()
        if key in rejected:
            record(event="refused", conn=server.conn_id, rcpt=address, code=550)
            return "550 5.1.1 <%s>: no such user" % address
        if greylist.get(key, 0) > 0:
            greylist[key] -= 1
            record(event="refused", conn=server.conn_id, rcpt=address, code=451)
            return "451 4.7.1 <%s>: greylisted, try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        record(event="message", conn=server.conn_id, **{"from": envelope.mail_from},
               rcpts=list(envelope.rcpt_tos), message_id=message_id(envelope.content),
               bytes=len(envelope.content), sha256=hashlib.sha256(envelope.content).hexdigest(),
               **({"content": envelope.content.decode("latin-1")} if args.keep_content else {}))
        return "250 2.0.0 queued"


class Authenticator:
    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login.decode() == args.user and auth_data.password.decode() == args.password)
        record(event="auth", conn=server.conn_id, ok=ok)
        # handled=False: aiosmtpd answers "535 5.7.8 Authentication credentials invalid" itself.
        return AuthResult(success=ok, handled=False)


class RudeSMTP(SMTP):
    async def _handle_client(self):
        state["conns"] += 1
        self.conn_id = state["conns"]
        record(event="connect", conn=self.conn_id)
        if state["connect_421_left"] > 0:
            state["connect_421_left"] -= 1
            await self.push("421 4.3.2 too busy, try again later")
            self.transport.close()
            return
        await super()._handle_client()

    async def smtp_STARTTLS(self, arg):
        record(event="starttls", conn=self.conn_id)
        await super().smtp_STARTTLS(arg)

    async def smtp_DATA(self, arg):
        if self.envelope is not None and self.envelope.rcpt_tos and not arg and self.session.authenticated:
            state["datas"] += 1
            if state["datas"] in args.drop_data:
                await self.push("354 End data with <CR><LF>.<CR><LF>")
                for _ in range(3):
                    await self._reader.readuntil(b"\r\n")
                record(event="dropped", conn=self.conn_id, rcpts=list(self.envelope.rcpt_tos))
                self.transport.close()
                return
        await super().smtp_DATA(arg)


def tls_context():
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(os.path.join(TLS, "server.pem"), os.path.join(TLS, "server.key"))
    return ctx


def factory():
    implicit = args.smtps
    return RudeSMTP(
        Handler(),
        hostname="fake-smtp.test",
        tls_context=None if (args.no_starttls or implicit) else tls_context(),
        require_starttls=not (args.no_starttls or implicit),
        auth_required=True,
        # With implicit TLS the whole session is encrypted; aiosmtpd only knows about STARTTLS.
        auth_require_tls=not (args.no_starttls or implicit),
        authenticator=Authenticator(),
        data_size_limit=None,
    )


def watch_stdin(loop):
    try:
        while sys.stdin.buffer.read(65536):
            pass
    finally:
        os._exit(0)


async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, "127.0.0.1", 0, ssl=tls_context() if args.smtps else None)
    print(server.sockets[0].getsockname()[1], flush=True)
    threading.Thread(target=watch_stdin, args=(loop,), daemon=True).start()
    await server.serve_forever()


if __name__ == "__main__":
    import logging
    logging.disable(logging.CRITICAL)
    asyncio.run(main())
