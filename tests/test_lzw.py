"""The ``.Z`` (Unix compress) codec: round trips, compatibility with gzip/ncompress, corrupt input."""

from __future__ import annotations

import random
import shutil
import subprocess

import numpy as np
import pytest

from vodaxa import lzw


def _words_text(rng: random.Random, size: int, vocabulary: list[bytes]) -> bytes:
    """``size`` bytes of space-separated words drawn from ``vocabulary`` (highly repetitive)."""
    out = bytearray()
    while len(out) < size:
        out += rng.choice(vocabulary) + b" "
    return bytes(out[:size])


@pytest.fixture(scope="module")
def repetitive() -> bytes:
    """1.5 MB of repetitive text whose vocabulary changes midway, so the full table stops paying off."""
    rng = random.Random(42)
    words = [bytes(rng.choice(b"abcdefghijklmnop") for _ in range(rng.randint(2, 9))) for _ in range(300)]
    noise = np.random.default_rng(1).integers(0, 256, 100_000, dtype=np.uint8).tobytes()
    return _words_text(rng, 700_000, words[:50]) + noise + _words_text(rng, 700_000, words[200:])


def _random_bytes(n: int, seed: int = 0) -> bytes:
    """``n`` incompressible bytes, reproducibly."""
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


@pytest.mark.parametrize(
    "data",
    [b"", b"x", b"ab", b"abababababababababab" * 500, bytes(200_000)],
    ids=["empty", "one-byte", "two-bytes", "kwkwk", "zeros"],
)
def test_round_trip_small_and_degenerate(data: bytes) -> None:
    assert lzw.decompress(lzw.compress(data)) == data


def test_empty_input_is_just_the_header() -> None:
    assert lzw.compress(b"") == b"\x1f\x9d\x90"
    assert lzw.compress(b"", max_bits=12) == b"\x1f\x9d\x8c"


@pytest.mark.parametrize("max_bits", [9, 10, 12, 16])
def test_round_trip_random(max_bits: int) -> None:
    data = _random_bytes(150_000, seed=max_bits)
    packed = lzw.compress(data, max_bits=max_bits)
    stats: dict[str, int] = {}
    assert lzw._decode(packed, stats) == data
    if max_bits <= 12:  # the table fills early and random data make a full table useless
        assert stats["clears"] >= 1
    assert stats["max_bits"] == max(max_bits, 10)  # 9-bit streams grow to 10 bits, as classic compress does


@pytest.fixture(scope="module")
def packed(repetitive: bytes) -> bytes:
    """The repetitive text compressed with the default 16-bit maximum."""
    return lzw.compress(repetitive)


def test_round_trip_repetitive_reaches_16_bits_and_clears(repetitive: bytes, packed: bytes) -> None:
    assert len(packed) < len(repetitive) // 2
    stats: dict[str, int] = {}
    assert lzw._decode(packed, stats) == repetitive
    assert stats["max_bits"] == 16
    assert stats["clears"] >= 1


def test_compress_is_deterministic(repetitive: bytes) -> None:
    assert lzw.compress(repetitive[:200_000]) == lzw.compress(repetitive[:200_000])


def test_non_block_mode_stream() -> None:
    # old compress without CLEAR codes: codes 65 66 256 258 = "A" "B" "AB" "ABA" (the last one KwKwK)
    stream = b"\x1f\x9d\x10" + lzw._pack([65, 66, 256, 258], 9, False)
    assert lzw.decompress(stream) == b"ABABABA"


@pytest.mark.parametrize(
    "stream, message",
    [
        (b"", "not a compress"),
        (b"\x1f", "not a compress"),
        (b"\x1f\x8b\x08\x00", "not a compress"),
        (b"\x1f\x9d\xe0", "reserved flag"),
        (b"\x1f\x9d\x88", "outside 9..16"),
        (b"\x1f\x9d\x91", "outside 9..16"),
        (b"\x1f\x9d\x90" + lzw._pack([65, 300], 9, False), "refers past the string table"),
        (b"\x1f\x9d\x90" + lzw._pack([300, 65], 9, False), "not a literal"),
    ],
)
def test_corrupt_streams_raise_value_error(stream: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        lzw.decompress(stream)


def test_corrupted_real_stream_raises_value_error(repetitive: bytes) -> None:
    packed = bytearray(lzw.compress(repetitive[:50_000]))
    packed[3:40] = b"\xff" * 37  # 9-bit codes of all ones: 511 is far past a fresh table
    with pytest.raises(ValueError, match="corrupt"):
        lzw.decompress(bytes(packed))


@pytest.mark.parametrize("max_bits", [8, 17])
def test_compress_rejects_bad_widths(max_bits: int) -> None:
    with pytest.raises(ValueError, match="max_bits"):
        lzw.compress(b"abc", max_bits=max_bits)


@pytest.mark.skipif(shutil.which("gzip") is None, reason="gzip is not installed")
@pytest.mark.parametrize("max_bits", [9, 12, 16])
def test_gzip_reads_our_streams(repetitive: bytes, max_bits: int) -> None:
    for data in (b"x", _random_bytes(60_000), repetitive[:400_000]):
        done = subprocess.run(["gzip", "-dc"], input=lzw.compress(data, max_bits), capture_output=True, check=True)
        assert done.stdout == data


@pytest.mark.skipif(shutil.which("gzip") is None, reason="gzip is not installed")
def test_gzip_reads_our_long_stream(repetitive: bytes, packed: bytes) -> None:
    done = subprocess.run(["gzip", "-dc"], input=packed, capture_output=True, check=True)
    assert done.stdout == repetitive


@pytest.mark.skipif(shutil.which("compress") is None, reason="ncompress is not installed")
@pytest.mark.parametrize("max_bits", [10, 12, 16])  # ncompress's own -b9 output is unreadable even to itself
def test_we_read_ncompress_streams(repetitive: bytes, max_bits: int) -> None:
    for data in (b"x", _random_bytes(60_000), repetitive):
        done = subprocess.run(["compress", "-c", f"-b{max_bits}"], input=data, capture_output=True)
        assert done.stdout[:2] == lzw.MAGIC
        assert lzw.decompress(done.stdout) == data


@pytest.mark.skipif(shutil.which("uncompress") is None, reason="ncompress is not installed")
def test_uncompress_reads_our_streams(repetitive: bytes, packed: bytes) -> None:
    done = subprocess.run(["uncompress", "-c"], input=packed, capture_output=True, check=True)
    assert done.stdout == repetitive
