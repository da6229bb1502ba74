"""Unix ``compress`` (``.Z``) streams: LZW with 9..16-bit codes and block-mode CLEAR codes.

The format (as written by ``compress`` and read by ``gzip -d``, ``uncompress`` and ``unlzw3``):

* a 3-byte header ``1F 9D flags``; ``flags & 0x1F`` is the largest code width, ``flags & 0x80`` block mode;
* codes packed least-significant bit first, starting 9 bits wide; the width grows by one when the string
  table outgrows it, up to the maximum;
* codes are written in groups of eight, so a group always fills ``width`` whole bytes: when the width
  changes, or after a CLEAR code (256, block mode only), the rest of the current group is skipped.

The encoder follows classic ``compress``: once the table is full it checks the compression ratio every
10,000 input bytes and emits CLEAR when the ratio stops improving.  Code extraction and packing are
vectorised with numpy; the string-table loop is plain Python, so a 30 MB file decodes in a few seconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import LazyModule

if TYPE_CHECKING:
    import numpy as np
else:
    np = LazyModule("numpy")  # imported by the first .Z file, not by every download

__all__ = ["MAGIC", "compress", "decompress"]

#: The two bytes every compress stream starts with.
MAGIC = b"\x1f\x9d"

_BLOCK_MODE = 0x80
_RESERVED = 0x60
_WIDTH_MASK = 0x1F
_INIT_BITS = 9
_MIN_BITS = 9
_MAX_BITS = 16
_CLEAR = 256
_CHECK_GAP = 10_000
_CHUNK = 1 << 20  # codes unpacked per numpy call while decoding (a multiple of 8)
_CAPPED_CHUNK = 1 << 12  # the same when the output is bounded: the size is checked after each step
_GATHER_BYTES = 1 << 24  # output bytes assembled per numpy gather


def _next_maxcode(n_bits: int, max_bits: int) -> int:
    """Largest code the table may hold at width ``n_bits`` before the width grows (classic rule)."""
    return (1 << max_bits) if n_bits == max_bits else (1 << n_bits) - 1


# ------------------------------------------------------------------------------------------ encoding


def _pack(codes: list[int], n_bits: int, pad: bool) -> bytes:
    """Pack ``codes`` LSB-first at ``n_bits`` each; ``pad`` fills the last group of eight codes."""
    count = len(codes)
    if count == 0:
        return b""
    size = (count + 7) // 8 * n_bits if pad else (count * n_bits + 7) // 8
    bitpos = np.arange(count, dtype=np.int64) * n_bits
    byte = bitpos >> 3
    value = np.asarray(codes, dtype=np.uint32) << (bitpos & 7).astype(np.uint32)
    out = np.zeros(size + 2, dtype=np.float64)  # the bits of different codes never overlap: sum == OR
    for k in range(3):
        out += np.bincount(byte + k, weights=(value >> (8 * k)) & 0xFF, minlength=size + 2)[: size + 2]
    return out[:size].astype(np.uint8).tobytes()


def compress(data: bytes, max_bits: int = 16) -> bytes:
    """Compress ``data`` to a ``.Z`` stream (block mode, widths 9..``max_bits``), as ``compress -b`` does."""
    if not _MIN_BITS <= max_bits <= _MAX_BITS:
        raise ValueError(f"max_bits must be between {_MIN_BITS} and {_MAX_BITS}, not {max_bits}")
    data = bytes(data)
    header = MAGIC + bytes([_BLOCK_MODE | max_bits])
    if not data:
        return header
    maxmax = 1 << max_bits
    segments: list[tuple[list[int], int, bool]] = []  # (codes, width, padded to a whole group)
    codes: list[int] = []
    emit = codes.append
    table: dict[int, int] = {}
    lookup = table.get
    n_bits, maxcode, free = _INIT_BITS, (1 << _INIT_BITS) - 1, _CLEAR + 1
    done_bits = 0  # bits in finished segments, for the ratio check
    checkpoint, ratio = _CHECK_GAP, 0
    ent = data[0]
    for i in range(1, len(data)):
        c = data[i]
        key = (ent << 8) | c
        code = lookup(key)
        if code is not None:
            ent = code
            continue
        emit(ent)
        if free > maxcode:  # the decoder widens before its next code: close this group
            segments.append((codes, n_bits, True))
            done_bits += (len(codes) + 7) // 8 * n_bits * 8
            codes = []
            emit = codes.append
            n_bits += 1
            maxcode = _next_maxcode(n_bits, max_bits)
        ent = c
        if free < maxmax:
            table[key] = free
            free += 1
        elif i >= checkpoint:
            checkpoint = i + _CHECK_GAP
            current = (i << 8) // max(1, (done_bits + len(codes) * n_bits) >> 3)
            if current > ratio:
                ratio = current
            else:  # the full table has stopped paying off: start a fresh one
                ratio = 0
                emit(_CLEAR)
                segments.append((codes, n_bits, True))
                done_bits += (len(codes) + 7) // 8 * n_bits * 8
                codes = []
                emit = codes.append
                table.clear()
                n_bits, maxcode, free = _INIT_BITS, (1 << _INIT_BITS) - 1, _CLEAR + 1
    emit(ent)
    segments.append((codes, n_bits, False))
    return header + b"".join(_pack(seg, width, pad) for seg, width, pad in segments)


# ------------------------------------------------------------------------------------------ decoding


def _unpack(buf: np.ndarray, pos: int, n_bits: int, count: int) -> np.ndarray:
    """``count`` codes of ``n_bits`` starting at byte ``pos`` of ``buf`` (padded with 2 spare bytes)."""
    bitpos = np.arange(count, dtype=np.int64) * n_bits
    j = (bitpos >> 3) + pos
    word = buf[j].astype(np.uint32) | (buf[j + 1].astype(np.uint32) << 8)
    word |= buf[j + 2].astype(np.uint32) << 16
    return (word >> (bitpos & 7).astype(np.uint32)) & ((1 << n_bits) - 1)


def _past_table(code: int, free: int) -> ValueError:
    """The error for a code that refers to a string the table does not hold yet."""
    return ValueError(f"corrupt compress stream: code {code} refers past the string table ({free} entries)")


def _grow(codes: list[int], table: list[bytes], prev: bytes, out: list[bytes]) -> bytes:
    """Decode ``codes`` while the table is filling (each code adds one string); returns the last string."""
    append = out.append
    grow = table.append
    free = len(table)
    for code in codes:
        if code < free:
            entry = table[code]
            grow(prev + entry[:1])
        elif code == free:  # the string being defined by this very code (KwKwK)
            entry = prev + prev[:1]
            grow(entry)
        else:
            raise _past_table(code, free)
        free += 1
        append(entry)
        prev = entry
    return prev


def _full_kwk(codes: list[int], table: list[bytes], prev: bytes, out: list[bytes]) -> bytes:
    """Decode ``codes`` against a full table when one of them is the KwKwK code (9-bit streams only)."""
    free = len(table)
    for code in codes:
        if code < free:
            prev = table[code]
        elif code == free:
            prev = prev + prev[:1]
        else:
            raise _past_table(code, free)
        out.append(prev)
    return prev


class _Gather:
    """A full string table flattened into one byte pool, so runs of codes decode with numpy fancy indexing."""

    def __init__(self, table: list[bytes]) -> None:
        """Flatten ``table`` (which must not change afterwards)."""
        self.lens = np.fromiter(map(len, table), dtype=np.int64, count=len(table))
        self.offs = np.cumsum(self.lens) - self.lens
        self.pool = np.frombuffer(b"".join(table), dtype=np.uint8)

    def __call__(self, codes: np.ndarray, out: list[bytes]) -> None:
        """Append the strings of ``codes`` to ``out``, at most ``_GATHER_BYTES`` bytes per numpy step."""
        lens = self.lens[codes]
        ends = np.cumsum(lens)
        cuts = np.searchsorted(ends, np.arange(_GATHER_BYTES, int(ends[-1]), _GATHER_BYTES), side="right")
        for part in np.split(np.arange(codes.size), np.unique(cuts)):
            if part.size:
                sub, size = codes[part], lens[part]
                shift = self.offs[sub] - (np.cumsum(size) - size)
                out.append(self.pool[np.repeat(shift, size) + np.arange(int(size.sum()))].tobytes())


class _Strings:
    """The decoder's string table for one generation (from the stream start or a CLEAR to the next CLEAR)."""

    def __init__(self, max_bits: int, block: bool) -> None:
        """An empty table for codes of up to ``max_bits``; block mode reserves code 256 for CLEAR."""
        self.maxmax = 1 << max_bits
        self.first = _CLEAR + 1 if block else _CLEAR
        self.table = [bytes((i,)) for i in range(256)] + ([b""] if block else [])  # 256: CLEAR's slot
        self.out: list[bytes] = []
        self.reset()

    def reset(self) -> None:
        """Forget every string added since the last reset (a CLEAR code)."""
        del self.table[self.first :]
        self.prev: bytes | None = None
        self.gather: _Gather | None = None

    def room(self, maxcode: int) -> int:
        """How many more codes fit before the table outgrows ``maxcode`` (the first code adds no string)."""
        if maxcode >= self.maxmax:
            return 1 << 62
        return maxcode - len(self.table) + 1 + (self.prev is None)

    def feed(self, codes: np.ndarray) -> None:
        """Decode ``codes`` (no CLEAR among them), appending the strings to ``out``."""
        table = self.table
        if codes.size and self.prev is None:  # a literal starts each generation and adds no string
            if codes[0] > 255:
                raise ValueError(f"corrupt compress stream: code {codes[0]} after a reset is not a literal")
            self.prev = table[codes[0]]
            self.out.append(self.prev)
            codes = codes[1:]
        if not codes.size:
            return
        assert self.prev is not None  # set just above when a generation starts
        n_grow = min(codes.size, self.maxmax - len(table))
        prev = _grow(codes[:n_grow].tolist(), table, self.prev, self.out)
        rest = codes[n_grow:]
        if rest.size and rest.max() < len(table):
            self.gather = self.gather or _Gather(table)
            self.gather(rest, self.out)
            prev = table[rest[-1]]
        elif rest.size:
            prev = _full_kwk(rest.tolist(), table, prev, self.out)
        self.prev = prev


def _parse_header(data: bytes) -> tuple[int, bool]:
    """The maximum code width and block-mode flag of a compress stream, or ValueError."""
    if len(data) < 3 or data[:2] != MAGIC:
        raise ValueError("not a compress (.Z) stream: the data do not start with the bytes 1F 9D")
    flags = data[2]
    if flags & _RESERVED:
        raise ValueError(f"corrupt compress stream: reserved flag bits set in header byte 0x{flags:02X}")
    max_bits = flags & _WIDTH_MASK
    if not _MIN_BITS <= max_bits <= _MAX_BITS:
        raise ValueError(f"corrupt compress stream: maximum code width {max_bits} is outside 9..16")
    return max_bits, bool(flags & _BLOCK_MODE)


def _decode(data: bytes, stats: dict[str, int] | None = None, max_output: int | None = None) -> bytes:
    """Decompress a ``.Z`` stream; fills ``stats`` (widest code width, CLEAR count) when given."""
    chunk = _CHUNK if max_output is None else _CAPPED_CHUNK  # smaller steps when the output is bounded
    produced, counted = 0, 0
    max_bits, block = _parse_header(data)
    strings = _Strings(max_bits, block)
    total = len(data)
    buf = np.frombuffer(bytes(data) + b"\0\0", dtype=np.uint8)
    widest, clears, pos = _INIT_BITS, 0, 3
    n_bits, maxcode = _INIT_BITS, (1 << _INIT_BITS) - 1
    left = strings.room(maxcode)
    while (take := min(chunk, left, (total - pos) * 8 // n_bits)) > 0:
        widest = max(widest, n_bits)
        codes = _unpack(buf, pos, n_bits, take)
        hits = np.flatnonzero(codes == _CLEAR) if block else np.zeros(0, dtype=np.intp)
        if len(hits):
            take = int(hits[0]) + 1
            strings.feed(codes[: take - 1])
        else:
            strings.feed(codes)
        if max_output is not None:
            produced += sum(len(s) for s in strings.out[counted:])
            counted = len(strings.out)
            if produced > max_output:
                raise TooLarge(f"the stream unpacks to more than {max_output:,} bytes")
        pos += (take + 7) // 8 * n_bits  # a width change or CLEAR skips the rest of the group of eight
        left -= take
        if len(hits):
            clears += 1
            strings.reset()
            n_bits, maxcode = _INIT_BITS, (1 << _INIT_BITS) - 1
            left = strings.room(maxcode)
        elif left == 0:
            n_bits += 1
            maxcode = _next_maxcode(n_bits, max_bits)
            left = strings.room(maxcode)
    if stats is not None:
        stats.update(max_bits=widest, clears=clears)
    return b"".join(strings.out)


class TooLarge(ValueError):
    """The stream unpacks to more than the ``max_output`` bytes allowed (a decompression bomb)."""


def decompress(data: bytes, max_output: int | None = None) -> bytes:
    """Decompress a ``.Z`` stream (as ``uncompress`` or ``gzip -d`` would); ValueError if it is corrupt,
    :class:`TooLarge` as soon as the output passes ``max_output`` bytes."""
    return _decode(data, max_output=max_output)
