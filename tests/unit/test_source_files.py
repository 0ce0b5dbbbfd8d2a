from pathlib import Path

import pytest

from diffill.infill.source_files import SourceError, decode_source, read_source_file


def test_decode_source_names_the_reason():
    assert decode_source("x = 'é'\n".encode(), "a.py", 100) == "x = 'é'\n"
    with pytest.raises(SourceError, match=r"a\.py: looks binary"):
        decode_source(b"x = 1\x00", "a.py", 100)
    with pytest.raises(SourceError, match=r"a\.py: not valid UTF-8 \(byte 5\)"):
        decode_source(b"x = '\xe9'", "a.py", 100)
    with pytest.raises(SourceError, match=r"a\.py: larger than 4 bytes"):
        decode_source(b"x = 1\n", "a.py", 4)


def test_read_source_file_refuses_large_and_missing_files(tmp_path: Path):
    big = tmp_path / "big.py"
    big.write_text("x = 1\n" * 10)
    assert read_source_file(big, 1000) == "x = 1\n" * 10
    with pytest.raises(SourceError, match="larger than 20 bytes"):
        read_source_file(big, 20)
    with pytest.raises(SourceError, match="cannot read"):
        read_source_file(tmp_path / "missing.py", 1000)
