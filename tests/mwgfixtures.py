"""Photos laid out as other tools leave them, built byte by byte (no tool normalises them).

IPTC-IIM datasets go into a Photoshop APP13 segment exactly as given (so an undeclared
Windows-1252 caption or a ``TimeCreated`` of "132723" stays as other tools wrote it), and
an XMP packet into an APP1 segment verbatim (duplicate properties, odd padding, trailing
garbage: whatever a test needs).
"""

from __future__ import annotations

import io
import struct
import subprocess
from pathlib import Path

from PIL import Image

XMP_APP1 = b"http://ns.adobe.com/xap/1.0/\x00"


def iim(*datasets: tuple[int, bytes]) -> bytes:
    """Application-record (2:nn) datasets, in order, bytes as given."""
    out = b"\x1c\x02\x00\x00\x02\x00\x04"  # ApplicationRecordVersion 4, as tools write it
    for number, value in datasets:
        out += bytes([0x1C, 2, number]) + struct.pack(">H", len(value)) + value
    return out


def _segment(marker: int, body: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body


def app13(iptc: bytes) -> bytes:
    irb = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(iptc)) + iptc
    if len(iptc) % 2:
        irb += b"\x00"
    return _segment(0xED, b"Photoshop 3.0\x00" + irb)


def app1_xmp(packet: bytes) -> bytes:
    return _segment(0xE1, XMP_APP1 + packet)


def jpeg(path: Path, *, iptc: bytes | None = None, xmp: bytes | None = None) -> Path:
    """A small real JPEG with the given raw IPTC and/or XMP segments after SOI."""
    buffer = io.BytesIO()
    Image.new("RGB", (96, 64), (40, 120, 200)).save(buffer, format="JPEG", quality=90)
    data = buffer.getvalue()
    extra = (app1_xmp(xmp) if xmp is not None else b"") + (app13(iptc) if iptc else b"")
    path.write_bytes(data[:2] + extra + data[2:])
    return path


def packet(body: str, *, namespaces: str = "", padding: str = "") -> bytes:
    """An XMP packet around one ``rdf:Description`` ``body``."""
    return (
        "<?xpacket begin='\ufeff' id='W5M0MpCehiHzreSzNTczkc9d'?>\n"
        "<x:xmpmeta xmlns:x='adobe:ns:meta/'>\n"
        "<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>\n"
        f"<rdf:Description rdf:about='' xmlns:dc='http://purl.org/dc/elements/1.1/' {namespaces}>\n"
        f"{body}\n</rdf:Description>\n</rdf:RDF>\n</x:xmpmeta>\n{padding}"
        "<?xpacket end='w'?>"
    ).encode()


def mwg(path: Path) -> dict:
    """What an MWG reader shows: exiftool's MWG module, and the title from XMP then IPTC."""
    import json

    out = subprocess.run(
        [
            "exiftool", "-j", "-G1", "-MWG:Keywords", "-MWG:Description",
            "-XMP-dc:Title", "-IPTC:ObjectName", "-Warning", str(path),
        ],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)[0]
