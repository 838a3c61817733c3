"""The picture commands of an ESC/POS stream: images (ESC *, GS v 0, GS ( L) and barcodes.

Bit images (ESC *), raster images (GS v 0), stored graphics (GS ( L / GS 8 L fn 112) and
barcodes (GS k).

Each reader takes the buffer and the command's offset and returns `(size, result)`:
size 0 means the command is not complete yet; a result of None with a size means the
command is malformed and those bytes are skipped.
"""

from __future__ import annotations

from posterm.hwsim.printer.page import Raster

MAX_COLUMNS = 3072  # ESC * columns
MAX_RASTER_BYTES, MAX_RASTER_ROWS = 255, 4095  # GS v 0


def bit_image(buf: bytearray, pos: int) -> tuple[int, Raster | None]:
    """ESC * m nL nH d1..dk: one stripe of 8 or 24 dots, column by column."""
    if len(buf) - pos < 5:
        return 0, None
    m, columns = buf[pos + 2], buf[pos + 3] + 256 * buf[pos + 4]
    if m not in (0, 1, 32, 33) or not 0 < columns <= MAX_COLUMNS:
        return 5, None
    depth = 3 if m in (32, 33) else 1
    size = 5 + columns * depth
    if len(buf) - pos < size:
        return 0, None
    data = buf[pos + 5 : pos + size]
    width_bytes = (columns + 7) // 8
    rows = bytearray(width_bytes * depth * 8)
    for x in range(columns):
        for d in range(depth):
            byte = data[x * depth + d]
            for bit in range(8):
                if byte & (0x80 >> bit):
                    rows[(d * 8 + bit) * width_bytes + x // 8] |= 0x80 >> (x % 8)
    scale = 1 if m in (1, 33) else 2  # single density: every column twice as wide
    return size, Raster(width_bytes, depth * 8, bytes(rows), scale_x=scale)


def raster_image(buf: bytearray, pos: int) -> tuple[int, Raster | None]:
    """GS v 0 m xL xH yL yH d..: m = 1/3 doubles the width, 2/3 the height."""
    if len(buf) - pos < 8:
        return 0, None
    width_bytes = buf[pos + 4] + 256 * buf[pos + 5]
    rows = buf[pos + 6] + 256 * buf[pos + 7]
    m = buf[pos + 3]
    if buf[pos + 2] != ord("0") or m not in (0, 1, 2, 3, 48, 49, 50, 51):
        return 3, None
    if not (0 < width_bytes <= MAX_RASTER_BYTES and 0 < rows <= MAX_RASTER_ROWS):
        return 8, None
    size = 8 + width_bytes * rows
    if len(buf) - pos < size:
        return 0, None
    data = bytes(buf[pos + 8 : pos + size])
    return size, Raster(width_bytes, rows, data, 2 if m & 1 else 1, 2 if m & 2 else 1)


def stored_graphics(args: bytes) -> Raster | None:
    """GS ( L / GS 8 L fn 112 after m and fn: a bx by c xL xH yL yH d.. (monochrome)."""
    if len(args) < 8:
        return None
    tone, bx, by = args[0], args[1], args[2]
    width, rows = args[4] + 256 * args[5], args[6] + 256 * args[7]
    width_bytes = (width + 7) // 8
    data = args[8 : 8 + width_bytes * rows]
    if tone != 48 or not width or not rows or len(data) != width_bytes * rows:
        return None
    return Raster(width_bytes, rows, data, max(bx, 1), max(by, 1))


def barcode(buf: bytearray, pos: int) -> tuple[int, str | None]:
    """GS k m d1..dk NUL (m 0..6) or GS k m n d1..dn (m 65..78): its content."""
    if len(buf) - pos < 3:
        return 0, None
    m = buf[pos + 2]
    if m <= 6:
        end = buf.find(b"\x00", pos + 3, pos + 3 + 256)
        if end < 0:
            return (3, None) if len(buf) - pos >= 3 + 256 else (0, None)
        return end + 1 - pos, bytes(buf[pos + 3 : end]).decode("ascii", errors="replace")
    if not 65 <= m <= 78:
        return 3, None
    if len(buf) - pos < 4:
        return 0, None
    size = 4 + buf[pos + 3]
    if len(buf) - pos < size:
        return 0, None
    return size, bytes(buf[pos + 4 : pos + size]).decode("ascii", errors="replace")
