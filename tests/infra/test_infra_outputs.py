"""outputs: writability checked before the work, atomic writes with umask modes, symlinks written through."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import resnet_cli.outputs as outputs
from resnet_cli.errors import UserError
from resnet_cli.outputs import atomic_path, check_writable, write_atomic

ROOT_USER = hasattr(os, "geteuid") and os.geteuid() == 0


def one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


def listing(*folders: Path) -> list[str]:
    return sorted(str(p) for folder in folders for p in folder.iterdir())


def test_a_writable_target_passes_and_leaves_nothing_behind(tmp_path):
    before = listing(tmp_path)
    check_writable(tmp_path / "out.json", "--out")
    (tmp_path / "old.json").write_text("x")
    check_writable(tmp_path / "old.json", "--out")
    assert listing(tmp_path) == sorted(before + [str(tmp_path / "old.json")])


def test_missing_folder(tmp_path):
    with pytest.raises(UserError) as exc:
        check_writable(tmp_path / "nope" / "out.json", "--out")
    assert one_line(exc).startswith("--out ") and "does not exist" in one_line(exc)


def test_a_directory_is_refused_also_through_a_symlink(tmp_path):
    (tmp_path / "dir").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "dir")
    for target in ("dir", "link"):
        with pytest.raises(UserError, match=r"^--plot .*: is a directory, not a file$"):
            check_writable(tmp_path / target, "--plot")


def test_a_folder_where_no_file_can_be_created(tmp_path):
    if ROOT_USER:
        # Permission bits do not stop root; /sys is a folder where even root cannot create a file.
        folder = Path("/sys")
        try:
            (folder / ".resnet-cli-probe").touch()
        except OSError:
            pass
        else:
            (folder / ".resnet-cli-probe").unlink()
            pytest.skip("running as root and /sys accepts new files here: no unwritable folder to test with")
    else:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
    try:
        with pytest.raises(UserError) as exc:
            check_writable(folder / "out.json", "--out")
        assert one_line(exc).startswith(f"--out {folder / 'out.json'}: cannot create files in folder {folder}")
    finally:
        if not ROOT_USER:
            folder.chmod(0o755)


@pytest.mark.skipif(ROOT_USER, reason="root may write any file whatever its permission bits")
def test_an_existing_read_only_file(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("{}")
    target.chmod(0o444)
    with pytest.raises(UserError, match=r"^--out .*: the existing file is not writable$"):
        check_writable(target, "--out")


def test_a_non_regular_file_is_refused(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(UserError, match="not a regular file"):
        check_writable(fifo, "--out")


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664), (0o000, 0o666)])
def test_new_files_get_0666_minus_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        write_atomic(tmp_path / "out.json", "{}\n")
        with atomic_path(tmp_path / "fig.png") as tmp:
            Path(tmp).write_bytes(b"\x89PNG")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out.json").stat().st_mode) == mode
    assert stat.S_IMODE((tmp_path / "fig.png").stat().st_mode) == mode
    assert listing(tmp_path) == [str(tmp_path / "fig.png"), str(tmp_path / "out.json")]


def test_replacing_a_file_keeps_its_mode_and_writes_text_and_bytes_exactly(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")
    target.chmod(0o640)
    write_atomic(target, "a,b\r\n1,2\n")
    assert target.read_bytes() == b"a,b\r\n1,2\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    write_atomic(target, b"\x00\xff")
    assert target.read_bytes() == b"\x00\xff"


def test_a_symlink_is_written_through_and_kept(tmp_path):
    real_dir, link_dir = tmp_path / "real", tmp_path / "links"
    real_dir.mkdir()
    link_dir.mkdir()
    (real_dir / "result.json").write_text("old")
    link = link_dir / "out.json"
    link.symlink_to(Path("..") / "real" / "result.json")  # relative, from another folder
    check_writable(link, "--out")
    write_atomic(link, "new")
    assert link.is_symlink() and os.readlink(link) == os.path.join("..", "real", "result.json")
    assert (real_dir / "result.json").read_text() == "new"
    with atomic_path(link) as tmp:
        assert Path(tmp).parent == real_dir  # the temp file lives beside the real file (same filesystem)
        Path(tmp).write_text("newer")
    assert link.is_symlink() and (real_dir / "result.json").read_text() == "newer"
    assert listing(real_dir, link_dir) == [str(link), str(real_dir / "result.json")]


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "out.json"
    link.symlink_to(tmp_path / "made.json")
    check_writable(link, "--out")
    write_atomic(link, "x")
    assert link.is_symlink() and (tmp_path / "made.json").read_text() == "x"


@pytest.mark.parametrize("error", [KeyboardInterrupt, OSError])
def test_an_interrupted_write_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch, error):
    target = tmp_path / "out.json"
    target.write_text("old")

    def boom(fd):
        raise error()

    monkeypatch.setattr(outputs.os, "fsync", boom)
    with pytest.raises(error):
        write_atomic(target, "new")
    monkeypatch.undo()
    with pytest.raises(error):
        with atomic_path(target) as tmp:
            Path(tmp).write_text("half")
            raise error()
    assert target.read_text() == "old"
    assert listing(tmp_path) == [str(target)]


def test_a_file_written_twice_is_kept_once(tmp_path):
    """The stop line counts files: reproductions.md rewritten after each section was counted each time."""
    from resnet_cli import outputs

    outputs.forget_written()
    for name in ("a.md", "b.json", "a.md"):
        outputs.write_atomic(tmp_path / name, b"x")
    assert outputs.written() == [str(tmp_path / "b.json"), str(tmp_path / "a.md")]
    outputs.forget_written()


def test_an_output_name_near_the_length_limit_is_written(tmp_path):
    """A 245-byte name made the temp name `.{name}.XXXXXXXX.check` longer than 255 bytes: 'File name too long',
    an output the file system accepts was refused."""
    target = tmp_path / ("é" * 120 + ".json")  # 245 bytes in UTF-8
    check_writable(target, "--out")
    write_atomic(target, "{}\n")
    assert target.read_text() == "{}\n" and sorted(p.name for p in tmp_path.iterdir()) == [target.name]


@pytest.mark.parametrize("name", ["\udcff.json", "\udcff" * 250 + ".json", "é" * 123 + "\udcff.json"])
def test_an_output_name_not_in_utf8_is_written(tmp_path, name):
    """A name with bytes that are not UTF-8 (a shell's $'\\xff.json', surrogate-escaped by Python) ended in an
    internal error (UnicodeEncodeError) while its temp name was made; cut to the length limit, too."""
    target = tmp_path / name
    if len(os.fsencode(name)) > 255:
        with pytest.raises(UserError):
            check_writable(target, "--out")
        return
    check_writable(target, "--out")
    write_atomic(target, "{}\n")
    assert target.read_text() == "{}\n" and [p.name for p in tmp_path.iterdir()] == [name]
