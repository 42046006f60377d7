"""Issue 18 (part A): nothing is read through symlinks, plausible input never crashes, the render
cache is verified, sizes are bounded while reading, and a killed compile leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from modelops.compile import cache as cache_module
from modelops.compile.cache import FILE, FOLDER
from modelops.compile.pipeline import build
from modelops.compile.source import MAX_BYTES
from support import render_cache
from support.fixtures import CONFIG, copy_example_repo, make_repo, modelops_path, run

SECRET = "hunter2-do-not-print"
MODEL = """\
name: iris
team: risk
framework: sklearn
artifact: {uri: "s3://acme-models/iris/v1"}
"""


@pytest.fixture
def example(tmp_path: Path) -> Path:
    root = copy_example_repo(tmp_path / "repo", commit=False, codeowners=True)
    assert run(root, "compile", "--check").returncode == 0
    return root


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line]


# --- symlinks -------------------------------------------------------------------------------


def test_check_never_prints_what_a_generated_symlink_points_at(example: Path) -> None:
    (example / "generated" / "staging" / "env.yaml").symlink_to("/proc/self/environ")
    result = run(example, "compile", "--check", env={"LEAK_ME": SECRET})
    assert result.returncode == 1
    assert SECRET not in result.stdout + result.stderr
    assert lines(result.stderr) == [
        "generated/staging/env.yaml:1:1: MO008 a symlink in generated/ (never followed): "
        "remove it and run `modelops compile`"]


def test_a_folder_symlink_in_generated_is_an_error_not_a_crash(example: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x.yaml").write_text(SECRET)
    (example / "generated" / "staging" / "more").symlink_to(tmp_path / "elsewhere")
    for args in (("compile", "--check"), ("compile",)):
        result = run(example, *args)
        assert result.returncode == 1, result.stderr
        assert SECRET not in result.stdout + result.stderr
        assert [line.split(": ")[1].split()[0] for line in lines(result.stderr)] == ["MO008"]
    assert (tmp_path / "elsewhere" / "x.yaml").read_text() == SECRET  # nothing written through it


def test_generated_being_a_symlink_is_never_followed(example: Path, tmp_path: Path) -> None:
    os.rename(example / "generated", tmp_path / "real")
    (tmp_path / "real" / "secret.yaml").write_text(SECRET)
    (example / "generated").symlink_to(tmp_path / "real")
    result = run(example, "compile", "--check")
    assert result.returncode == 1
    assert SECRET not in result.stdout + result.stderr
    assert lines(result.stderr)[0].startswith("generated:1:1: MO008 ")


def test_model_symlinks_leaving_the_repo_or_dangling_are_reported(example: Path) -> None:
    (example / "models" / "leak.yaml").symlink_to("/etc/passwd")
    (example / "models" / "ghost.yaml").symlink_to(example / "models" / "gone.yaml")
    result = run(example, "compile", "--check")
    assert result.returncode == 1
    assert "root:" not in result.stdout + result.stderr
    assert lines(result.stderr)[:2] == [
        "models/ghost.yaml:1:1: MO007 dangling symlink: its target does not exist",
        "models/leak.yaml:1:1: MO007 symlink leads outside the repository: modelops does not follow it",
    ]


def test_a_model_symlink_inside_the_repo_is_read(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {})
    (root / "shared").mkdir()
    (root / "shared" / "iris.yaml").write_text(MODEL)
    (root / "models" / "iris.yaml").symlink_to(root / "shared" / "iris.yaml")
    result = build(root)
    assert result.diagnostics == [] and result.models == ["iris"]


def test_a_model_file_name_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {"iris.yaml": MODEL})
    (root / "models" / os.fsdecode(b"bad\xff.yaml")).write_text(MODEL)
    for env in ({}, {"MODELOPS_NO_CACHE": "1"}):
        result = run(root, "compile", env=env)
        assert result.returncode == 1
        assert lines(result.stderr) == ["models/bad\\xff.yaml:1:1: MO007 file name is not UTF-8: rename it",
                                        "Found 1 error."]


# --- sizes ----------------------------------------------------------------------------------


def test_a_big_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    keys = "".join(f"k{i}: 1\n" for i in range(8_000_000 // 8))
    root = make_repo(tmp_path / "repo", {"iris.yaml": MODEL + keys})
    started = time.perf_counter()
    result = build(root)
    assert time.perf_counter() - started < 2
    assert [str(d) for d in result.diagnostics] == [
        f"models/iris.yaml:1:1: MO006 file is larger than the limit of {MAX_BYTES} bytes: split it"]


def test_a_big_scalar_is_refused(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {"iris.yaml": MODEL + "description: " + "x" * (2 * MAX_BYTES)})
    assert [d.code for d in build(root).diagnostics] == ["MO006"]


# --- crashes become one line at the key -------------------------------------------------------


@pytest.mark.parametrize("memory", ["1Ei", "2E", "3e2", "1.5e1"])
def test_memory_limits_in_any_quantity_form_are_checked_not_crashed(tmp_path: Path, memory: str) -> None:
    model = MODEL + f"resources:\n  requests: {{memory: 256Mi}}\n  limits: {{memory: {memory}}}\n"
    root = make_repo(tmp_path / "repo", {"iris.yaml": model})
    result = run(root, "validate")
    assert result.returncode in (0, 1), result.stderr
    small = memory in ("3e2", "1.5e1")  # 300 and 15 bytes: below the 256Mi request
    assert ("MO250" in result.stderr) == small, result.stderr


def test_an_infinite_rps_target_is_a_user_error(tmp_path: Path) -> None:
    config = CONFIG.replace("target: seldon-v1", "target: seldon-v2")
    model = MODEL + "autoscaling: {max: 3, rps: .inf}\n"
    result = run(make_repo(tmp_path / "repo", {"iris.yaml": model}, config), "compile")
    assert result.returncode == 1
    assert lines(result.stderr)[0].startswith("models/iris.yaml:5:")
    assert " MO100 autoscaling.rps: " in lines(result.stderr)[0]


def test_a_flux_scp_style_repo_url_is_an_error_at_the_key(tmp_path: Path) -> None:
    config = CONFIG.replace("    target: seldon-v1\n  production:", "    target: seldon-v1\n    sync: flux\n"
                            "    gitops: {repo_url: 'git@github.com:acme/models.git'}\n  production:")
    result = run(make_repo(tmp_path / "repo", {"iris.yaml": MODEL}, config), "compile")
    assert result.returncode == 1
    assert lines(result.stderr)[0] == (
        "modelops.yaml:6:24: MO100 gitops.repo_url 'git@github.com:acme/models.git': Flux needs an "
        "http(s):// or ssh:// URL, e.g. ssh://git@github.com/acme/models.git")


def test_control_characters_in_keys_are_escaped(tmp_path: Path) -> None:
    model = MODEL + 'env:\n  "A\\NB\\e[31m": [1]\n'  # NEL and ESC in a key, in an MO100 field path
    result = run(make_repo(tmp_path / "repo", {"iris.yaml": model}), "validate")
    assert result.returncode == 1
    assert "\x1b" not in result.stderr and "\x85" not in result.stderr
    assert " MO100 env.A\\x85B\\x1b[31m: " in result.stderr
    assert len(lines(result.stderr)) == 3  # MO103 for the name, MO100 for the value, the count


# --- the render cache is verified ------------------------------------------------------------


def _tamper(root: Path, change: object) -> None:
    """Edit the cache's entries as someone who can write the checkout but lacks the key would."""
    found = render_cache.entries(root)
    for entry in found.values():
        change(entry)  # type: ignore[operator]
    render_cache.rewrite(root, found)


def _entries(root: Path) -> dict[str, object]:
    return dict(render_cache.entries(root))


def test_an_edited_cache_cannot_make_check_pass_on_a_hand_edited_tree(example: Path) -> None:
    assert run(example, "compile").returncode == 0
    target = example / "generated" / "staging" / "models-staging" / "iris-classifier.yaml"
    target.write_text(target.read_text().replace("replicas: 2", "replicas: 9"))

    def agree(entry: dict[str, dict[str, str]]) -> None:
        for name in entry["files"]:
            if name.endswith("staging/models-staging/iris-classifier.yaml"):
                entry["files"][name] = target.read_text()

    _tamper(example, agree)
    result = run(example, "compile", "--check")
    assert result.returncode == 1
    assert "-  replicas: 9" in result.stdout or "replicas: 9" in result.stdout


def test_a_cached_name_leaving_generated_is_never_written(example: Path) -> None:
    assert run(example, "compile").returncode == 0

    def escape(entry: dict[str, dict[str, str]]) -> None:
        entry["files"]["../../escaped.yaml"] = "owned\n"

    _tamper(example, escape)
    (example / "generated" / "staging" / "kustomization.yaml").unlink()  # something to write
    assert run(example, "compile").returncode == 0
    assert not (example.parent / "escaped.yaml").exists() and not (example / "escaped.yaml").exists()
    assert run(example, "compile", "--check").returncode == 0


def test_a_corrupt_cache_is_ignored_and_rebuilt(example: Path) -> None:
    assert run(example, "compile").returncode == 0
    (example / FOLDER / FILE).write_text('{"format": 6, "entries": {"k": 1}')
    (example / "generated" / "staging" / "kustomization.yaml").unlink()  # something to compile
    assert run(example, "compile").returncode == 0
    assert _entries(example)


def test_a_cache_cut_short_is_ignored_and_rebuilt(example: Path) -> None:
    """A compile killed while the cache was copied elsewhere, a disk that filled: a cache without
    its HMAC line is not used, and the next compile writes a whole one."""
    assert run(example, "compile").returncode == 0
    path = example / FOLDER / FILE
    path.write_text(path.read_text().rpartition("\n")[0] + "\n")
    (example / "generated" / "staging" / "kustomization.yaml").unlink()  # something to compile
    assert run(example, "compile").returncode == 0
    config = (example / "modelops.yaml").read_text()
    from modelops.compile.emit.schemas import SchemaSet

    assert cache_module.RenderCache(example, config, SchemaSet.find(None, example)).entries


def _cache(root: Path) -> cache_module.RenderCache:
    from modelops.compile.emit.schemas import SchemaSet

    return cache_module.RenderCache(root, (root / "modelops.yaml").read_text(), SchemaSet.find(None, root))


def test_saving_keeps_the_hits_and_the_new_entries_only(example: Path) -> None:
    """The hits' lines are copied from the file again (a large run does not hold them): the saved
    cache holds exactly this run's hits and new entries, and verifies."""
    assert run(example, "compile").returncode == 0
    loaded = _cache(example)
    keys = sorted(loaded.entries)
    assert loaded.get(keys[0]) is not None
    loaded.put("f" * 64, cache_module.entry_json({}, {"name": "new"}, "d"))
    loaded.save()
    assert sorted(_cache(example).entries) == sorted([keys[0], "f" * 64])


def test_a_cache_replaced_by_someone_without_the_key_is_not_signed_when_saving(example: Path) -> None:
    """Copying the hits' lines from a file that no longer verifies would sign what someone else
    wrote: the save is abandoned instead, and the next run starts without a cache."""
    assert run(example, "compile").returncode == 0
    loaded = _cache(example)
    for key in sorted(loaded.entries):
        loaded.get(key)
    _tamper(example, lambda entry: entry["summary"].update(team="someone-else"))
    tampered = (example / FOLDER / FILE).read_bytes()
    loaded.put("f" * 64, cache_module.entry_json({}, {"name": "new"}, "d"))
    loaded.save()
    assert (example / FOLDER / FILE).read_bytes() == tampered
    assert _cache(example).entries == {}


def test_a_cache_failing_verification_is_dropped(example: Path) -> None:
    assert run(example, "compile").returncode == 0
    root = example
    _tamper(root, lambda entry: entry["summary"].update(team="someone-else"))
    config = (root / "modelops.yaml").read_text()
    from modelops.compile.emit.schemas import SchemaSet

    loaded = cache_module.RenderCache(root, config, SchemaSet.find(None, root))
    assert loaded.entries == {}


# --- kill leftovers ---------------------------------------------------------------------------


def test_cache_temp_files_of_killed_compiles_are_removed(example: Path) -> None:
    folder = example / FOLDER
    folder.mkdir(exist_ok=True)
    stale = folder / f".{FILE}.tmp-999999999-abc"
    stale.write_text("{")
    mine = folder / f".{FILE}.tmp-{os.getpid()}-abc"  # a live process's: kept
    mine.write_text("{")
    (example / "models" / "iris-classifier.yaml").write_text(
        (example / "models" / "iris-classifier.yaml").read_text().replace("replicas: 2", "replicas: 3"))
    assert run(example, "compile").returncode == 0
    assert not stale.exists() and mine.exists()


@pytest.mark.slow
def test_workers_die_with_a_killed_compile_and_free_the_lock(tmp_path: Path) -> None:
    models = {f"m{i:03d}.yaml": MODEL.replace("iris", f"m{i:03d}") for i in range(150)}
    root = make_repo(tmp_path / "repo", models)
    env = {**os.environ, "MODELOPS_JOBS": "2"}
    parent = subprocess.Popen([modelops_path(), "compile"], cwd=root, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: set[int] = set()
    deadline = time.monotonic() + 30
    while not workers and time.monotonic() < deadline:
        workers = _children(parent.pid)
        time.sleep(0.01)
    assert workers, "the compile never forked workers"
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=10)
    time.sleep(1)
    assert [pid for pid in workers if _alive(pid)] == []
    started = time.monotonic()
    assert run(root, "compile", timeout=60).returncode == 0
    assert time.monotonic() - started < 60


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = (task / "children")
        if children.exists():
            found.update(int(child) for child in children.read_text().split())
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_parsing_a_file_keeps_none_of_its_yaml_nodes_alive() -> None:
    """The language server and a one-process compile parse file after file: a module-level PyYAML
    constructor used to keep every node (and so every file's marks) for the life of the process."""
    import gc

    import yaml
    from modelops.compile.source import parse

    def nodes() -> int:
        gc.collect()
        return sum(isinstance(obj, yaml.Node) for obj in gc.get_objects())

    before = nodes()
    for i in range(20):
        doc, errors = parse(f"name: m{i}\nteam: risk\nlabels: {{a: '1', b: [x, y]}}\n", f"models/m{i}.yaml")
        assert doc is not None and not errors
    assert nodes() == before
