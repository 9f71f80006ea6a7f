"""Hostile inputs (issue 9): file names that try to become code, outputs that are devices,
special files as inputs, write semantics, temp debris and bounds. Every case here once ran
code, replaced a file, hung, or ended in a traceback."""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import io
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
import tokenize
from pathlib import Path

import pytest

import archc
from archc.codegen.pytorch import generate
from tests.conftest import ROOT

LENET = ROOT / "examples/lenet5.arch"
SMALL = "network Small {\n    input 1x8x8\n    conv(4, k=3) relu\n    flatten linear(2)\n}\n"


def archc_cli(*args: str, cwd=None, stdin=None, timeout: float = 120, env=None, **kwargs):
    """archc in a fresh process (real file descriptors, real exit status)."""
    code = "import sys; from archc.cli import main; main(sys.argv[1:], prog_name='archc')"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, stdin=stdin,
                          capture_output=True, text=True, timeout=timeout,
                          env=env or {**os.environ, "PYTHONPATH": str(ROOT)}, **kwargs)


# ---- 1. nothing from a file name changes how the emitted file decodes or what it runs ---------

HOSTILE_NAMES = [
    "net coding=utf-7 +AAo-import os; os.system('touch PWNED')+AAo-#.arch",
    "x coding=bogus.arch",
    "a\rimport os\r#.arch",
    "a\nimport os\n#.arch",
    "a\x0cimport os.arch",
    "a\x00b.arch",
    "a\u2028import os\u2029.arch",
    "a\x85b.arch",
    "trailing backslash \\",
    "vim: set fileencoding=latin-1 :",
    "caf\xe9 \U0001f600.arch",
]


def _module_shape(source: str) -> str:
    return ast.dump(ast.parse(source))


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_spec_name_cannot_reach_code_or_decoding(name: str) -> None:
    model = archc.loads(SMALL)
    plain = generate(model, "spec.arch").source
    hostile = generate(model, name).source
    assert hostile.isascii()
    assert all(c == "\n" or " " <= c <= "~" for c in hostile)
    encoding, _ = tokenize.detect_encoding(io.BytesIO(hostile.encode()).readline)
    assert encoding == "utf-8"
    # Same module, statement for statement: the name lives only inside a comment.
    assert _module_shape(hostile) == _module_shape(plain)
    assert hostile.splitlines()[3:] == plain.splitlines()[3:]


def test_build_with_a_coding_cookie_in_the_file_name_runs_nothing(tmp_path) -> None:
    pytest.importorskip("torch")
    name = "net coding=utf-7 +AAo-import os; os.system('touch PWNED')+AAo-#.arch"
    spec = tmp_path / name
    spec.write_text(SMALL, encoding="utf-8")
    out = tmp_path / "model.py"
    done = archc_cli("build", name, "-o", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    imported = subprocess.run([sys.executable, "-c", "import model"], cwd=tmp_path,
                              capture_output=True, text=True)
    assert imported.returncode == 0, imported.stderr
    assert not (tmp_path / "PWNED").exists()


# ---- 2, 3. build -o: devices and FIFOs are written through, bad paths are one-line errors ----

def _build_to(out: str, cwd=None, **kwargs):
    return archc_cli("build", str(LENET), "--no-verify", "-o", out, cwd=cwd, **kwargs)


def _one_line_error(done, status: int) -> str:
    assert done.returncode == status, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("archc: cannot write"), done.stderr
    return lines[0]


@pytest.mark.parametrize("out", ["folder", "", ".", "/", "missing/model.py"])
def test_build_to_a_bad_path_is_a_usage_error(tmp_path, out: str) -> None:
    (tmp_path / "folder").mkdir()
    _one_line_error(_build_to(out, cwd=tmp_path), 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]
    assert list((tmp_path / "folder").iterdir()) == []


@pytest.mark.parametrize("target", ["the spec", "a link to it", "an included file"])
def test_build_never_writes_over_its_own_sources(tmp_path, target: str) -> None:
    (tmp_path / "blocks.arch").write_text(
        "block stem(c) {\n  conv(c, k=3, p=1) relu\n}\n", encoding="utf-8")
    spec = tmp_path / "net.arch"
    spec.write_text('include "blocks.arch"\nnetwork Net {\n  input 3x8x8\n  stem(4)\n'
                    '  global_avgpool flatten linear(2)\n}\n', encoding="utf-8")
    (tmp_path / "link.arch").symlink_to(spec)
    out = {"the spec": "net.arch", "a link to it": "link.arch",
           "an included file": "blocks.arch"}[target]
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    done = archc_cli("build", "net.arch", "--no-verify", "-o", out, cwd=tmp_path)
    assert "which the spec is read from" in _one_line_error(done, 2)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def _device(tmp_path, name: str, major: int, minor: int):
    """A private copy of a device node (never the system's: a regression would replace it)."""
    if os.geteuid() != 0:
        pytest.skip("creating device nodes needs root")
    path = tmp_path / name
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
    return path


def test_build_to_a_full_device_reports_it_and_keeps_the_node(tmp_path) -> None:
    full = _device(tmp_path, "full", 1, 7)
    line = _one_line_error(_build_to(str(full)), 1)
    assert line.endswith("No space left on device")
    assert stat.S_ISCHR(full.lstat().st_mode)


def test_build_to_a_null_device_writes_through_it(tmp_path) -> None:
    null = _device(tmp_path, "null", 1, 3)
    done = _build_to(str(null))
    assert done.returncode == 0, done.stderr
    assert stat.S_ISCHR(null.lstat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]


def test_build_to_a_fifo_without_reader_fails_at_once(tmp_path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    _one_line_error(_build_to(str(fifo), timeout=60), 1)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_build_to_a_fifo_with_a_reader_writes_through_it(tmp_path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    try:
        done = _build_to(str(fifo), timeout=60)
    finally:
        with contextlib.suppress(OSError):  # unblock the reader if build never opened it
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(10)
    assert done.returncode == 0, done.stderr
    assert received and received[0].startswith(b"# -*- coding: utf-8 -*-\n")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_build_to_dev_stdout_into_a_pipe() -> None:
    done = _build_to("/dev/stdout")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# -*- coding: utf-8 -*-\n") and "class LeNet5" in done.stdout


@contextlib.contextmanager
def _as_nobody():
    os.setegid(65534)
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to another user needs root")
def test_build_into_a_folder_without_write_permission() -> None:
    from click.testing import CliRunner

    from archc.cli import main

    top = Path(tempfile.mkdtemp(prefix="archc-test-"))  # not under pytest's root-only folder
    try:
        top.chmod(0o755)
        with _as_nobody():
            done = CliRunner().invoke(main, ["build", "-", "--no-verify", "-o",
                                             str(top / "model.py")], input=SMALL)
        assert done.exit_code == 2, done.output
        assert done.output.startswith("archc: cannot write") and "not writable" in done.output
        assert list(top.iterdir()) == []
    finally:
        shutil.rmtree(top)


# ---- 6. fmt keeps owner and group, refuses to split hard links or rewrite read-only files ----

UGLY = "network  Ugly {input 1x8x8\nconv(4,k=3)   relu}\n"


def test_fmt_refuses_to_split_a_hard_link(tmp_path) -> None:
    spec, other = tmp_path / "a.arch", tmp_path / "b.arch"
    spec.write_text(UGLY, encoding="utf-8")
    os.link(spec, other)
    done = archc_cli("fmt", str(spec))
    assert done.returncode == 1 and "hard links" in done.stderr and "Traceback" not in done.stderr
    assert spec.read_text() == UGLY and os.path.samefile(spec, other)


def test_fmt_refuses_a_read_only_file(tmp_path) -> None:
    spec = tmp_path / "a.arch"
    spec.write_text(UGLY, encoding="utf-8")
    spec.chmod(0o444)
    done = archc_cli("fmt", str(spec))
    assert done.returncode == 1 and "read-only" in done.stderr
    assert spec.read_text() == UGLY and stat.S_IMODE(spec.stat().st_mode) == 0o444


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_fmt_as_root_keeps_the_owner(tmp_path) -> None:
    spec = tmp_path / "a.arch"
    spec.write_text(UGLY, encoding="utf-8")
    os.chown(spec, 65534, 65534)
    done = archc_cli("fmt", str(spec))
    assert done.returncode == 0, done.stderr
    assert spec.read_text() != UGLY
    assert (spec.stat().st_uid, spec.stat().st_gid) == (65534, 65534)


# ---- 7. debris: stale temporaries are swept, verification leaves nothing in /tmp --------------

def test_stale_temporaries_of_a_killed_run_are_swept(tmp_path) -> None:
    spec = tmp_path / "a.arch"
    spec.write_text(UGLY, encoding="utf-8")
    stale, fresh = tmp_path / ".a.arch.abcd1234.tmp", tmp_path / ".a.arch.efgh5678.tmp"
    unrelated = tmp_path / ".b.arch.abcd1234.tmp"
    for path in (stale, fresh, unrelated):
        path.write_text("partial")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    os.utime(unrelated, (old, old))
    assert archc_cli("fmt", str(spec)).returncode == 0
    assert not stale.exists() and fresh.exists() and unrelated.exists()


def test_verified_build_leaves_nothing_in_the_temp_folder(tmp_path) -> None:
    pytest.importorskip("torch")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    out = tmp_path / "model.py"
    done = archc_cli("build", str(LENET), "--verify", "-o", str(out),
                     env={**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(scratch)})
    assert done.returncode == 0 and "verified" in done.stderr, done.stderr
    assert list(scratch.glob("archc-*")) == []  # (torch keeps its own caches there)


def test_build_module_removes_its_file_at_exit(tmp_path) -> None:
    pytest.importorskip("torch")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    code = (f"import inspect, archc; net = archc.build_module({str(LENET)!r}); "
            "assert 'class LeNet5' in inspect.getsource(type(net))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(scratch)})
    assert done.returncode == 0, done.stderr
    assert list(scratch.glob("archc-*")) == []  # (torch keeps its own caches there)


# ---- 5, 9. only regular files (and stdin) are read, within a size cap; E005 otherwise --------

def _e005(done, name: str) -> None:
    assert done.returncode == 1, done.stderr + done.stdout
    out = done.stderr + done.stdout
    assert f"{name}:1:1: error[E005]" in out and "Traceback" not in out


@pytest.mark.parametrize("command", ["check", "params", "build", "lint", "fmt", "fmt --check"])
def test_a_fifo_is_refused_not_waited_on(tmp_path, command: str) -> None:
    os.mkfifo(tmp_path / "pipe.arch")
    extra = ["-o", "out.py"] if command == "build" else []
    _e005(archc_cli(*command.split(), "pipe.arch", *extra, cwd=tmp_path, timeout=60), "pipe.arch")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe.arch"]


@pytest.mark.parametrize("target", ["/dev/zero", "/dev/urandom"])
@pytest.mark.parametrize("command", ["check", "lint", "fmt"])
def test_endless_devices_are_refused_directly_and_through_links(tmp_path, target: str,
                                                               command: str) -> None:
    if not os.path.exists(target):
        pytest.skip(f"no {target}")
    (tmp_path / "link.arch").symlink_to(target)
    _e005(archc_cli(command, "link.arch", cwd=tmp_path, timeout=60), "link.arch")
    _e005(archc_cli(command, target, timeout=60), target)


def test_endless_stdin_stops_at_the_cap() -> None:
    with open("/dev/zero", "rb") as zero:
        done = archc_cli("check", "-", stdin=zero, timeout=60)
    _e005(done, "<stdin>")
    assert "limit" in done.stderr


def test_a_file_over_the_cap_is_refused_before_parsing(tmp_path) -> None:
    spec = tmp_path / "big.arch"
    spec.write_text("network Big {\n    input 3x8x8\n" + "    relu\n" * 1000 + "}\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ARCHC_MAX_FILE_SIZE": "4k"}
    for command in ("check", "lint", "fmt"):
        done = archc_cli(command, str(spec), env=env)
        _e005(done, str(spec))
        assert "4,000-byte limit" in done.stderr + done.stdout
    assert archc_cli("check", str(spec)).returncode == 0  # within the default cap


@pytest.mark.parametrize("command", ["check", "lint", "fmt"])
def test_invalid_utf8_on_stdin_is_e005(command: str) -> None:
    data = b"network A { input 3x8x8 relu }  # caf\xe9\n"
    for encoding in ("utf-8", "latin-1"):
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": encoding}
        done = subprocess.run([sys.executable, "-c", "from archc.cli import main; main()",
                               command, "-"], input=data, capture_output=True, env=env)
        out = (done.stderr + done.stdout).decode()
        assert done.returncode == 1, out
        assert "<stdin>:1:1: error[E005]: the file is not valid UTF-8" in out
        assert "Traceback" not in out


def test_a_symlink_loop_in_a_folder_is_e005(tmp_path) -> None:
    (tmp_path / "a.arch").symlink_to("b.arch")
    (tmp_path / "b.arch").symlink_to("a.arch")
    (tmp_path / "ok.arch").write_text(SMALL)
    for command in ("lint", "fmt"):
        done = archc_cli(command, str(tmp_path))
        _e005(done, str(tmp_path / "a.arch"))
        assert f"{tmp_path / 'b.arch'}:1:1: error[E005]" in done.stdout + done.stderr
    _e005(archc_cli("check", str(tmp_path / "a.arch")), str(tmp_path / "a.arch"))


@pytest.mark.skipif(os.geteuid() != 0, reason="an unreadable file needs another user")
def test_an_unreadable_file_is_e005_named_or_in_a_folder() -> None:
    from click.testing import CliRunner

    from archc.cli import main

    top = Path(tempfile.mkdtemp(prefix="archc-test-"))
    try:
        top.chmod(0o755)
        secret = top / "secret.arch"
        secret.write_text(SMALL)
        secret.chmod(0o600)
        with _as_nobody():
            named = CliRunner().invoke(main, ["lint", str(secret)])
            folder = CliRunner().invoke(main, ["lint", str(top)])
            checked = CliRunner().invoke(main, ["check", str(secret)])
        for result in (named, folder, checked):
            assert result.exit_code == 1, result.output
            assert f"{secret}:1:1: error[E005]: cannot read" in result.output
    finally:
        shutil.rmtree(top)


# ---- 8. configuration inside the linted tree cannot lift the bomb protection -----------------

BOMB = ("block wide(c) {\n    relu * 1000\n}\n"
        "network Bomb {\n    input 3x8x8\n    wide(3) * 1000\n}\n")


def test_a_pyproject_beside_the_specs_cannot_lift_the_layer_cap(tmp_path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.archc]\nmax-layers = 10000000000000\n")
    (tmp_path / "bomb.arch").write_text(BOMB)
    done = archc_cli("lint", "bomb.arch", cwd=tmp_path, timeout=60)
    assert done.returncode == 1 and "error[E301]" in done.stdout, done.stdout + done.stderr
    # It may still lower it.
    (tmp_path / "pyproject.toml").write_text("[tool.archc]\nmax-layers = 100\n")
    (tmp_path / "ok.arch").write_text("network Ok {\n    input 3x8x8\n    relu * 200\n}\n")
    assert "error[E301]" in archc_cli("lint", "ok.arch", cwd=tmp_path).stdout


def test_the_ceiling_matches_the_compilers_default() -> None:
    from archc.config import MAX_LAYERS_CEILING
    from archc.expand import Limits

    assert Limits().max_layers == MAX_LAYERS_CEILING


# ---- 4. what check accepts, PyTorch accepts; what it cannot build is E401, never a traceback --

REFUSED_AT_CHECK = {
    "stride past int64": ("conv(4, k=1, s=9223372036854775808)", "E104"),
    "softmax axis past int64": ("softmax(dim=9223372036854775808)", "E104"),
    "softmax axis that does not exist": ("softmax(dim=4)", "E104"),
    "softmax axis before the batch": ("softmax(dim=-5)", "E104"),
    "lrn window past int64": ("lrn(size=9223372036854775808)", "E104"),
    "lrn window past the argument cap": ("lrn(size=2199023255553)", "E104"),
    "instancenorm on one value per channel": ("global_avgpool instancenorm", "E201"),
}


@pytest.mark.parametrize("case", list(REFUSED_AT_CHECK))
def test_values_pytorch_refuses_are_refused_by_check(case: str) -> None:
    body, code = REFUSED_AT_CHECK[case]
    with pytest.raises(archc.ArchcError) as caught:
        archc.loads(f"network N {{\n    input 3x8x8\n    {body}\n}}\n")
    assert [d.code.value for d in caught.value.diagnostics] == [code]


@pytest.mark.parametrize("dim", [-4, -1, 0, 1, 3])
def test_every_softmax_axis_check_accepts_runs_in_pytorch(dim: int) -> None:
    torch = pytest.importorskip("torch")
    net = archc.build_module(f"network N {{\n    input 3x8x8\n    softmax(dim={dim})\n}}\n")
    out = net(torch.rand(2, 3, 8, 8))
    assert torch.allclose(out.sum(dim=dim), torch.ones(()))  # a real tensor, not the meta one


def test_tensor_whose_storage_overflows_int64_is_e304() -> None:
    with pytest.raises(archc.ArchcError) as caught:
        archc.loads("network N {\n    input 16777216x16777216x16777216\n    relu\n}\n")
    assert {d.code.value for d in caught.value.diagnostics} == {"E304"}


def test_a_layer_whose_parameters_overflow_is_e304() -> None:
    # Each size within the caps; their product (2^48 weights) is not.
    spec = "network N {\n    input 16777216\n    linear(16777216)\n}\n"
    with pytest.raises(archc.ArchcError) as caught:
        archc.loads(spec)
    assert {d.code.value for d in caught.value.diagnostics} == {"E304"}


def _build_source(spec: str) -> str:
    return generate(archc.loads(spec), "spec.arch").source


def test_block_parameter_named_like_a_generated_class() -> None:
    torch = pytest.importorskip("torch")
    spec = ("block outer(Inner) {\n    inner(Inner)\n}\nblock inner(c) {\n    conv(c, k=1)\n}\n"
            "network N {\n    input 3x8x8\n    outer(4)\n}\n")
    net = archc.build_module(spec)
    assert net(torch.rand(1, 3, 8, 8)).shape == (1, 4, 8, 8)


def test_codegen_has_the_stages_recursion_headroom() -> None:
    def nest(body: str) -> str:
        for _ in range(60):
            body = f"concat {{ branch {{ {body} }} }}"
        return body

    spec = (f"block b0(c) {{ {nest('conv(c, k=1)')} }}\nblock b1(c) {{ {nest('b0(c)')} }}\n"
            f"block b2(c) {{ {nest('b1(c)')} }}\nnetwork N {{ input 3x8x8 b2(4) }}\n")
    source = _build_source(spec)
    compile(source, "model.py", "exec")


def test_whatever_pytorch_raises_in_verification_is_e401() -> None:
    pytest.importorskip("torch")
    from archc.codegen.build import verify
    from archc.codegen.pytorch import Generated

    model = archc.loads(SMALL)
    broken = Generated("import torch\nclass Small(torch.nn.Module):\n    def __init__(self):\n"
                       "        raise ValueError('refused by PyTorch')\n", "Small", [])
    with pytest.raises(archc.ArchcError) as caught:
        verify(model, broken)
    (diag,) = caught.value.diagnostics
    assert diag.code.value == "E401" and "ValueError: refused by PyTorch" in diag.message


# ---- 8. build stays bounded: verification is capped, never minutes of PyTorch ---------------

def test_build_over_the_verify_cap_is_written_unverified_or_refused(tmp_path, monkeypatch) -> None:
    from click.testing import CliRunner

    import archc.cli.build
    from archc.cli import main

    monkeypatch.setattr(archc.cli.build, "MAX_VERIFY_LAYERS", 10, raising=False)
    spec = tmp_path / "long.arch"
    spec.write_text("network Long {\n    input 3x8x8\n    relu * 11\n}\n")
    out = tmp_path / "model.py"
    default = CliRunner().invoke(main, ["build", str(spec), "-o", str(out)])
    assert default.exit_code == 0, default.output
    assert "not verified (11 layers, over the 10 verify cap)" in default.output
    assert "class Long" in out.read_text()
    out.unlink()
    explicit = CliRunner().invoke(main, ["build", str(spec), "-o", str(out), "--verify"])
    assert explicit.exit_code == 2 and "--no-verify" in explicit.output
    assert not out.exists()
    spec.write_text("network Long {\n    input 3x8x8\n    relu * 10\n}\n")
    if importlib.util.find_spec("torch") is not None:
        at_cap = CliRunner().invoke(main, ["build", str(spec), "-o", str(out)])
        assert at_cap.exit_code == 0 and "verified against the analyzer" in at_cap.output


def test_a_pyproject_that_is_a_fifo_or_too_large_is_not_read(tmp_path) -> None:
    (tmp_path / "ok.arch").write_text(SMALL)
    (tmp_path / "pyproject.toml").write_text("[tool.archc]\n" + "# padding\n" * 1000)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ARCHC_MAX_FILE_SIZE": "4k"}
    done = archc_cli("lint", "ok.arch", cwd=tmp_path, env=env, timeout=60)
    assert done.returncode == 2 and "pyproject.toml: cannot read" in done.stderr, done.stderr
    os.unlink(tmp_path / "pyproject.toml")
    os.mkfifo(tmp_path / "pyproject.toml")  # not a regular file: not a configuration either
    assert archc_cli("lint", "ok.arch", cwd=tmp_path, timeout=60).returncode == 0


@pytest.mark.parametrize("out", ["folder", "", "missing/x.svg"])
def test_render_to_a_bad_path_is_a_usage_error(tmp_path, out: str) -> None:
    (tmp_path / "folder").mkdir()
    done = archc_cli("render", str(LENET), "-o", out, cwd=tmp_path)
    _one_line_error(done, 2)


def test_render_to_a_device_writes_through_it(tmp_path) -> None:
    null = _device(tmp_path, "null", 1, 3)
    done = archc_cli("render", str(LENET), "--format", "svg", "-o", str(null))
    assert done.returncode == 0, done.stderr
    assert stat.S_ISCHR(null.lstat().st_mode)


# ---- terminal escapes: nothing from a spec or a file name reaches the terminal raw ------------

@pytest.mark.parametrize("command", ["check", "lint"])
def test_control_characters_are_shown_not_sent_to_the_terminal(tmp_path, command: str) -> None:
    name = "net\x1b]0;owned\x07.arch"  # an OSC sequence: would retitle the terminal
    (tmp_path / name).write_text("network N {\n  input 3x8x8  # \x1b[2J\u202e\n"
                                 "  conv(4, k=3) \x1b[8mconv(0, k=1)\n}\n", encoding="utf-8")
    done = archc_cli(command, name, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    shown = done.stdout + done.stderr  # lint reports on stdout, check on stderr
    assert not any(ch in shown for ch in "\x1b\x07\u202e"), repr(shown)
    # each control character became one visible character, so the caret stays under its column
    source_line, caret_line = shown.splitlines()[2:4]
    assert "␛[8mconv" in source_line, source_line
    assert source_line[caret_line.index("^")] == "␛"
    assert shown.startswith("net␛]0;owned␇.arch:3:")
