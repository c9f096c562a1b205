"""Reading and writing a photo's metadata (XMP, IPTC, EXIF, sidecars), atomically.

May import: the top-level modules only.
"""
