"""Readiness and fail-closed start for an egress proxy that runs on the host.

mitmproxy only logs a failed listen (say, the port was taken meanwhile) and then
keeps running without a proxy. This addon makes that fatal, and tells the
supervisor (start-stop-daemon --notify-await) once the proxy listens, so that a
bottle never starts before its egress does, nor with someone else's listener.
"""

import errno
import os
import socket

from mitmproxy import ctx


def notify(message: str) -> None:
    """Send an sd_notify message to $NOTIFY_SOCKET, if the supervisor set one."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(message.encode())


class BottleReady:
    def running(self) -> None:
        # Script addons run after the built-in proxyserver, which has bound (or
        # failed to bind) its listener by now.
        proxyserver = ctx.master.addons.get("proxyserver")
        if proxyserver is None or not proxyserver.running_servers:
            ctx.log.error("bottle egress: the proxy is not listening; stopping")
            notify(f"ERRNO={errno.EADDRINUSE}")
            ctx.master.shutdown()
            return
        notify("READY=1")


addons = [BottleReady()]
