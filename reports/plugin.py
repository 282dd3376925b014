"""The pytest plugin (the suite's and tests/' conftest load it): the hypothesis profile,
`--report-dir` (records every checked case and writes the reports when the session ends),
`--ops` / `--dtypes` (narrow the parity tests), `--candidate`, `--mode`, `--shard`, and
`--progress` (a line every so many seconds: cases checked, rate, time left).

Tests record through the session fixture `recorder`, before they assert anything.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import settings

from candidates import device_of, module_name
from oracle.modes import ENV as MODE_ENV
from oracle.modes import MODES
from oracle.modes import current as current_mode
from reports import environment, output, progress, recording
from tfparity import profiles
from tfparity.shards import Shard

RECORDER = pytest.StashKey[recording.Recorder]()
CRASHES = pytest.StashKey[list[str]]()
RUN = pytest.StashKey[dict]()
CORPUS = pytest.StashKey[object]()
CORPUS_TEST = "test_corpus"
PAIRED = ("test_sweep", "test_fuzz")  # run side by side per op and dtype (`_paired`)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tfparity")
    group.addoption("--report-dir", default=None, help="record every checked case and write the reports here")
    group.addoption("--candidate", default="impl",
                    help="module under test, exporting impl's functions, or a shipped adapter: jax, onnxruntime "
                         "(default: impl)")
    group.addoption("--ops", default=None, help="comma-separated op (or misuse) names: run only their tests")
    group.addoption("--dtypes", default=None, help="comma-separated dtypes: run only their parity tests")
    group.addoption("--families", default=None,
                    help="comma-separated families (tf.nn, keras): run only their ops' and misuses' tests")
    group.addoption("--mode", choices=tuple(MODES), default=None,
                    help=f"how TF runs: eager, graph (tf.function) or xla (jit_compile); default ${MODE_ENV} or eager")
    group.addoption("--shard", default="1/1", type=_shard,
                    help="K/N: run only shard K of N of the cases (by case id; the same on every machine)")
    group.addoption("--progress", type=float, default=0.0, metavar="SECONDS",
                    help="with --report-dir: print the cases checked, the rate and the time left every SECONDS")
    group.addoption("--corpus", default=None, metavar="DIR",
                    help="answer for TF from the corpus in DIR (`smoke`: the shipped one): only test_corpus runs, "
                         "and TensorFlow is never imported")
    group.addoption("--fingerprint", default=None,
                    help="with --corpus: the backend whose answers to compare against (default: the corpus's)")
    group.addoption("--expected-cases", type=int, default=None, metavar="N",
                    help="the cases the run will check, for --progress's time left (tfparity run works it out)")


def _shard(text: str) -> Shard:
    try:
        return Shard.parse(text)
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None


def _worker(config: pytest.Config) -> str | None:
    workerinput = getattr(config, "workerinput", None)
    return workerinput["workerid"] if workerinput else None


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """Under xdist without an explicit --dist, idle workers steal queued tests: the tests are uneven
    (softmax CE's sweep takes ~15 s, most tests well under 1 s), and xdist's default hands each
    worker a contiguous block up front, which put every sweep on one worker."""
    if getattr(config.option, "numprocesses", None) and config.option.dist == "no":
        config.option.dist = "worksteal"


def pytest_report_header(config: pytest.Config) -> str:
    return f"tfparity hypothesis profile: {profiles.selected(config)}"


def pytest_configure(config: pytest.Config) -> None:
    profiles.load(profiles.selected(config))
    config.addinivalue_line("markers", "e2e: whole runs, merges and installs (CI runs them with -m e2e)")
    if mode := config.getoption("mode"):  # before any TF call, and inherited by xdist's workers
        os.environ[MODE_ENV] = mode
    if where := config.getoption("corpus"):
        _answer_from_corpus(config, where)
    out = config.getoption("report_dir")
    config.stash[CRASHES] = []
    if not out:
        config.stash[RECORDER] = recording.Recorder(None)
        return
    worker = _worker(config)
    rows = output.prepare(Path(out)) if worker is None else Path(out) / output.ROWS
    if worker is None and (every := config.getoption("progress")) > 0:
        meter = progress.Progress(rows, config.getoption("expected_cases"), every)
        config.pluginmanager.register(_ProgressPrinter(config, meter), "tfparity-progress")
    name = worker or "main"
    config.stash[RECORDER] = recording.Recorder(rows / f"{name}-{os.getpid()}.jsonl", out, name)


def _answer_from_corpus(config: pytest.Config, where: str) -> None:
    """TF's answers come from the corpus, on the backend it was captured on (and in its mode)."""
    from tfparity import backend as backends
    from tfparity.corpus.files import Refused
    from tfparity.corpus.stored import open_corpus

    try:
        corpus = open_corpus(where, config.getoption("fingerprint"))
    except Refused as error:
        raise pytest.UsageError(f"--corpus: refused: {error}") from None
    config.stash[CORPUS] = corpus
    backends.answer_from(corpus.backend)
    os.environ[MODE_ENV] = corpus.backend.mode


@pytest.fixture(scope="session")
def corpus(pytestconfig: pytest.Config):
    """The corpus answering for TF (`--corpus`)."""
    if CORPUS not in pytestconfig.stash:
        pytest.skip("no --corpus given")
    return pytestconfig.stash[CORPUS]


@pytest.fixture(scope="session")
def recorder(pytestconfig: pytest.Config) -> recording.Recorder:
    return pytestconfig.stash[RECORDER]


@pytest.fixture(scope="session")
def shard(pytestconfig: pytest.Config) -> Shard:
    """The part of the cases this run checks (`--shard K/N`; the whole run by default)."""
    return pytestconfig.getoption("shard")


@pytest.fixture(scope="session")
def candidate(pytestconfig: pytest.Config) -> ModuleType:
    """The implementation the parity tests check against TF."""
    return importlib.import_module(module_name(pytestconfig.getoption("candidate")))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`--ops`, `--dtypes` and `--families` select tests; `--shard` drops the tests of cases fixed
    at collection (error inputs) that another shard holds; with `--corpus` only test_corpus runs,
    and without it, test_corpus does not."""
    answering = CORPUS in config.stash
    wanted = {key: set(value.split(",")) for key in ("ops", "dtypes", "families") if (value := config.getoption(key))}
    shard = config.getoption("shard")
    keep, drop = [], []
    for item in items:
        params = getattr(item, "callspec", None) and item.callspec.params or {}
        subject = params.get("record") or params.get("misuse")
        ok = (("ops" not in wanted or (subject is not None and subject.name in wanted["ops"]))
              and ("families" not in wanted or (subject is not None and subject.family in wanted["families"]))
              and ("dtypes" not in wanted or (params.get("dtype") or getattr(params.get("case"), "dtype", None))
                   in wanted["dtypes"])
              and ("case" not in params or shard.holds(params["case"]))
              and (getattr(item, "originalname", item.name) == CORPUS_TEST) == answering)
        (keep if ok else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    items[:] = _paired(items)


def _paired(items: list[pytest.Item]) -> list[pytest.Item]:
    """Each op and dtype's fuzz right after its sweep: one worker then runs both, the fuzz while
    the programs the sweep compiled (a compiling mode's, which the fuzz's draws reuse) are kept."""
    first: dict[tuple, int] = {}
    keys = []
    for index, item in enumerate(items):
        params = getattr(item, "callspec", None) and item.callspec.params or {}
        if getattr(item, "originalname", None) in PAIRED and "record" in params:
            index = first.setdefault((params["record"].name, params["dtype"]), index)
        keys.append(index)
    return [item for _, _, item in sorted(zip(keys, range(len(items)), items, strict=True), key=lambda k: k[:2])]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    expected = (AssertionError, pytest.skip.Exception, pytest.xfail.Exception)
    if call.excinfo is not None and not call.excinfo.errisinstance(expected):
        item.config.stash[RECORDER].abort(item.nodeid, call.excinfo.exconly()[:300])
    return report


class _ProgressPrinter:
    """Registered in the process that prints (xdist's controller, or the only process): after each
    test, the progress line when one is due."""

    def __init__(self, config: pytest.Config, meter: progress.Progress) -> None:
        self.config, self.meter = config, meter

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "teardown" and (line := self.meter.line()):
            reporter = self.config.pluginmanager.get_plugin("terminalreporter")
            if reporter._tw.width_of_current_line:  # after a row of dots: a line of its own
                reporter.write("\n")
            reporter.write_line(line)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    if error:
        node.config.stash[CRASHES].append(f"worker {node.gateway.id} crashed: {error}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    config.stash[RECORDER].close(exitstatus, _candidate_work(config))
    out = config.getoption("report_dir")
    if not out or _worker(config) is not None:
        return
    merged = recording.merge(Path(out) / output.ROWS)
    merged.problems += config.stash[CRASHES]
    seed = "derandomized" if settings.default.derandomize else str(config.getoption("hypothesis_seed", None) or "random")
    aborted = exitstatus in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR)
    env = environment.collect(profiles.selected(config), seed, config.getoption("candidate"))
    part = {"mode": current_mode(), "shard": str(config.getoption("shard")),
            "selection": {key: config.getoption(key) or "all" for key in ("ops", "dtypes")}}
    if CORPUS in config.stash:
        part |= config.stash[CORPUS].describe()
    if not aborted:
        part["candidate_device"] = _device(config.getoption("candidate"))
    config.stash[RUN] = output.write(Path(out), merged, env | part, exitstatus, aborted)



def _candidate_work(config: pytest.Config) -> dict[str, int]:
    """What a compiling candidate says it compiled in this process (its optional `work()`)."""
    module = sys.modules.get(module_name(config.getoption("candidate")))
    work = getattr(module, "work", None)
    return {k: int(v) for k, v in work().items()} if callable(work) else {}


def _device(candidate: str) -> str:
    """Where the candidate computed (its `device()`), or why that is not known."""
    try:
        return device_of(importlib.import_module(module_name(candidate)))
    except Exception as error:  # noqa: BLE001  (a candidate that no longer imports is the run's own failure)
        return f"unknown ({type(error).__name__})"


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    run = config.stash.get(RUN, None)
    if run is not None:
        out = config.getoption("report_dir")
        terminalreporter.write_sep("-", f"tfparity: {run['status']} run, {run['cases']} cases, "
                                        f"{run['rows']} checks, {run['failures']} failing; reports in {out}")
        for problem in run["problems"][:10]:
            terminalreporter.write_line(f"  incomplete: {problem}", red=True)
