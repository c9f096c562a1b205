"""Reading and writing a photo's metadata (XMP/IPTC/EXIF, sidecars), atomically.

May import: phototag's top-level modules only.
"""
