"""Text files as plants have them: UTF-8 with or without a BOM, anything else named.

Configuration, registry and secret files are written with whatever editor is at hand:
Excel saves "CSV UTF-8" with a byte order mark, Notepad on a Chinese Windows saves GBK,
on a European one Windows-1252, and "Unicode" means UTF-16. lineside reads UTF-8 only
(with or without the BOM, which is dropped); any other encoding is refused with a message
that names the encoding the bytes look like, so the fix is one "Save as" away, instead of
a wrong character silently kept in an id or a token.

The guess is deliberately simple (docs/design.md, "Files"): a UTF-16/32 BOM or NUL bytes
every other byte is UTF-16; bytes that decode strictly as GB18030 with every multi-byte
character made of high bytes only (as in GBK text; Windows-1252 letters followed by ASCII
are not) are GBK/GB18030 (or Windows-1252 too, when no run of 4 such bytes shows Chinese
text); else Windows-1252 when it decodes; else "an 8-bit encoding other than UTF-8".
"""

from __future__ import annotations

import codecs
import os
import re
from pathlib import Path

_UTF16_32_BOMS = ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
                  (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16"))


# a secret file holds a line (a token, a password): a bigger file is the wrong file
MAX_SECRET_BYTES = 64 << 10


class FileUnreadable(OSError):
    """The file is missing or cannot be read (permissions, a folder): not a verdict on
    its content."""


class FileTooLarge(ValueError):
    """The file is longer than the reader allows."""


class FileEncodingError(ValueError):
    """The file is not UTF-8; `detail` names the encoding it looks like."""

    def __init__(self, source: str, encoding: str, offset: int | None = None) -> None:
        self.source, self.encoding = source, encoding
        at = f" (byte {offset:,} is not UTF-8)" if offset is not None else ""
        self.detail = (f"the file is not UTF-8{at}; it looks like {encoding}. Save it as "
                       "UTF-8 (\"UTF-8\" or \"CSV UTF-8\" in the editor's Save as dialog, "
                       "with or without BOM), or convert it with iconv -t UTF-8")
        super().__init__(f"{source}: {self.detail}")


def decode_text(data: bytes, source: str) -> str:
    """`data` as text: UTF-8, a leading BOM dropped; else FileEncodingError."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    else:
        for bom, name in _UTF16_32_BOMS:
            if data.startswith(bom):
                raise FileEncodingError(source, name)
    if b"\0" in data[:4096] and guess_encoding(data) == "UTF-16":
        raise FileEncodingError(source, "UTF-16")  # valid UTF-8 bytes, but NULs between
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise FileEncodingError(source, guess_encoding(data), e.start) from None


def guess_encoding(data: bytes) -> str:
    """The encoding non-UTF-8 bytes most probably are in (a name for the message)."""
    sample = data[:4096]
    if len(sample) >= 4 and sample.count(0) * 4 >= len(sample):
        # ASCII text in UTF-16 has a NUL beside every character
        return "UTF-16"
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        pass
    else:
        if all(b >= 0x80 for ch in text if ord(ch) > 0x7F for b in ch.encode("gb18030")):
            # Chinese text runs several characters together; one accented letter between
            # ASCII ones ("Größe") is a pair of high bytes in either encoding
            runs = re.findall(rb"[\x80-\xff]+", data)
            if any(len(r) >= 4 for r in runs):
                return "GBK/GB18030"
            return "GBK/GB18030 or Windows-1252"
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return "an 8-bit encoding other than UTF-8"
    return "Windows-1252"


def read_text(path: str | os.PathLike[str], max_bytes: int = 64 << 20) -> str:
    """A text file's content (decode_text). FileUnreadable when it is missing or cannot
    be read; a file longer than `max_bytes` (a device, a log given by mistake) is read no
    further than that and refused as FileTooLarge."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as e:
        raise FileUnreadable(f"cannot read {p}: {e.strerror or e}") from None
    if len(data) > max_bytes:
        raise FileTooLarge(f"{p}: more than {max_bytes:,} bytes: refused without reading "
                           "further")
    return decode_text(data, str(p))
