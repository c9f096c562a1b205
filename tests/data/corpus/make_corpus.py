"""Build the real-world metadata corpus (run: make_corpus.py [DEST], default: this folder).

Each fixture reproduces the metadata layout one common tool writes (Lightroom Classic,
digiKam, darktable, Capture One, Photo Mechanic, Windows Explorer, Shotwell, an iPhone, a
Pixel, cameras...) on a small picture made from the public-domain photos in tests/data.
Pictures come from Pillow; metadata is written with exiftool 12.57 under the tag names the
tools use, or, where exiftool would tidy a layout on writing (duplicate properties, odd
packets, XMP in unusual places), injected byte for byte. SOURCES.md beside this script says
where each layout is documented. The output is deterministic for a given Pillow, libjpeg
and exiftool, so the fixtures can be regenerated and diffed.
"""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image, ImageCms, TiffImagePlugin

HERE = Path(__file__).resolve().parent
DATA = HERE.parent
sys.path.insert(0, str(DATA.parent))  # tests/, for rawfixture
from rawfixture import write_dng  # type: ignore[import-not-found]  # noqa: E402

SIDE_PX = 192  # long side of every picture: the corpus stays small (well under 3 MB)
XMP_JPEG_SIG = b"http://ns.adobe.com/xap/1.0/\0"

CAMERA_EXIF = (
    "-EXIF:DateTimeOriginal=2024:06:15 13:27:23",
    "-EXIF:CreateDate=2024:06:15 13:27:23",
    "-EXIF:ExposureTime=1/250",
    "-EXIF:FNumber=5.6",
    "-EXIF:ISO=200",
    "-EXIF:FocalLength=35",
)
GPS = (
    "-GPSLatitude=48.8584",
    "-GPSLatitudeRef=N",
    "-GPSLongitude=2.2945",
    "-GPSLongitudeRef=E",
)
# A Canon maker note: a big-endian IFD whose values all fit in their entries, so no offset
# depends on where the note lands in the EXIF block: ImageType "EOS", SerialNumber, ModelID
# 0x80000453 (EOS R6).
CANON_ENTRIES = (
    (6, 2, b"EOS\0"),
    (12, 4, struct.pack(">I", 1234567)),
    (16, 4, struct.pack(">I", 0x80000453)),
)
# A Nikon type-3 maker note: "Nikon\0" + version + its own little TIFF header, so its
# offsets are relative to itself and survive being moved (which is why Nikon does it).
NIKON_ENTRIES = ((1, 7, b"0210"), (2, 3, struct.pack(">HH", 0, 400)), (4, 2, b"FINE  \0"))


def xpacket(body: str, *, namespaces: str = "", padding: int = 64) -> bytes:
    """An XMP packet as Adobe's toolkit lays it out: xpacket wrapper, rdf:RDF, padding."""
    return (
        "<?xpacket begin='\ufeff' id='W5M0MpCehiHzreSzNTczkc9d'?>\n"
        "<x:xmpmeta xmlns:x='adobe:ns:meta/' x:xmptk='Adobe XMP Core 7.0-c000 1.000000'>\n"
        "<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>\n"
        f" <rdf:Description rdf:about=''{namespaces}>\n{body}\n </rdf:Description>\n"
        "</rdf:RDF>\n</x:xmpmeta>\n" + " " * padding + "\n<?xpacket end='w'?>"
    ).encode()


NS = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "lr": "http://ns.adobe.com/lightroom/1.0/",
    "digiKam": "http://www.digikam.org/ns/1.0/",
    "darktable": "http://darktable.sf.net/",
    "exif": "http://ns.adobe.com/exif/1.0/",
    "xmpMM": "http://ns.adobe.com/xap/1.0/mm/",
    "mwg-rs": "http://www.metadataworkinggroup.com/schemas/regions/",
    "stArea": "http://ns.adobe.com/xmp/sType/Area#",
    "stDim": "http://ns.adobe.com/xap/1.0/sType/Dimensions#",
    "GCamera": "http://ns.google.com/photos/1.0/camera/",
    "Container": "http://ns.google.com/photos/1.0/container/",
    "Item": "http://ns.google.com/photos/1.0/container/item/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    "acdsee": "http://ns.acdsee.com/iptc/1.0/",
}


def ns(*prefixes: str) -> str:
    return "".join(f"\n   xmlns:{p}='{NS[p]}'" for p in prefixes)


def bag(prop: str, *items: str, kind: str = "Bag") -> str:
    lis = "".join(f"<rdf:li>{i}</rdf:li>" for i in items)
    return f"  <{prop}><rdf:{kind}>{lis}</rdf:{kind}></{prop}>"


def alt(prop: str, text: str) -> str:
    return f"  <{prop}><rdf:Alt><rdf:li xml:lang='x-default'>{text}</rdf:li></rdf:Alt></{prop}>"


# --- XMP packets that are injected as they are (exiftool would rewrite them tidily) ---

DARKTABLE_HISTORY = "\n".join(
    f"   <rdf:li darktable:num='{n}' darktable:operation='{op}' darktable:enabled='1'"
    f" darktable:modversion='{v}' darktable:params='{p}' darktable:multi_name=''"
    " darktable:multi_priority='0' darktable:blendop_version='11'"
    " darktable:blendop_params='gz11eJxjYIAACQYYOOHEgAZY0QVwggZ7AAn0BrI='/>"
    for n, (op, v, p) in enumerate(
        (
            ("rawprepare", 2, "00000000000000000000000000000000"),
            ("temperature", 3, "0000803f0000803f0000803f00000000"),
            ("exposure", 6, "0000000000000000cdcccc3e00004842"),
            ("filmicrgb", 6, "gz04eJxjYGiwZ2CQcIDQAFrxBF0="),
        )
    )
)

DARKTABLE_SIDECAR = xpacket(
    "\n".join(
        (
            "  <xmp:Rating>4</xmp:Rating>",
            "  <xmpMM:DerivedFrom>darktable.dng</xmpMM:DerivedFrom>",
            "  <darktable:import_timestamp>63842713643000000</darktable:import_timestamp>",
            "  <darktable:change_timestamp>63842713700000000</darktable:change_timestamp>",
            "  <darktable:xmp_version>5</darktable:xmp_version>",
            "  <darktable:raw_params>0</darktable:raw_params>",
            "  <darktable:auto_presets_applied>1</darktable:auto_presets_applied>",
            "  <darktable:history_end>4</darktable:history_end>",
            "  <darktable:iop_order_version>4</darktable:iop_order_version>",
            bag("dc:subject", "Bretagne", "darktable|format|dng", "Leuchtturm"),
            alt("dc:title", "Phare du Créac'h"),
            bag("lr:hierarchicalSubject", "Orte|Bretagne", "darktable|format|dng"),
            "  <darktable:masks_history><rdf:Seq/></darktable:masks_history>",
            f"  <darktable:history>\n   <rdf:Seq>\n{DARKTABLE_HISTORY}\n   </rdf:Seq>\n"
            "  </darktable:history>",
        )
    ),
    namespaces=ns("xmp", "xmpMM", "darktable", "dc", "lr"),
)


def mwg_regions(*faces: tuple[str, float, float, float, float]) -> str:
    items = "".join(
        "<rdf:li rdf:parseType='Resource'>"
        f"<mwg-rs:Name>{name}</mwg-rs:Name><mwg-rs:Type>Face</mwg-rs:Type>"
        f"<mwg-rs:Area stArea:x='{x}' stArea:y='{y}' stArea:w='{w}' stArea:h='{h}'"
        " stArea:unit='normalized'/></rdf:li>"
        for name, x, y, w, h in faces
    )
    return (
        "  <mwg-rs:Regions rdf:parseType='Resource'>"
        "<mwg-rs:AppliedToDimensions stDim:w='192' stDim:h='128' stDim:unit='pixel'/>"
        f"<mwg-rs:RegionList><rdf:Bag>{items}</rdf:Bag></mwg-rs:RegionList></mwg-rs:Regions>"
    )


DIGIKAM_SIDECAR = xpacket(
    "\n".join(
        (
            bag("digiKam:TagsList", "People/Oma", "Places/Lisboa", kind="Seq"),
            bag("dc:subject", "Oma", "Lisboa"),
            bag("lr:hierarchicalSubject", "People|Oma", "Places|Lisboa"),
            "  <xmp:Rating>3</xmp:Rating>",
            "  <digiKam:ColorLabel>2</digiKam:ColorLabel>",
            mwg_regions(("Oma", 0.42, 0.38, 0.2, 0.3)),
        )
    ),
    namespaces=ns("digiKam", "dc", "lr", "xmp", "mwg-rs", "stArea", "stDim"),
)

DUPLICATE_PROPERTY = xpacket(
    "\n".join(
        (
            "  <xmp:Rating>3</xmp:Rating>",
            "  <xmp:Rating>3</xmp:Rating>",  # the repeat exiv2 refuses (error 203)
            "  <xmp:CreatorTool>GIMP 2.10</xmp:CreatorTool>",
            alt("dc:title", "Sunrise over the bay"),
            alt("dc:rights", "CC-BY-SA 4.0 Jana"),
            bag("dc:subject", "wallpaper", "sunrise"),
            bag("dc:creator", "Jana", kind="Seq"),
        )
    ),
    namespaces=ns("xmp", "dc"),
)

EMPTY_XMPMETA = (
    b"<?xpacket begin='\xef\xbb\xbf' id='W5M0MpCehiHzreSzNTczkc9d'?>\n"
    b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>\n" + b" " * 2048 + b"\n<?xpacket end='w'?>"
)

TRAILING_GARBAGE = (
    xpacket(
        "\n".join(
            (
                bag("dc:subject", "Ferienhaus", "Sommer"),
                alt("dc:description", "Unser Ferienhaus im Sommer"),
            )
        ),
        namespaces=ns("dc"),
        padding=3,
    )
    + b"\0\0\0\xff\xfe garbage after the packet"  # seen from old scanner drivers
)

# A packet whose prefix is used but never declared (photoshop:) and whose description
# element declares acdsee: with a wrong URI (older ACDSee releases).
UNDECLARED_NAMESPACE = xpacket(
    "\n".join(
        (
            bag("dc:subject", "Hafen", "Boote"),
            "  <photoshop:City>Hamburg</photoshop:City>",
            "  <acdsee:author>Jens</acdsee:author>",
        )
    ),
    namespaces=ns("dc") + "\n   xmlns:acdsee='http://ns.acdsee.com/iptc/1.0'",
)

ACDSEE = xpacket(
    "\n".join(
        (
            "  <acdsee:author>Jens</acdsee:author>",
            "  <acdsee:caption>Hafenrundfahrt</acdsee:caption>",
            "  <acdsee:datetime>2024-06-15T13:27:23.000</acdsee:datetime>",
            '  <acdsee:categories>&lt;Categories&gt;&lt;Category Assigned="1"&gt;Orte'
            '&lt;Category Assigned="1"&gt;Hamburg&lt;/Category&gt;&lt;/Category&gt;'
            "&lt;/Categories&gt;</acdsee:categories>",
            bag("dc:subject", "Hamburg"),
        )
    ),
    namespaces=ns("acdsee", "dc"),
)

MOTION_MP4 = (  # a tiny ISO-BMFF file: ftyp + free + an empty mdat (the "video")
    struct.pack(">I4s4sI4s4s", 24, b"ftyp", b"mp42", 0, b"isom", b"mp42")
    + struct.pack(">I4s", 16, b"free")
    + b"phototag"
    + struct.pack(">I4s", 8 + 64, b"mdat")
    + bytes(range(64))
)

PIXEL_XMP = xpacket(
    "\n".join(
        (
            "  <GCamera:MotionPhoto>1</GCamera:MotionPhoto>",
            "  <GCamera:MotionPhotoVersion>1</GCamera:MotionPhotoVersion>",
            "  <GCamera:MotionPhotoPresentationTimestampUs>468683"
            "</GCamera:MotionPhotoPresentationTimestampUs>",
            "  <Container:Directory><rdf:Seq>"
            "<rdf:li rdf:parseType='Resource'><Container:Item Item:Mime='image/jpeg'"
            " Item:Semantic='Primary' Item:Length='0' Item:Padding='0'/></rdf:li>"
            "<rdf:li rdf:parseType='Resource'><Container:Item Item:Mime='video/mp4'"
            f" Item:Semantic='MotionPhoto' Item:Length='{len(MOTION_MP4)}' Item:Padding='0'/>"
            "</rdf:li></rdf:Seq></Container:Directory>",
        )
    ),
    namespaces=ns("GCamera", "Container", "Item"),
)


# --- the fixtures ---


@dataclass(frozen=True)
class Fixture:
    """One photo (and maybe a sidecar) in one tool's layout."""

    name: str
    base: str  # a photo in tests/data
    args: tuple[str, ...] = ()  # exiftool arguments, applied after ``build`` made the file
    build: Callable[[Path, Path], None] | None = None  # (base, target): makes the file
    sidecar: bytes | None = None  # an XMP sidecar beside it (<name>.xmp), as a tool wrote it
    after: Callable[[Path], None] | None = None  # byte-level changes after exiftool ran


def small(base: Path) -> Image.Image:
    with Image.open(base) as im:
        rgb = im.convert("RGB")
    rgb.thumbnail((SIDE_PX, SIDE_PX), Image.Resampling.LANCZOS)
    return rgb


def jpeg(*, maker: bytes | None = None, icc: bool = False) -> Callable[[Path, Path], None]:
    def build(base: Path, target: Path) -> None:
        im = small(base)
        options: dict[str, object] = {"quality": 85}
        if maker is not None:  # no empty EXIF block otherwise: exiftool adds what is asked
            exif = Image.Exif()
            exif.get_ifd(0x8769)[0x927C] = maker
            options["exif"] = exif.tobytes()
        if icc:
            options["icc_profile"] = _srgb()
        im.save(target, format="JPEG", **options)

    return build


def _srgb() -> bytes:
    """LittleCMS's sRGB profile, with a fixed creation date (bytes 24-35) and no profile
    ID (bytes 84-99, zero means "not computed"), so the fixture is the same every build."""
    icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    icc[24:36] = struct.pack(">6H", 2024, 6, 15, 13, 27, 23)
    icc[84:100] = bytes(16)
    return bytes(icc)


def canon_maker_note() -> bytes:
    entries = b"".join(
        struct.pack(">HHI", tag, kind, 4 if kind == 2 else 1) + value
        for tag, kind, value in CANON_ENTRIES
    )
    return struct.pack(">H", len(CANON_ENTRIES)) + entries + b"\0\0\0\0"


def nikon_maker_note() -> bytes:
    count = len(NIKON_ENTRIES)
    ifd_start = 8
    data_start = ifd_start + 2 + 12 * count + 4
    entries, blob = b"", b""
    for tag, kind, value in NIKON_ENTRIES:
        if len(value) <= 4:
            entries += struct.pack(">HHI", tag, kind, len(value) // (2 if kind == 3 else 1))
            entries += value.ljust(4, b"\0")
        else:
            entries += struct.pack(">HHII", tag, kind, len(value), data_start + len(blob))
            blob += value
    tiff = b"MM\0\x2a" + struct.pack(">I", ifd_start) + struct.pack(">H", count) + entries
    return b"Nikon\0\x02\x10\0\0" + tiff + b"\0\0\0\0" + blob


def png(*, xmp: bytes | None = None, where: str = "before-idat") -> Callable[[Path, Path], None]:
    """A PNG; ``xmp`` goes in an iTXt chunk "XML:com.adobe.xmp" before or after IDAT, or
    hex-encoded in a zTXt "Raw profile type xmp" chunk (ImageMagick's way)."""

    def build(base: Path, target: Path) -> None:
        buf = io.BytesIO()
        small(base).save(buf, format="PNG")
        data = buf.getvalue()
        if xmp is not None:
            if where == "raw-profile":
                hexed = xmp.hex()
                lines = "\n".join(hexed[i : i + 72] for i in range(0, len(hexed), 72))
                text = f"\nxmp\n{len(xmp):8d}\n{lines}\n".encode()
                chunk = _png_chunk(b"zTXt", b"Raw profile type xmp\0\0" + zlib.compress(text))
            else:
                chunk = _png_chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0" + xmp)
            data = _png_insert(data, chunk, before=b"IEND" if where == "after-idat" else b"IDAT")
        target.write_bytes(data)

    return build


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_insert(data: bytes, chunk: bytes, *, before: bytes) -> bytes:
    at = data.index(before) - 4  # the chunk's length field
    return data[:at] + chunk + data[at:]


def webp(*, xmp: bytes | None = None, xmp_first: bool = False) -> Callable[[Path, Path], None]:
    """A lossy WebP (VP8X) with EXIF; ``xmp`` in its "XMP " chunk, after the image data
    as the WebP container spec says, or before it (seen from some converters)."""

    def build(base: Path, target: Path) -> None:
        exif = Image.Exif()
        exif[0x010F] = "Google"  # Make
        exif[0x0110] = "Pixel 8"  # Model
        options: dict[str, object] = {"quality": 80, "exif": exif.tobytes()}
        if xmp is not None:
            options["xmp"] = xmp
        small(base).save(target, format="WEBP", **options)
        if xmp_first:
            target.write_bytes(_webp_xmp_first(target.read_bytes()))

    return build


def _webp_xmp_first(data: bytes) -> bytes:
    chunks: list[tuple[bytes, bytes]] = []
    at = 12
    while at < len(data):
        kind, size = data[at : at + 4], struct.unpack("<I", data[at + 4 : at + 8])[0]
        chunks.append((kind, data[at + 8 : at + 8 + size]))
        at += 8 + size + (size & 1)
    xmp = [c for c in chunks if c[0] == b"XMP "]
    rest = [c for c in chunks if c[0] != b"XMP "]
    order = [rest[0], *xmp, *rest[1:]]  # VP8X, then XMP, then ICC/VP8/EXIF
    body = b"".join(k + struct.pack("<I", len(v)) + v + b"\0" * (len(v) & 1) for k, v in order)
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def tiff(*, xmp_in_irb: bytes | None = None) -> Callable[[Path, Path], None]:
    """A TIFF; with ``xmp_in_irb`` the XMP sits only in the Photoshop image resources
    (tag 34377, resource 0x0424), not in tag 700 (older Photoshop and scanner software)."""

    def build(base: Path, target: Path) -> None:
        info = TiffImagePlugin.ImageFileDirectory_v2()
        if xmp_in_irb is not None:
            body = xmp_in_irb + b"\0" * (len(xmp_in_irb) & 1)
            irb = b"8BIM" + struct.pack(">H", 0x0424) + b"\0\0" + struct.pack(">I", len(xmp_in_irb))
            info[34377] = irb + body
            info.tagtype[34377] = 7  # UNDEFINED
        small(base).save(target, format="TIFF", tiffinfo=info, compression="tiff_deflate")

    return build


def heic(base: Path, target: Path) -> None:
    from pillow_heif import register_heif_opener

    register_heif_opener()
    small(base).save(target, format="HEIF", quality=60)


def dng(base: Path, target: Path) -> None:
    write_dng(target, small(base), taken=datetime(2024, 6, 15, 13, 27, 23))


def inject_xmp(packet: bytes) -> Callable[[Path], None]:
    """Put ``packet`` into the JPEG's XMP APP1 segment byte for byte (replacing any)."""

    def after(target: Path) -> None:
        data = target.read_bytes()
        segments, at = [], 2
        while data[at] == 0xFF and data[at + 1] not in (0xDA, 0xD9):
            size = struct.unpack(">H", data[at + 2 : at + 4])[0]
            segments.append(data[at : at + 2 + size])
            at += 2 + size
        kept = [s for s in segments if not s[4:].startswith(XMP_JPEG_SIG)]
        app1 = b"\xff\xe1" + struct.pack(">H", 2 + len(XMP_JPEG_SIG) + len(packet))
        app1 += XMP_JPEG_SIG + packet
        head = [s for s in kept if s[1] in (0xE0, 0xE1)]  # JFIF and EXIF first
        tail = [s for s in kept if s[1] not in (0xE0, 0xE1)]
        target.write_bytes(data[:2] + b"".join([*head, app1, *tail]) + data[at:])

    return after


def exiftool_again(*args: str) -> Callable[[Path], None]:
    """A second exiftool pass (a TIFF's IPTCDigest is right only once the IPTC is laid out)."""

    def after(target: Path) -> None:
        _exiftool(target, *args)

    return after


def _exiftool(target: Path, *args: str) -> None:
    subprocess.run(["exiftool", "-q", "-q", "-overwrite_original", *args, str(target)], check=True)


def iptc_time_without_zone(target: Path) -> None:
    """Store IPTC TimeCreated as ``HHMMSS`` with no zone, as Photo Mechanic and many older
    tools do (exiftool always writes ``HHMMSS+HHMM``; it reads both): the APP13 segment
    and its 8BIM 0x0404 resource are rebuilt around the shorter dataset."""
    data = target.read_bytes()
    old, new = b"\x1c\x02\x3c\x00\x0b132723+0000", b"\x1c\x02\x3c\x00\x06132723"
    start = data.index(b"Photoshop 3.0\0") - 4  # FF ED, then the segment length
    end = start + 2 + struct.unpack(">H", data[start + 2 : start + 4])[0]
    irb, resources, at = data[start + 18 : end], b"", 0
    while at < len(irb):
        name_len = irb[at + 6]
        name_end = at + 6 + name_len + 1 + ((name_len + 1) & 1)
        size = struct.unpack(">I", irb[name_end : name_end + 4])[0]
        body = irb[name_end + 4 : name_end + 4 + size]
        if irb[at + 4 : at + 6] == b"\x04\x04":
            body = body.replace(old, new)
        resources += (
            irb[at:name_end] + struct.pack(">I", len(body)) + body + b"\0" * (len(body) & 1)
        )
        at = name_end + 4 + size + (size & 1)
    segment = b"Photoshop 3.0\0" + resources
    app13 = b"\xff\xed" + struct.pack(">H", 2 + len(segment)) + segment
    target.write_bytes(data[:start] + app13 + data[end:])


def append(trailer: bytes) -> Callable[[Path], None]:
    def after(target: Path) -> None:
        target.write_bytes(target.read_bytes() + trailer)

    return after


IPTC_PHOTO_MECHANIC = (
    "-IPTC:CodedCharacterSet=UTF8",
    "-IPTC:ObjectName=Launch day",
    "-IPTC:Caption-Abstract=My own caption of the launch",
    "-IPTC:Keywords=launch",
    "-IPTC:Keywords=Florida",
    "-IPTC:By-line=Ana Lima",
    "-IPTC:By-lineTitle=Staff photographer",
    "-IPTC:Credit=Lima Photo",
    "-IPTC:Source=Lima Photo",
    "-IPTC:CopyrightNotice=© 2024 Ana Lima",
    "-IPTC:City=Cape Canaveral",
    "-IPTC:Province-State=FL",
    "-IPTC:Country-PrimaryLocationName=United States",
    "-IPTC:Country-PrimaryLocationCode=USA",
    "-IPTC:DateCreated=2024:06:15",
    "-IPTC:TimeCreated=13:27:23",  # no zone: must never become 13:27:23+00:00
    "-IPTC:SpecialInstructions=Embargo until 18:00",
    "-IPTC:Writer-Editor=AL",
    "-IPTC:OriginalTransmissionReference=PM-0042",
)

FIXTURES: tuple[Fixture, ...] = (
    Fixture(
        "lightroom-classic.jpg",
        "astronaut.jpg",
        build=jpeg(),
        args=(
            *CAMERA_EXIF,
            "-EXIF:Make=Canon",
            "-EXIF:Model=Canon EOS R5",
            "-XMP-xmp:CreatorTool=Adobe Photoshop Lightroom Classic 13.0 (Macintosh)",
            "-XMP-xmp:Rating=5",
            "-XMP-xmp:Label=Red",
            "-XMP-xmp:MetadataDate=2024-06-16T09:12:44+02:00",
            "-XMP-dc:Title=Spacewalk",
            "-XMP-dc:Description=EVA over the Pacific",
            "-XMP-dc:Creator=Ana Lima",
            "-XMP-dc:Rights=© 2024 Ana Lima",
            "-XMP-dc:Subject=Space",
            "-XMP-dc:Subject=Crew",
            "-XMP-dc:Subject=EVA",
            "-XMP-lr:HierarchicalSubject=Places|Space",
            "-XMP-lr:HierarchicalSubject=People|Crew",
            "-XMP-lr:HierarchicalSubject=Activities|EVA",
            "-XMP-photoshop:City=Houston",
            "-XMP-photoshop:State=Texas",
            "-XMP-photoshop:Country=United States",
            "-XMP-photoshop:DateCreated=2024-06-15T13:27:23",
            "-XMP-crs:Version=16.0",
            "-XMP-crs:ProcessVersion=11.0",
            "-XMP-crs:WhiteBalance=As Shot",
            "-XMP-crs:Exposure2012=+0.35",
            "-XMP-crs:Contrast2012=+12",
            "-XMP-crs:HasSettings=True",
            "-XMP-crs:HasCrop=False",
            "-XMP-xmpMM:DocumentID=xmp.did:8f2c6a1e-0d4b-4a8e-9d8e-6a0f5b1c2d3e",
            "-XMP-xmpMM:InstanceID=xmp.iid:1b7e2c9a-5f3d-4e21-8a6b-0c9d8e7f6a5b",
            "-XMP-xmpMM:OriginalDocumentID=5A1B2C3D4E5F60718293A4B5C6D7E8F9",
            # Lightroom keeps IPTC-IIM in step in JPEGs it writes, with the digest.
            "-IPTC:CodedCharacterSet=UTF8",
            "-IPTC:ObjectName=Spacewalk",
            "-IPTC:Caption-Abstract=EVA over the Pacific",
            "-IPTC:Keywords=Space",
            "-IPTC:Keywords=Crew",
            "-IPTC:Keywords=EVA",
            "-IPTC:By-line=Ana Lima",
            "-Photoshop:IPTCDigest=new",
            *GPS,
        ),
    ),
    Fixture(
        "lightroom-digest-stale.jpg",
        "rocket.jpg",
        build=jpeg(),
        # Written by Lightroom (IPTC and XMP in step, digest), then IPTC edited by an
        # IPTC-only tool: the digest no longer matches, so MWG readers take IPTC.
        args=(
            "-XMP-xmp:CreatorTool=Adobe Photoshop Lightroom Classic 12.4 (Windows)",
            "-XMP-dc:Title=Countdown",
            "-XMP-dc:Subject=rocket",
            "-XMP-dc:Subject=night",
            "-IPTC:CodedCharacterSet=UTF8",
            "-IPTC:ObjectName=Countdown",
            "-IPTC:Keywords=rocket",
            "-IPTC:Keywords=night",
            "-IPTC:Keywords=launch pad",
            "-IPTC:Caption-Abstract=T-10 minutes",
            "-Photoshop:IPTCDigest=0123456789abcdef0123456789abcdef",
        ),
    ),
    Fixture(
        "photoshop.jpg",
        "coffee.jpg",
        build=jpeg(icc=True),
        args=(
            "-XMP-xmp:CreatorTool=Adobe Photoshop 25.0 (Windows)",
            "-XMP-xmp:CreateDate=2024-06-15T13:27:23+02:00",
            "-XMP-xmp:ModifyDate=2024-06-16T10:00:00+02:00",
            "-XMP-photoshop:ColorMode=RGB",
            "-XMP-photoshop:ICCProfileName=sRGB IEC61966-2.1",
            "-XMP-photoshop:Headline=Morning coffee",
            "-XMP-photoshop:AuthorsPosition=Editor",
            "-XMP-photoshop:CaptionWriter=JL",
            "-XMP-photoshop:Instructions=Crop to 4:5",
            "-XMP-dc:Format=image/jpeg",
            "-XMP-dc:Description=Latte art on the counter",
            "-XMP-xmpMM:DocumentID=adobe:docid:photoshop:2f3c5a6b-1234-4c5d-8e9f-a0b1c2d3e4f5",
            "-XMP-xmpMM:History={Action=saved,InstanceID=xmp.iid:01,"
            "When=2024-06-16T10:00:00+02:00,SoftwareAgent=Adobe Photoshop 25.0 (Windows),"
            "Changed=/}",
            "-XMP-iptcCore:CreatorWorkEmail=editor@example.org",
            "-IPTC:Headline=Morning coffee",
            "-IPTC:Caption-Abstract=Latte art on the counter",
            "-Photoshop:XResolution=300",
            "-Photoshop:YResolution=300",
            "-Photoshop:IPTCDigest=new",
        ),
    ),
    Fixture(
        "extended-xmp.jpg",
        "chelsea.jpg",
        build=jpeg(),
        # Photoshop's famous DocumentAncestors bloat: >64 KB of XMP, so exiftool splits it
        # into a main packet and extended XMP (xmpNote:HasExtendedXMP, XMP spec part 3).
        args=(
            "-XMP-xmp:CreatorTool=Adobe Photoshop 24.1 (Macintosh)",
            "-XMP-dc:Title=Chelsea on the sofa",
            "-XMP-dc:Subject=Chelsea",
            *(
                f"-XMP-photoshop:DocumentAncestors=adobe:docid:photoshop:{i:08x}-7c1d-11ee-b962-0242ac120002"
                for i in range(900)
            ),
        ),
    ),
    Fixture(
        "digikam.jpg",
        "coffee.jpg",
        build=jpeg(),
        args=(
            *CAMERA_EXIF,
            "-XMP-digiKam:TagsList=Food/Coffee",
            "-XMP-digiKam:TagsList=Places/Café Lisboa",
            "-XMP-digiKam:TagsList=People/Rui",
            "-XMP-lr:HierarchicalSubject=Food|Coffee",
            "-XMP-lr:HierarchicalSubject=Places|Café Lisboa",
            "-XMP-lr:HierarchicalSubject=People|Rui",
            "-XMP-MicrosoftPhoto:LastKeywordXMP=Food/Coffee",
            "-XMP-MicrosoftPhoto:LastKeywordXMP=Places/Café Lisboa",
            "-XMP-MicrosoftPhoto:LastKeywordXMP=People/Rui",
            "-XMP-dc:Subject=Coffee",
            "-XMP-dc:Subject=Café Lisboa",
            "-XMP-dc:Subject=Rui",
            "-XMP-xmp:Rating=4",
            "-XMP-digiKam:ColorLabel=3",
            "-XMP-digiKam:PickLabel=2",
            "-XMP-mwg-rs:RegionInfo={AppliedToDimensions={W=192,H=128,Unit=pixel},RegionList=[{Name=Rui,Type=Face,Area={X=0.5,Y=0.4,W=0.2,H=0.3,Unit=normalized}}]}",
            "-XMP-MP:RegionInfoMP={Regions=[{PersonDisplayName=Rui,Rectangle=0.4 0.25 0.2 0.3}]}",
            "-IPTC:Keywords=Coffee",
            "-IPTC:Keywords=Café Lisboa",
            "-IPTC:Keywords=Rui",
            "-IPTC:CodedCharacterSet=UTF8",
        ),
    ),
    Fixture(
        "digikam-sidecar.dng",
        "motorcycle.jpg",
        build=dng,
        sidecar=DIGIKAM_SIDECAR,
    ),
    Fixture(
        "darktable.dng",
        "gps_paris.jpg",
        build=dng,
        sidecar=DARKTABLE_SIDECAR,
    ),
    Fixture(
        "capture-one.jpg",
        "motorcycle.jpg",
        build=jpeg(),
        args=(
            *CAMERA_EXIF,
            "-EXIF:Make=FUJIFILM",
            "-EXIF:Model=X-T5",
            "-EXIF:Software=Capture One 23 Macintosh",
            "-XMP-xmp:CreatorTool=Capture One 23 Macintosh",
            "-XMP-xmp:Rating=3",
            "-XMP-xmp:Label=Green",
            "-XMP-dc:Subject=Motorrad",
            "-XMP-dc:Subject=Oldtimer",
            "-XMP-lr:HierarchicalSubject=Fahrzeuge|Motorrad",
            "-XMP-dc:Title=Café Racer",
            "-XMP-dc:Creator=Jens Bauer",
            "-XMP-iptcCore:Location=Hafen",
            "-XMP-photoshop:City=Hamburg",
            "-XMP-photoshop:Country=Deutschland",
            "-IPTC:CodedCharacterSet=UTF8",
            "-IPTC:Keywords=Motorrad",
            "-IPTC:Keywords=Oldtimer",
            "-IPTC:ObjectName=Café Racer",
            "-IPTC:By-line=Jens Bauer",
            "-IPTC:City=Hamburg",
        ),
    ),
    Fixture(
        "photo-mechanic.jpg",
        "rocket.jpg",
        build=jpeg(),
        args=IPTC_PHOTO_MECHANIC,
        after=iptc_time_without_zone,
    ),
    Fixture(
        "iptc-cp1252.jpg",
        "coffee.jpg",
        build=jpeg(),
        # Windows-era IPTC tools: Windows-1252 bytes and no CodedCharacterSet at all.
        args=(
            "-charset",
            "iptc=cp1252",
            "-IPTC:Caption-Abstract=Peter’s “best” coffee – 5 €",
            "-IPTC:ObjectName=Kaffeepause",
            "-IPTC:Keywords=Kaffee",
            "-IPTC:Keywords=Café",
            "-IPTC:Keywords=Größe",
            "-IPTC:By-line=Peter Müller",
        ),
    ),
    Fixture(
        "iptc-latin1-picasa.jpg",
        "astronaut.jpg",
        build=jpeg(),
        # Picasa 3.9: keywords in IPTC (no charset), faces as MWG regions in XMP.
        args=(
            "-charset",
            "iptc=Latin",
            "-IPTC:Keywords=Astronaut",
            "-IPTC:Keywords=Raumfähre",
            "-IPTC:Caption-Abstract=Außeneinsatz",
            "-XMP-mwg-rs:RegionInfo={AppliedToDimensions={W=192,H=192,Unit=pixel},RegionList=[{Name=Eileen,Type=Face,Area={X=0.45,Y=0.3,W=0.25,H=0.3,Unit=normalized}}]}",
            "-XMP-xmp:CreatorTool=Picasa",
        ),
    ),
    Fixture(
        "windows-explorer.jpg",
        "chelsea.jpg",
        build=jpeg(),
        # Explorer's Details pane: XP tags (UCS-2 in IFD0), Rating/RatingPercent, and
        # the same in XMP (MicrosoftPhoto).
        args=(
            *CAMERA_EXIF,
            "-EXIF:XPTitle=Chelsea am Fenster",
            "-EXIF:XPSubject=Katze",
            "-EXIF:XPComment=Unsere Katze – 3 Jahre alt",
            "-EXIF:XPKeywords=Katze;Haustier",
            "-EXIF:XPAuthor=Jana",
            "-EXIF:Rating=4",
            "-EXIF:RatingPercent=75",
            "-XMP-dc:Title=Chelsea am Fenster",
            "-XMP-dc:Subject=Katze",
            "-XMP-dc:Subject=Haustier",
            "-XMP-dc:Creator=Jana",
            "-XMP-xmp:Rating=4",
            "-XMP-MicrosoftPhoto:Rating=75",
            "-XMP-MicrosoftPhoto:LastKeywordXMP=Katze",
            "-XMP-MicrosoftPhoto:LastKeywordXMP=Haustier",
        ),
    ),
    Fixture(
        "windows-xp-only.jpg",
        "gps_sydney.jpg",
        build=jpeg(),
        # Older Windows Photo Gallery / Explorer on files without XMP: XP tags only.
        args=(
            *CAMERA_EXIF,
            "-EXIF:XPTitle=Flat white",
            "-EXIF:XPComment=Sydney, im April",
            "-EXIF:XPKeywords=Kaffee;Sydney;Ürlaub",
            "-EXIF:XPAuthor=Jana",
            "-EXIF:ImageDescription=Flat white",
        ),
    ),
    Fixture(
        "shotwell.jpg",
        "chelsea.jpg",
        build=jpeg(),
        # Shotwell (GExiv2): Xmp.dc.subject + Iptc keywords, Xmp.xmp.Rating and
        # Exif.Image.Rating/RatingPercent, Exif.Image.Software, title in dc:title and
        # ObjectName, comment in Exif UserComment and dc:description.
        args=(
            *CAMERA_EXIF,
            "-EXIF:Software=Shotwell 0.32.7",
            "-EXIF:Rating=3",
            "-EXIF:RatingPercent=50",
            "-EXIF:UserComment=Chelsea schläft",
            "-XMP-xmp:Rating=3",
            "-XMP-dc:Subject=Katze",
            "-XMP-dc:Subject=Tiere/Katze",
            "-XMP-dc:Title=Mittagsschlaf",
            "-XMP-dc:Description=Chelsea schläft",
            "-IPTC:Keywords=Katze",
            "-IPTC:ObjectName=Mittagsschlaf",
            "-IPTC:Program=Shotwell",
            "-IPTC:ProgramVersion=0.32.7",
        ),
    ),
    Fixture(
        "gimp.jpg",
        "camera.png",
        build=jpeg(),
        args=(
            "-XMP-xmp:CreatorTool=GIMP 2.10",
            "-XMP-xmpMM:DocumentID=gimp:docid:gimp:5b2c1d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e",
            "-XMP-xmpMM:History={Action=saved,Changed=/,InstanceID=xmp.iid:aa11,"
            "SoftwareAgent=Gimp 2.10 (Linux),When=2024-06-16T10:00:00+02:00}",
            "-XMP-GIMP:API=2.0",
            "-XMP-GIMP:Platform=Linux",
            "-XMP-GIMP:TimeStamp=1718528400000000",
            "-XMP-GIMP:Version=2.10.34",
            "-XMP-dc:Format=image/jpeg",
            "-XMP-dc:Subject=cameraman",
            "-EXIF:Software=GIMP 2.10.34",
            "-EXIF:ImageDescription=The cameraman",
        ),
    ),
    Fixture(
        "acdsee.jpg",
        "motorcycle.jpg",
        build=jpeg(),
        after=inject_xmp(ACDSEE),
    ),
    Fixture(
        "iphone.heic",
        "chelsea.jpg",
        build=heic,
        args=(
            *CAMERA_EXIF,
            "-EXIF:Make=Apple",
            "-EXIF:Model=iPhone 15 Pro",
            "-EXIF:Software=17.5.1",
            "-EXIF:LensMake=Apple",
            "-EXIF:LensModel=iPhone 15 Pro back triple camera 6.765mm f/1.78",
            "-EXIF:OffsetTimeOriginal=+02:00",
            "-EXIF:HostComputer=iPhone 15 Pro",
            "-XMP-photoshop:DateCreated=2024-06-15T13:27:23+02:00",
            "-XMP-xmp:CreateDate=2024-06-15T13:27:23+02:00",
            "-XMP-xmp:CreatorTool=17.5.1",
            *GPS,
        ),
    ),
    Fixture(
        "iphone-edited.heic",
        "astronaut.jpg",
        build=heic,
        # An iPhone photo the person captioned in Photos, exported with metadata.
        args=(
            "-EXIF:Make=Apple",
            "-EXIF:Model=iPhone 13",
            "-EXIF:DateTimeOriginal=2023:08:01 09:00:00",
            "-XMP-dc:Description=Museum visit",
            "-XMP-dc:Title=Space Center",
            "-XMP-dc:Subject=Museum",
        ),
    ),
    Fixture(
        "pixel-motion.jpg",
        "gps_sydney.jpg",
        build=jpeg(),
        args=(
            *CAMERA_EXIF,
            "-EXIF:Make=Google",
            "-EXIF:Model=Pixel 8 Pro",
            "-EXIF:Software=HDR+ 1.0.620604123zd",
        ),
        after=lambda target: (inject_xmp(PIXEL_XMP)(target), append(MOTION_MP4)(target))[0],
    ),
    Fixture(
        "canon-camera.jpg",
        "astronaut.jpg",
        build=jpeg(maker=canon_maker_note()),
        # Camera-written: EXIF with Artist/Copyright set in the camera menu, a maker note,
        # and no XMP at all.
        args=(
            *CAMERA_EXIF,
            "-EXIF:Make=Canon",
            "-EXIF:Model=Canon EOS R6",
            "-EXIF:Artist=Ana Lima",
            "-EXIF:Copyright=© Ana Lima",
            "-EXIF:SerialNumber=012345678901",
            *GPS,
        ),
    ),
    Fixture(
        "nikon-camera-iptc.jpg",
        "motorcycle.jpg",
        build=jpeg(maker=nikon_maker_note()),
        # Nikon Z cameras embed an "IPTC preset" from the camera menu (IPTC-IIM, no XMP).
        args=(
            *CAMERA_EXIF,
            "-EXIF:Make=NIKON CORPORATION",
            "-EXIF:Model=NIKON Z 6_2",
            "-IPTC:By-line=Jens Bauer",
            "-IPTC:CopyrightNotice=Jens Bauer",
            "-IPTC:Credit=Bauer Foto",
            "-IPTC:City=Hamburg",
            "-IPTC:Caption-Abstract=Press preset",
            "-IPTC:ApplicationRecordVersion=4",
        ),
    ),
    Fixture(
        "exif-text-only.jpg",
        "rocket.jpg",
        build=jpeg(),
        # gphoto2 / older cameras and scanners: text only in EXIF.
        args=(
            *CAMERA_EXIF,
            "-EXIF:ImageDescription=Launch pad 39A",
            "-EXIF:Artist=Ana Lima",
            "-EXIF:Copyright=Ana Lima 2024",
            "-EXIF:UserComment=Shot from the press site",
        ),
    ),
    Fixture(
        "duplicate-property.jpg",
        "camera.png",
        build=jpeg(),
        after=inject_xmp(DUPLICATE_PROPERTY),
    ),
    Fixture(
        "empty-xmpmeta.jpg",
        "coffee.jpg",
        build=jpeg(),
        args=("-IPTC:Keywords=espresso",),
        after=inject_xmp(EMPTY_XMPMETA),
    ),
    Fixture(
        "xmp-trailing-garbage.jpg",
        "chelsea.jpg",
        build=jpeg(),
        after=inject_xmp(TRAILING_GARBAGE),
    ),
    Fixture(
        "xmp-undeclared-namespace.jpg",
        "motorcycle.jpg",
        build=jpeg(),
        after=inject_xmp(UNDECLARED_NAMESPACE),
    ),
    Fixture(
        "png-itxt.png",
        "camera.png",
        build=png(),
        args=(
            "-XMP-dc:Subject=Kameramann",
            "-XMP-dc:Title=Der Kameramann",
            "-XMP-dc:Creator=Jana",
            "-PNG:Author=Jana",
            "-PNG:Comment=Scan vom Negativ",
            "-PNG:CreationTime=2024:06:15 13:27:23",
        ),
    ),
    Fixture(
        "png-xmp-after-idat.png",
        "coffee.jpg",
        build=png(
            xmp=xpacket(
                bag("dc:subject", "Kaffee", "Tasse") + "\n" + alt("dc:title", "Tasse"),
                namespaces=ns("dc"),
            ),
            where="after-idat",
        ),
    ),
    Fixture(
        "png-raw-profile.png",
        "rocket.jpg",
        build=png(
            xmp=xpacket(
                bag("dc:subject", "Rakete") + "\n" + alt("dc:description", "Start bei Nacht"),
                namespaces=ns("dc"),
            ),
            where="raw-profile",
        ),
    ),
    Fixture(
        "tiff-xmp-iptc.tif",
        "astronaut.jpg",
        build=tiff(),
        # A TIFF from a scanner workflow: XMP in tag 700, IPTC in tag 33723, Photoshop IRB.
        args=(
            *CAMERA_EXIF,
            "-XMP-dc:Subject=Astronaut",
            "-XMP-dc:Title=Portrait",
            "-XMP-tiff:Make=Epson",
            "-IPTC:Keywords=Astronaut",
            "-IPTC:ObjectName=Portrait",
            "-IPTC:CodedCharacterSet=UTF8",
        ),
        after=exiftool_again("-Photoshop:IPTCDigest=new"),
    ),
    Fixture(
        "tiff-xmp-in-irb.tif",
        "chelsea.jpg",
        build=tiff(
            xmp_in_irb=xpacket(
                bag("dc:subject", "Katze", "Scan") + "\n" + alt("dc:title", "Scan 1998"),
                namespaces=ns("dc"),
            )
        ),
    ),
    Fixture(
        "webp-xmp.webp",
        "coffee.jpg",
        build=webp(),
        args=("-XMP-dc:Subject=Kaffee", "-XMP-dc:Title=Tasse", "-XMP-xmp:Rating=2"),
    ),
    Fixture(
        "webp-xmp-first.webp",
        "motorcycle.jpg",
        build=webp(
            xmp=xpacket(
                bag("dc:subject", "Motorrad") + "\n" + alt("dc:title", "Ausfahrt"),
                namespaces=ns("dc"),
            ),
            xmp_first=True,
        ),
    ),
)


def make(dest: Path) -> list[Path]:
    """Write every fixture (and sidecar) into ``dest``; the paths written."""
    dest.mkdir(parents=True, exist_ok=True)
    made: list[Path] = []
    for fixture in FIXTURES:
        target = dest / fixture.name
        assert fixture.build is not None, fixture.name
        fixture.build(DATA / fixture.base, target)
        if fixture.args:
            _exiftool(target, *fixture.args)
        if fixture.after is not None:
            fixture.after(target)
        made.append(target)
        if fixture.sidecar is not None:
            sidecar = dest / f"{fixture.name}.xmp"
            sidecar.write_bytes(fixture.sidecar)
            made.append(sidecar)
    return made


if __name__ == "__main__":
    for path in make(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(path)
