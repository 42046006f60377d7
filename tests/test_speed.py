"""What keeps compiles fast without changing their result (no timings here: `make bench` measures).

The render cache (.modelops-cache/) must give byte-identical output to a clean compile after any
change, checks across models must still see cached models, `modelops --help` must import nothing
heavy, and the benchmark's floor must write the very documents modelops writes.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from support import fixtures, render_cache
from support.fixtures import CONFIG

ROOT = Path(__file__).resolve().parents[1]
MODELOPS = str(Path(sys.executable).parent / "modelops")


def _bench_corpus() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_corpus", ROOT / "bench" / "corpus.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


corpus = _bench_corpus()


def run(*args: str, cwd: Path, crd_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return fixtures.run(cwd, *args, crd_dir=crd_dir, env=env, unset=("MODELOPS_NO_CACHE",), timeout=300)


def output(root: Path) -> dict[str, bytes]:
    """generated/ and CODEOWNERS as bytes."""
    files = {p.relative_to(root).as_posix(): p.read_bytes()
             for p in sorted((root / "generated").rglob("*")) if p.is_file()}
    owners = root / ".github" / "CODEOWNERS"
    if owners.is_file():
        files[".github/CODEOWNERS"] = owners.read_bytes()
    return files


def clean_compile(root: Path, destination: Path, crd_dir: Path) -> dict[str, bytes]:
    """Compile the inputs of `root` in a fresh folder with the cache off."""
    destination.mkdir()
    shutil.copy2(root / "modelops.yaml", destination / "modelops.yaml")
    shutil.copytree(root / "models", destination / "models")
    done = run("compile", cwd=destination, crd_dir=crd_dir, MODELOPS_NO_CACHE="1")
    assert done.returncode == 0, done.stderr
    assert not (destination / ".modelops-cache").exists()
    return output(destination)


@pytest.fixture
def bench_repo(tmp_path: Path, crd_dir: Path) -> Path:
    root = tmp_path / "repo"
    corpus.generate(root, 40)
    done = run("compile", cwd=root, crd_dir=crd_dir)
    assert done.returncode == 0, done.stderr
    assert (root / ".modelops-cache" / "render.json").is_file()
    return root


def test_the_render_cache_keeps_hashes_and_takes_texts_from_generated(
    bench_repo: Path, tmp_path: Path, crd_dir: Path
) -> None:
    """The cache holds each file's hash, not its text a second time; a cached model whose file was
    edited by hand (so generated/ no longer holds what was rendered) is rendered again."""
    cached = (bench_repo / ".modelops-cache" / "render.json").read_text()
    assert "apiVersion" not in cached and len(cached) < sum(map(len, output(bench_repo).values())) / 2
    edited = sorted((bench_repo / "generated").rglob("*.yaml"))[5]
    edited.write_text(edited.read_text() + "# tweaked by hand\n")
    corpus.change_model(sorted((bench_repo / "models").glob("*.yaml"))[9], 1)  # the whole run answers
    done = run("compile", cwd=bench_repo, crd_dir=crd_dir)
    assert done.returncode == 0, done.stderr
    assert "tweaked by hand" not in edited.read_text()
    assert output(bench_repo) == clean_compile(bench_repo, tmp_path / "clean", crd_dir)


def test_compile_after_changing_one_model_equals_a_clean_compile(
    bench_repo: Path, tmp_path: Path, crd_dir: Path
) -> None:
    changed = sorted((bench_repo / "models").glob("*.yaml"))[7]
    before = output(bench_repo)
    corpus.change_model(changed, 1)
    done = run("compile", cwd=bench_repo, crd_dir=crd_dir)
    assert done.returncode == 0, done.stderr
    after = output(bench_repo)
    assert after == clean_compile(bench_repo, tmp_path / "clean", crd_dir)
    touched = {name for name in after if after[name] != before.get(name)}
    assert touched and all(name.endswith(f"/{changed.name}") for name in touched)
    assert run("compile", "--check", cwd=bench_repo, crd_dir=crd_dir).returncode == 0


def test_a_fresh_checkout_with_a_warm_cache_equals_a_clean_compile(
    bench_repo: Path, tmp_path: Path, crd_dir: Path
) -> None:
    """No spare tree (as in a fresh checkout): the tree is staged while models compile, unchanged
    files are linked from generated/, and cached models join at the end."""
    spare = bench_repo / ".modelops-cache" / "previous-generated"
    assert spare.is_dir()  # a first compile leaves a spare tree of links for the next one
    shutil.rmtree(spare)
    corpus.change_model(sorted((bench_repo / "models").glob("*.yaml"))[3], 1)
    done = run("compile", cwd=bench_repo, crd_dir=crd_dir)
    assert done.returncode == 0, done.stderr
    assert output(bench_repo) == clean_compile(bench_repo, tmp_path / "clean", crd_dir)
    assert not list(bench_repo.glob("generated.tmp-*"))


def test_changing_modelops_yaml_recompiles_every_model(
    bench_repo: Path, tmp_path: Path, crd_dir: Path
) -> None:
    config = bench_repo / "modelops.yaml"
    config.write_text(config.read_text().replace("release: prometheus", "release: kube-prometheus", 1))
    done = run("compile", cwd=bench_repo, crd_dir=crd_dir)
    assert done.returncode == 0, done.stderr
    assert output(bench_repo) == clean_compile(bench_repo, tmp_path / "clean", crd_dir)
    staging = [t for n, t in output(bench_repo).items() if n.startswith("generated/staging/models-")]
    assert staging and all(b"release: kube-prometheus" in text for text in staging)


def test_a_broken_cache_file_is_ignored(bench_repo: Path, tmp_path: Path, crd_dir: Path) -> None:
    (bench_repo / ".modelops-cache" / "render.json").write_text('{"format": 1, "entries": [')
    shutil.rmtree(bench_repo / "generated")
    done = run("compile", cwd=bench_repo, crd_dir=crd_dir)
    assert done.returncode == 0, done.stderr
    assert output(bench_repo) == clean_compile(bench_repo, tmp_path / "clean", crd_dir)
    assert render_cache.entries(bench_repo)


def test_checks_across_models_still_see_cached_models(repo, crd_dir: Path) -> None:  # type: ignore[no-untyped-def]
    root = repo({"risk.yaml": """\
        name: risk
        team: risk
        framework: sklearn
        artifact: {uri: s3://acme-models/risk/1}
        traffic:
          main: {}
          a-main: {shadow: true, artifact: {uri: s3://acme-models/risk/2}}
        """})
    assert run("compile", cwd=root, crd_dir=crd_dir).returncode == 0
    # risk is now cached; a new model whose Service name equals one of risk's must still be refused
    (root / "models" / "risk-a.yaml").write_text(
        "name: risk-a\nteam: risk\nframework: sklearn\nartifact: {uri: s3://acme-models/risk-a/1}\n"
    )
    done = run("compile", cwd=root, crd_dir=crd_dir)
    assert done.returncode == 1
    assert "MO211" in done.stderr and "'risk-a-main'" in done.stderr


def test_help_imports_nothing_heavy() -> None:
    """`modelops --help` stays a cold start: it lists every command but imports no pydantic, schemas,
    validators, cluster clients, nor the library behind the commands."""
    code = (
        "import sys, json, contextlib, io, modelops.cli.main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    modelops.cli.main.cli.main(['--help'], standalone_mode=False)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pydantic', 'jsonschema', 'jsonschema_rs', 'mlflow', 'kubernetes', 'github', 'rich')"
        " or m.startswith(('modelops.compile.', 'modelops.cluster', 'modelops.promotion', "
        "'modelops.review')))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []


def test_subcommands_load_only_when_run(repo, crd_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """compile and validate import neither mlflow, kubernetes, PyGithub, Kafka nor protobuf, nor
    promote, sync and the rest; --help still lists them and they run."""
    root = repo({"iris.yaml": "name: iris\nteam: risk\nframework: sklearn\n"
                              "artifact: {uri: s3://acme-models/iris/1}\n"})
    code = (
        "import sys, json\nfrom modelops.cli.main import cli\n"
        "for args in (['compile'], ['validate'], ['validate', sys.argv[1] + '/models/iris.yaml']):\n"
        "    try:\n        cli.main([*args, '-C', sys.argv[1]], standalone_mode=False)\n"
        "    except SystemExit as exc:\n        assert not exc.code, exc.code\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('modelops.promotion', "
        "'modelops.cluster', 'modelops.review')) or m.startswith('modelops.cli.commands.') and m not in "
        "('modelops.cli.commands.compile', 'modelops.cli.commands.validate') "
        "or m.split('.')[0] in ('mlflow', 'kubernetes', 'github', 'rich', 'confluent_kafka', 'pyarrow') "
        "or m.startswith('google.protobuf'))))"
    )
    environment = {**os.environ, "MODELOPS_CRD_DIR": str(crd_dir)}
    done = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True,
                          env=environment, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []
    listed = run("--help", cwd=root, crd_dir=crd_dir).stdout
    for command in ("promote", "rollback", "autoupdate", "sync", "drift", "diff", "schemas"):
        assert f"  {command} " in listed
    promote = run("promote", "--help", cwd=root, crd_dir=crd_dir)
    assert promote.returncode == 0 and "pull request" in promote.stdout


def test_bench_floor_writes_the_documents_modelops_writes(bench_repo: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "bench" / "floor.py"), str(bench_repo)], check=True)
    floor = {p.relative_to(bench_repo / "generated-floor").as_posix(): p.read_bytes()
             for p in sorted((bench_repo / "generated-floor").rglob("*")) if p.is_file()}
    ours = {name.removeprefix("generated/"): text for name, text in output(bench_repo).items()
            if name.startswith("generated/")}
    assert floor == ours


def test_bench_validate_floor_accepts_what_modelops_validates(bench_repo: Path, crd_dir: Path) -> None:
    """The validate floor runs on the benchmark's files and says what modelops says."""
    one = sorted((bench_repo / "models").glob("*.yaml"))[3]
    floor = subprocess.run([sys.executable, str(ROOT / "bench" / "floor_validate.py"), str(one)],
                           capture_output=True, text=True, check=True)
    assert floor.stdout == run("validate", str(one), cwd=bench_repo, crd_dir=crd_dir).stdout


def test_errors_about_cached_models_match_a_run_without_cache(repo, crd_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """Unchanged models are not parsed again, yet clashes and caps point where a full run points."""
    risk = 'reviewers: ["@acme/risk-ds"]'
    config = CONFIG.replace(risk, f"{risk}\n    max_replicas: 6")
    root = repo({
        "fraud.yaml": """\
            # the biggest of team risk: the cap error points at its team
            name: fraud
            team: risk
            framework: sklearn
            artifact: {uri: s3://acme-models/fraud/1}
            autoscaling: {min: 1, max: 4, cpu: 70}
            """,
        "risk.yaml": """\
            name: risk
            team: risk
            framework: sklearn
            artifact: {uri: s3://acme-models/risk/1}
            """,
    }, config=config)
    assert run("compile", cwd=root, crd_dir=crd_dir).returncode == 0
    models = root / "models"  # fraud and risk are cached now; a new file copies risk's name
    (models / "a-risk.yaml").write_text((models / "risk.yaml").read_text() + "replicas: 2\n")
    cached = run("compile", cwd=root, crd_dir=crd_dir)
    uncached = run("compile", cwd=root, crd_dir=crd_dir, MODELOPS_NO_CACHE="1")
    assert cached.returncode == uncached.returncode == 1
    assert cached.stderr == uncached.stderr
    assert "models/fraud.yaml:3:7: MO404 team risk may run 7 replicas in production" in cached.stderr
    duplicate = "models/risk.yaml:1:7: MO206 model 'risk' is already defined in models/a-risk.yaml"
    assert duplicate in cached.stderr


def test_a_compile_spread_over_processes_equals_one_in_a_single_process(
    bench_repo: Path, tmp_path: Path, crd_dir: Path
) -> None:
    """Forked workers (MODELOPS_JOBS) give the same files, and the same errors in the same order."""
    serial = clean_compile(bench_repo, tmp_path / "serial", crd_dir)
    spread = tmp_path / "spread"
    shutil.copytree(bench_repo, spread, ignore=shutil.ignore_patterns(".modelops-cache", "generated"))
    done = run("compile", cwd=spread, crd_dir=crd_dir, MODELOPS_JOBS="3", MODELOPS_NO_CACHE="1")
    assert done.returncode == 0, done.stderr
    assert output(spread) == serial
    models = sorted((spread / "models").glob("*.yaml"))
    for broken in (models[1], models[20], models[-1]):  # errors found in different workers
        broken.write_text(broken.read_text().replace("framework:", "framwork:"))
    (spread / "models" / "copy.yaml").write_text(models[5].read_text())  # and one across models
    one = run("compile", cwd=spread, crd_dir=crd_dir, MODELOPS_JOBS="1")
    three = run("compile", cwd=spread, crd_dir=crd_dir, MODELOPS_JOBS="3")
    assert one.returncode == three.returncode == 1
    assert three.stderr == one.stderr
    assert three.stderr.count(": MO101 unknown key 'framwork'") == 3
    assert ": MO206 " in three.stderr
    assert output(spread) == serial  # nothing written


WORKER_FAILS = """
from modelops.compile.parallel import map_forked

class Odd(Exception):
    def __init__(self, a, b):  # cannot be rebuilt from its args in the parent process
        super().__init__(a)

def work(i):
    if i == 150:
        raise Odd("model 150 broke", 2)
    return i

try:
    list(map_forked(work, list(range(300)), 100))
except RuntimeError as exc:
    print("failed:", "model 150 broke" in str(exc))
"""


def test_a_failing_worker_stops_the_run_with_its_traceback() -> None:
    """An exception in a worker process surfaces in the parent (never a hang), with its traceback."""
    done = subprocess.run([sys.executable, "-c", WORKER_FAILS], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "MODELOPS_JOBS": "2"})
    assert done.stdout.strip() == "failed: True", done.stdout + done.stderr


@pytest.mark.parametrize("value", ["abc", "0", "²", "-1"])
def test_a_bad_jobs_setting_is_one_line_and_the_compile_goes_on(
    value: str, bench_repo: Path, crd_dir: Path
) -> None:
    done = run("compile", cwd=bench_repo, crd_dir=crd_dir, MODELOPS_JOBS=value, MODELOPS_NO_CACHE="1")
    assert done.returncode == 0, done.stderr
    assert done.stderr == f"modelops: MODELOPS_JOBS={value!r} is not a positive whole number: ignored\n"


def test_a_fresh_compile_stages_each_model_as_it_is_rendered(
    bench_repo: Path, monkeypatch: pytest.MonkeyPatch, crd_dir: Path
) -> None:
    """Each model's files go to the staging tree as soon as they are rendered (so disk work overlaps
    compiling and the run keeps no text it has staged): a new tree without a spare, the spare
    patched when there is one."""
    import modelops.compile.emit.tree as output
    from click.testing import CliRunner
    from modelops.cli.main import cli

    batches: list[tuple[Path, dict[str, str]]] = []
    original = output.Staging.add
    def add(self: output.Staging, files: dict[str, str], hashes: dict[str, str] | None = None,
            ) -> dict[str, str]:
        batches.append((self.path, files))
        return original(self, files, hashes)

    monkeypatch.setattr(output.Staging, "add", add)
    monkeypatch.setenv("MODELOPS_NO_CACHE", "1")  # every model is rendered, none comes from the cache
    compile_args = ["compile", "-C", str(bench_repo), "--crd-dir", str(crd_dir)]
    shutil.rmtree(bench_repo / "generated")
    assert CliRunner().invoke(cli, compile_args).exit_code == 0
    per_model, (_, shared), rest = batches[:40], batches[40], batches[41:]
    assert all(len({name.rsplit("/", 1)[1] for name in files}) == 1 for _, files in per_model)
    assert {name.rsplit("/", 1)[1] for name in shared} == {"kustomization.yaml"}  # made from all models
    assert all(files == {} for _, files in rest)  # completing the tree: nothing was left to hand over
    monkeypatch.delenv("MODELOPS_NO_CACHE")
    spare = bench_repo / ".modelops-cache" / "previous-generated"
    spare.mkdir(parents=True, exist_ok=True)
    edited = sorted((bench_repo / "models").glob("*.yaml"))[0]
    edited.write_text(edited.read_text() + "# edited\n")
    (bench_repo / ".modelops-cache" / "unchanged.marshal").unlink(missing_ok=True)  # the whole run
    batches.clear()
    assert CliRunner().invoke(cli, compile_args).exit_code == 0
    # the edited model and the shared files; a comment changes no output, so nothing is swapped in
    assert len(batches) == 2 and {path for path, _ in batches} == {spare}


def test_a_failing_compile_still_caches_the_models_that_passed(
    bench_repo: Path, tmp_path: Path, crd_dir: Path
) -> None:
    """One broken model among many: the others are not rendered again on every try to fix it."""
    shutil.rmtree(bench_repo / ".modelops-cache")
    broken = sorted((bench_repo / "models").glob("*.yaml"))[5]
    good = broken.read_text()
    broken.write_text(good.replace("framework:", "framwork:"))
    done = run("compile", cwd=bench_repo, crd_dir=crd_dir)
    assert done.returncode == 1 and "MO101" in done.stderr
    entries = render_cache.entries(bench_repo)
    assert len(entries) == 39
    broken.write_text(good)
    assert run("compile", cwd=bench_repo, crd_dir=crd_dir).returncode == 0
    assert output(bench_repo) == clean_compile(bench_repo, tmp_path / "clean", crd_dir)


def test_a_second_compile_waits_for_the_running_one(bench_repo: Path, tmp_path: Path, crd_dir: Path) -> None:
    """Two compiles in one repo (an editor's compile-on-save and a terminal) would both patch
    generated/ and the spare tree: the second waits, says so, then writes a tree like a clean compile."""
    from modelops.compile.emit.tree import compile_lock

    corpus.change_model(sorted((bench_repo / "models").glob("*.yaml"))[3], 1)
    environment = {**os.environ, "MODELOPS_CRD_DIR": str(crd_dir)}
    environment.pop("MODELOPS_NO_CACHE", None)
    with compile_lock(bench_repo):
        waiting = subprocess.Popen([MODELOPS, "compile"], cwd=bench_repo, env=environment,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert waiting.stderr is not None
        assert "waiting for another modelops compile" in waiting.stderr.readline()
        with pytest.raises(subprocess.TimeoutExpired):
            waiting.wait(timeout=1)  # still held: it must not touch generated/
    out, err = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, err
    assert "Compiled 40 model(s)" in out
    assert output(bench_repo) == clean_compile(bench_repo, tmp_path / "clean", crd_dir)


def test_compile_check_does_not_wait_for_a_running_compile(bench_repo: Path, crd_dir: Path) -> None:
    """--check writes nothing, so CI and editors can run it beside a compile."""
    from modelops.compile.emit.tree import compile_lock

    with compile_lock(bench_repo):
        done = run("compile", "--check", cwd=bench_repo, crd_dir=crd_dir)
    assert done.returncode == 0 and "waiting" not in done.stderr
