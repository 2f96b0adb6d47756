"""SMP (MCUmgr) server: the device side of smpmgr/smpclient and `hearth flash`.

Layers, each doing only its part (docs/SMP.md):

* framing.py   SMP over a serial console: 0x06 0x09 / 0x04 0x14 lines of
               base64(len + packet + CRC-16/XMODEM), reassembled with bounds;
* header.py    the 8-byte SMP header (v1 and v2);
* server.py    dispatch by (group, command), CBOR bodies, SMP error bodies;
* groups/      OS, image (over the launcher), statistics, shell;
* service.py   the server on the console's frame hook and on UDP, as loop services.
"""
from .server import Server, SmpError
from .service import ConsoleSmp, UdpSmp, build_server

__all__ = ["ConsoleSmp", "Server", "SmpError", "UdpSmp", "build_server"]
