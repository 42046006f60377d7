"""Confirm from stat data alone that nothing changed since the last clean compile.

A compile that leaves generated/ current (and a `compile --check` that finds it so) records what it
saw in `.modelops-cache/unchanged.marshal`: the stat data (inode, size, mtime, ctime) of modelops.yaml,
of every model file and of every output file (generated/ and the files beside it, CODEOWNERS), the
compiler's fingerprint (its code, library versions and the schema files used) and what it reported.
The next run compares stat data only: when every input and output is as recorded, the answer is the
recorded one, with nothing read, parsed or rendered; else the whole run happens as before.

As in git's index, a file changed again within the same clock tick would keep its stat data, so a
file whose ctime is not clearly older than the start of the recording run is "racy": its SHA-256 is
recorded too and checked by reading it (an output: once it matched and its stat data are settled, the
record drops the hash), or nothing is recorded (an input: the run may have read an older text).
"Clearly older" is RACY_NS, the kernel's timestamp tick with room to spare, or COARSE_NS on file
systems that keep whole seconds. ctime cannot be set from user space, so an
edit that restores mtime and size is still seen.

The record also keeps each model file's shared digest (`ModelSummary.shared_digest`), so
that when only a few model files changed and every output is as recorded, `since_last` names them
and modelops.compile.incremental may compile them alone; `refresh` then records what that run left.

The record is verified like the render cache (an HMAC keyed outside the repository), written through
the confined writer, read without following symlinks; a symlink or special file anywhere among the
inputs or outputs means no shortcut (the full run reports it). MODELOPS_NO_CACHE=1 switches it off.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import marshal
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelops.compile.cache import FOLDER, digest, fingerprint, secret
from modelops.compile.emit.schemas import MissingSchemaFolder, SchemaSet
from modelops.compile.emit.tree import GENERATED, cache_enabled, replace_beneath
from modelops.compile.layout import CONFIG_FILE, MODELS_DIR

FILE = "unchanged.marshal"  # marshal: read and written ten times faster than JSON, and HMAC-verified
FORMAT = 3
MOST_CHANGED = 64  # with more model files changed, the whole run (and its render cache) does as well
RACY_NS = 50_000_000  # 50 ms: Linux stamps files with a clock of one jiffy (at most 10 ms)
COARSE_NS = 2_000_000_000  # file systems with whole-second (FAT: two-second) timestamps
_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)

Stat = tuple[int, int, int, int]


@dataclass(frozen=True)
class Verdict:
    """What the recorded run reported: the models compiled and the number of files it wanted."""

    models: list[str]
    files: int


@dataclass(frozen=True)
class Delta:
    """Model files edited since the last clean run, everything else (modelops.yaml, the compiler, the
    set of model files, every output) as it recorded."""

    changed: list[str]  # the edited model files (repository paths), in order
    verdict: Verdict  # what the recorded run reported
    record: dict[str, Any]
    inputs: dict[str, Stat]  # the stat data of every input now


def unchanged(root: Path, crd_dir: Path | None) -> Verdict | None:
    """The recorded verdict when every input and output is as the record has it, else None."""
    found = since_last(root, crd_dir)
    return found if isinstance(found, Verdict) else None


def since_last(root: Path, crd_dir: Path | None) -> Verdict | Delta | None:
    """The recorded verdict when nothing changed; the edited model files when only a few did (at
    most MOST_CHANGED, each with a recorded digest); None when the whole run must answer."""
    key = secret() if cache_enabled() else None
    record = _load(root, key) if key else None
    if record is None or record.get("fingerprint") != _fingerprint(root, crd_dir):
        return None
    inputs = _inputs(root)
    recorded: dict[str, Stat] = record["inputs"]
    if inputs is None or inputs.keys() != recorded.keys() or inputs[CONFIG_FILE] != recorded[CONFIG_FILE]:
        return None
    changed = sorted(name for name, found in inputs.items() if found != recorded[name])
    digests = record.get("digests") or {}
    if len(changed) > MOST_CHANGED or any(name not in digests for name in changed):
        return None
    settled = _verified_outputs(root, record["outputs"])
    if settled is None:
        return None
    for name in settled:  # their hashes need not be read again
        record["outputs"][name][4] = ""
    verdict = Verdict(list(record["models"]), int(record["files"]))
    if changed:
        return Delta(changed, verdict, record, inputs)  # `refresh` records them settled
    if settled and key:
        _write(root, key, record)
    return verdict


def _verified_outputs(root: Path, outputs: dict[str, list[Any]]) -> list[str] | None:
    """None unless every output is as recorded; else the racy ones whose hash matched and whose stat
    data are no longer racy (a later change would show in them)."""
    found = _outputs(root, [name for name in outputs if not name.startswith(f"{GENERATED}/")])
    if found is None or found.keys() != outputs.keys():
        return None
    settled, now = [], time.time_ns()
    for name, (ino, size, mtime, ctime, sha) in outputs.items():
        if found[name] != (ino, size, mtime, ctime):
            return None
        if sha:
            if _sha_of(root / name) != sha:
                return None
            if not _racy(ctime, now):
                settled.append(name)
    return settled


def record(root: Path, crd_dir: Path | None, started_ns: int, models: list[str],
           wanted: dict[str, str], digests: dict[str, str]) -> None:
    """Record a clean run that started at `started_ns` and left exactly `wanted` (repository path ->
    SHA-256 of its text) on disk, with its model files' shared `digests`; best effort, and nothing
    is recorded when an input changed during the run."""
    key = secret() if cache_enabled() else None
    if key is None:
        return
    inputs = _inputs(root)
    outputs = _outputs(root, [name for name in wanted if not name.startswith(f"{GENERATED}/")])
    if inputs is None or outputs is None or outputs.keys() != wanted.keys():
        return
    if any(_racy(ctime, started_ns) for _, _, _, ctime in inputs.values()):
        return
    _write(root, key, {
        "format": FORMAT, "fingerprint": _fingerprint(root, crd_dir), "models": models, "files": len(wanted),
        "inputs": inputs, "digests": digests,
        "outputs": {name: [*found, wanted[name] if _racy(found[3], started_ns) else ""]
                    for name, found in outputs.items()},
    })


def refresh(root: Path, delta: Delta, started_ns: int, touched: list[str]) -> None:
    """Record that a run started at `started_ns` compiled `delta`'s edited model files alone and left
    the outputs `touched` (repository paths: written, or linked anew) as they are now; best effort."""
    key = secret() if cache_enabled() else None
    if key is None or any(_racy(delta.inputs[name][3], started_ns) for name in delta.changed):
        return
    outputs = dict(delta.record["outputs"])
    for name in touched:
        try:
            info = os.lstat(root / name)
        except OSError:
            return
        if not stat.S_ISREG(info.st_mode):
            return
        found = _stat(info)
        outputs[name] = [*found, _sha_of(root / name) if _racy(found[3], started_ns) else ""]
    inputs = {**delta.record["inputs"], **{name: delta.inputs[name] for name in delta.changed}}
    _write(root, key, {**delta.record, "inputs": inputs, "outputs": outputs})


def _write(root: Path, key: bytes, data: dict[str, Any]) -> None:
    body = marshal.dumps(data)
    with contextlib.suppress(OSError):  # a read-only checkout still compiles
        replace_beneath(root, f"{FOLDER}/{FILE}", [digest(key, body).encode() + b"\n", body])  # no copy


def _racy(ctime_ns: int, started_ns: int) -> bool:
    """Whether a file may have changed within a timestamp tick of the run's start, or after it."""
    window = COARSE_NS if ctime_ns % 1_000_000_000 == 0 else RACY_NS
    return ctime_ns >= started_ns - window


def _fingerprint(root: Path, crd_dir: Path | None) -> str:
    try:
        schemas = SchemaSet.find(crd_dir, root)
    except MissingSchemaFolder:
        return ""
    return fingerprint(schemas)


def _stat(info: os.stat_result) -> Stat:
    return (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def _inputs(root: Path) -> dict[str, Stat] | None:
    """Stat data of modelops.yaml and of each models/*.yaml; None when one is no regular file."""
    try:
        config = os.lstat(root / CONFIG_FILE)
        folder = os.lstat(root / MODELS_DIR)
    except OSError:
        return None
    if not stat.S_ISREG(config.st_mode) or not stat.S_ISDIR(folder.st_mode):
        return None
    found = {CONFIG_FILE: _stat(config)}
    with os.scandir(root / MODELS_DIR) as entries:
        for entry in entries:
            if not entry.name.endswith((".yaml", ".yml")):
                continue
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode):
                return None
            found[f"{MODELS_DIR}/{entry.name}"] = _stat(info)
    return found


def _outputs(root: Path, beside: list[str]) -> dict[str, Stat] | None:
    """Stat data of every file under generated/ and of the named files beside it; None when one is
    a symlink or special file (or generated/ is missing or one)."""
    try:
        top = os.lstat(root / GENERATED)
    except OSError:
        return None
    if not stat.S_ISDIR(top.st_mode):
        return None
    found: dict[str, Stat] = {}
    stack = [f"{GENERATED}/"]
    while stack:
        prefix = stack.pop()
        with os.scandir(root / prefix) as entries:
            for entry in entries:
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(info.st_mode):
                    stack.append(f"{prefix}{entry.name}/")
                elif stat.S_ISREG(info.st_mode):
                    found[prefix + entry.name] = _stat(info)
                else:
                    return None
    for name in beside:
        try:
            info = os.lstat(root / name)
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(info.st_mode):
            return None
        found[name] = _stat(info)
    return found


def _sha_of(path: Path) -> str:
    try:
        handle = os.open(path, _FLAGS)
    except OSError:
        return ""
    with os.fdopen(handle, "rb") as stream:
        return hashlib.sha256(stream.read()).hexdigest()


def _load(root: Path, key: bytes) -> dict[str, Any] | None:
    """The record, when its HMAC verifies and it has this format."""
    try:
        handle = os.open(root / FOLDER / FILE, _FLAGS)
        with os.fdopen(handle, "rb") as stream:
            mac, body = stream.readline().rstrip(b"\n"), stream.read()
        if not hmac.compare_digest(mac, digest(key, body).encode()):
            return None
        data = marshal.loads(body)
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    return data
