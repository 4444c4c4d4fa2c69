"""Files as plants have them: UTF-8 with or without BOM read, other encodings named.

Configuration, registry and secret files share one reader (lineside/textfiles.py). The
encoded files are made here from one text, so each case says which editor wrote it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lineside.report.data import RegistryError, load_registry
from lineside.textfiles import FileEncodingError, FileUnreadable, decode_text, read_text

REGISTRY_CSV = "id,name,region\ncd-beef-01,成都川味卤牛肉有限公司,510116\n"
REGISTRY_YAML = ("enterprises:\n"
                 "  - {id: cd-beef-01, name: 成都川味卤牛肉有限公司, region: \"510116\"}\n")

# (saved by, bytes) -> the encoding the message names
NOT_UTF8 = [
    ("Notepad, Chinese Windows (GBK)", REGISTRY_CSV.encode("gbk"), "GBK/GB18030"),
    ("GB18030", REGISTRY_CSV.encode("gb18030"), "GBK/GB18030"),
    ("Notepad 'Unicode' (UTF-16 LE with BOM)", REGISTRY_CSV.encode("utf-16"), "UTF-16"),
    ("UTF-16 BE without BOM", "id,name,region\n".encode("utf-16-be"), "UTF-16"),
    ("UTF-16 LE without BOM", "id,name,region\n".encode("utf-16-le"), "UTF-16"),
    ("UTF-32", REGISTRY_CSV.encode("utf-32"), "UTF-32"),
    ("Excel 'CSV', European Windows (Windows-1252)",
     "id,name,region\nde-1,Fleischerei Müller,276\n".encode("cp1252"), "Windows-1252"),
    ("Windows-1252, one accented letter (either encoding: both named)",
     "id,name,region\nfr-1,Größe,250\n".encode("cp1252"), "GBK/GB18030 or Windows-1252"),
    ("neither", b"id\n\x81\xff\xfe\x81", "an 8-bit encoding other than UTF-8"),
]


@pytest.mark.parametrize(("editor", "data", "encoding"), NOT_UTF8,
                         ids=[c[0] for c in NOT_UTF8])
def test_another_encoding_is_named(editor: str, data: bytes, encoding: str) -> None:
    with pytest.raises(FileEncodingError) as exc:
        decode_text(data, "registry.csv")
    assert exc.value.encoding == encoding, editor
    assert str(exc.value).startswith("registry.csv: the file is not UTF-8")
    assert "Save it as UTF-8" in str(exc.value)


@pytest.mark.parametrize("data", [REGISTRY_CSV.encode(), b"\xef\xbb\xbf" + REGISTRY_CSV.encode()],
                         ids=["UTF-8", "UTF-8 with BOM (Excel 'CSV UTF-8')"])
def test_utf8_with_or_without_bom_reads_the_same(data: bytes) -> None:
    assert decode_text(data, "r.csv") == REGISTRY_CSV


@pytest.mark.parametrize(("name", "text"), [("registry.csv", REGISTRY_CSV),
                                            ("registry.yaml", REGISTRY_YAML)])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["no BOM", "BOM"])
def test_a_registry_with_a_bom_is_read(tmp_path: Path, name: str, text: str,
                                       bom: bytes) -> None:
    # the Excel "CSV UTF-8" registry was refused as "registry entry 1: missing id"
    path = tmp_path / name
    path.write_bytes(bom + text.encode())
    [entry] = load_registry(path)
    assert (entry.id, entry.name, entry.region) == ("cd-beef-01", "成都川味卤牛肉有限公司",
                                                    "510116")


@pytest.mark.parametrize(("content", "error", "words"), [
    (REGISTRY_CSV.encode("gbk"), RegistryError, "looks like GBK/GB18030"),
    (b"enterprises: [\n", RegistryError, "invalid YAML"),
    (None, FileUnreadable, "No such file"),
], ids=["GBK", "broken YAML", "missing"])
def test_registry_errors(tmp_path: Path, content: bytes | None, error: type,
                         words: str) -> None:
    path = tmp_path / ("r.csv" if content and content.startswith(b"id") else "r.yaml")
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(error, match=words):
        load_registry(path)


def test_a_device_or_a_huge_file_is_not_read_whole(tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_bytes(b"x" * 2000)
    with pytest.raises(ValueError, match="more than 1,000 bytes"):
        read_text(big, max_bytes=1000)
    with pytest.raises(ValueError, match="more than 1,000 bytes"):
        read_text("/dev/zero", max_bytes=1000)


@pytest.mark.parametrize(("content", "code", "words"), [
    (REGISTRY_CSV.encode("gbk"), 2, "looks like GBK/GB18030"),
    (None, 66, "No such file"),
], ids=["another encoding: invalid (2)", "missing: no input (66)"])
def test_report_exit_codes_for_the_registry(tmp_path: Path, content: bytes | None,
                                            code: int, words: str) -> None:
    path = tmp_path / "registry.csv"
    if content is not None:
        path.write_bytes(content)
    r = subprocess.run([sys.executable, "-m", "lineside.cli", "report", "--registry",
                        str(path), "--url", "http://127.0.0.1:9", "--db", "x"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == code, r.stderr
    assert words in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize(("data", "secret"), [
    (b"s3cr3t\n", "s3cr3t"),
    (b"\xef\xbb\xbfs3cr3t\r\n", "s3cr3t"),  # Notepad: BOM and CRLF, as check accepts it
    ("令牌\n".encode("gbk"), None),  # refused and logged, never sent garbled
], ids=["UTF-8", "UTF-8 with BOM", "GBK"])
def test_the_agent_reads_secret_files_as_check_does(tmp_path: Path, data: bytes,
                                                    secret: str | None) -> None:
    from lineside.drivers.opcua.security import OpcuaSetupError, read_password
    from lineside.drivers.opcua.settings import OpcuaDevice
    from lineside.sinks.writers import read_secret

    path = tmp_path / "secret"
    path.write_bytes(data)
    assert read_secret(None, path, "sink plant token") == secret
    device = OpcuaDevice(id="plc", type="opcua", endpoint="opc.tcp://127.0.0.1:4840",
                         username="op", password_file=path)
    if secret is None:
        with pytest.raises(OpcuaSetupError, match="looks like GBK"):
            read_password(device)
    else:
        assert read_password(device) == secret


@pytest.mark.parametrize("command", [
    ["check", "{cfg}"], ["run", "{cfg}"], ["replay", "/dev/null", "{cfg}"],
    ["export", "--config", "{cfg}"],
    ["haccp", "--config", "{cfg}", "--url", "http://127.0.0.1:9", "--db", "x"],
], ids=lambda c: c[0])
@pytest.mark.parametrize(("content", "code"), [(b"site: [\n", 2), (None, 66)],
                         ids=["invalid: 2", "missing: 66"])
def test_every_command_that_reads_a_configuration_exits_alike(
        tmp_path: Path, command: list[str], content: bytes | None, code: int,
        capsys: pytest.CaptureFixture) -> None:
    from lineside.cli.main import main

    cfg = tmp_path / "plant.yaml"
    if content is not None:
        cfg.write_bytes(content)
    assert main([a.format(cfg=cfg) for a in command]) == code
    err = capsys.readouterr().err
    # check and run speak the site's language, zh-CN when the file does not say
    assert (f"{cfg}: 1 error" in err or f"{cfg}：1 个错误" in err) and "Traceback" not in err
