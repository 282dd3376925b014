"""`tfparity` (also `python -m reports`): run, merge, compare, replay, gate, baseline."""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
from pathlib import Path

from oracle.modes import ENV as MODE_ENV
from oracle.modes import MODES
from tfparity.families import FAMILIES
from tfparity.profiles import DERANDOMIZED, PROFILES

# Where the packages are (a source checkout, or site-packages): pytest's rootdir, so that a test's
# node id, and with it the derandomized profiles' cases, is the same installed or not.
ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "tfparity" / "suite"
PARITY_TESTS = tuple(str(SUITE / name) for name in ("test_parity.py", "test_errors.py", "test_misuses.py"))
DEFAULT_OUT = Path("reports", "out")
PROGRESS_EVERY = 10.0


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, os.getcwd())  # a candidate module is found as `python -m` would find it
    args = _parser().parse_args(argv)
    return args.command(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tfparity", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="command")

    run = commands.add_parser("run", help="run the parity suite and write the reports")
    run.add_argument("--profile", choices=PROFILES, default="ci",
                     help="ci (default), quick (ci's short form, for graph and xla), thorough (randomized)")
    run.add_argument("--ops", nargs="+", help="only these ops")
    run.add_argument("--dtypes", nargs="+", help="only these dtypes")
    run.add_argument("--families", nargs="+", choices=FAMILIES, help="only these families' ops and misuses")
    run.add_argument("--out", type=Path, default=DEFAULT_OUT, help="report folder (default reports/out)")
    run.add_argument("-n", default="auto", help="pytest-xdist workers (default auto; 0 runs serially)")
    run.add_argument("--candidate", default="impl", help="module under test, exporting impl's functions, or a shipped adapter: "
                                                    "jax, onnxruntime (default impl)")
    run.add_argument("--seed", type=int, help="hypothesis seed for the thorough profile (default: drawn, and reported)")
    run.add_argument("--mode", nargs="+", choices=tuple(MODES), default=[os.environ.get(MODE_ENV, "eager")],
                     help="how TF runs: eager (default), graph (tf.function), xla (jit_compile); several run one "
                          "after another into OUT/<mode> and merge into OUT, with a table of TF against TF")
    run.add_argument("--shard", default="1/1", help="K/N: check only shard K of N of the cases (by case id, the same "
                                                    "on every machine); `tfparity merge` joins the shards' reports")
    run.add_argument("--progress", type=float, default=PROGRESS_EVERY, metavar="SECONDS",
                     help=f"print the cases checked, the rate and the time left every SECONDS (default {PROGRESS_EVERY:g}; "
                          "0: never)")
    run.add_argument("--corpus", help="answer for TF from a corpus folder (`smoke`: the one shipped): TensorFlow is "
                                      "never imported; --profile and --mode do not apply")
    run.add_argument("--fingerprint", help="with --corpus: whose answers (a backend fingerprint, or a unique prefix; "
                                           "default: the corpus's first)")
    run.set_defaults(command=_run)

    corpus = commands.add_parser("corpus", help="TF's answers as files: build, merge, show")
    actions = corpus.add_subparsers(required=True, metavar="action")
    build = actions.add_parser("build", help="capture TF's answers for a run's cases into a corpus (needs TF)")
    source = build.add_mutually_exclusive_group(required=True)
    source.add_argument("--report", type=Path, nargs="+",
                        help="complete runs' report folders: their sweep, fuzz and error cases (several: the union, "
                             "so that each backend's capture into one corpus has the same cases)")
    source.add_argument("--profile", choices=PROFILES, help="run this profile first (into OUT.run) and take its cases")
    build.add_argument("--out", type=Path, required=True,
                       help="the corpus folder: new, or one built from the same cases on another backend")
    build.add_argument("--mode", choices=tuple(MODES), default=os.environ.get(MODE_ENV, "eager"), help="how TF runs")
    build.add_argument("--families", nargs="+", choices=FAMILIES, help="with --profile: only these families")
    build.add_argument("-n", type=int, default=0, help="processes answering (default: one per CPU)")
    build.add_argument("--smoke", action="store_true", help="only the smoke selection of the run's cases: error inputs, "
                                                            "special values, known divergences, failures")
    build.set_defaults(command=_corpus_build)
    join = actions.add_parser("merge", help="one corpus from several, each backend's answers kept")
    join.add_argument("corpora", type=Path, nargs="+")
    join.add_argument("--out", type=Path, required=True)
    join.set_defaults(command=_corpus_merge)
    show = actions.add_parser("show", help="a corpus's version, backends and cases")
    show.add_argument("corpus", help="a corpus folder, or smoke")
    show.set_defaults(command=_corpus_show)

    merge = commands.add_parser("merge", help="one report from shard reports (or from several machines' reports)")
    merge.add_argument("reports", type=Path, nargs="+", help="report folders: shards 1..N of each machine")
    merge.add_argument("--out", type=Path, required=True, help="the merged report's folder")
    merge.set_defaults(command=_merge)

    compare = commands.add_parser("compare", help="one page across candidates' runs (compare.html, compare.csv)")
    compare.add_argument("reports", type=Path, nargs="+", help="complete run folders, one per candidate")
    compare.add_argument("--out", type=Path, required=True, help="the folder for compare.html and compare.csv")
    compare.set_defaults(command=_compare)

    replay = commands.add_parser("replay", help="rerun one case: its inputs, both outputs, every check")
    replay.add_argument("case", help="a case_id from cases.csv, or a Case(...) spec")
    replay.add_argument("--report", type=Path, default=DEFAULT_OUT, help="report folder holding the case_id")
    replay.add_argument("--candidate", help="module under test (default: the one the report's run checked)")
    replay.add_argument("--mode", choices=tuple(MODES), help="how TF runs (default: as in the report's run)")
    replay.set_defaults(command=_replay)

    gate = commands.add_parser("gate", help="compare a run with a baseline (exit 0 pass, 1 regression, 2 unusable)")
    gate.add_argument("--baseline", type=Path, required=True,
                      help="a baseline .csv, or a folder of them (one per backend fingerprint)")
    gate.add_argument("report", type=Path, nargs="?", default=DEFAULT_OUT)
    gate.set_defaults(command=_gate)

    baseline = commands.add_parser("baseline", help="write a baseline from a complete run")
    baseline.add_argument("report", type=Path)
    baseline.add_argument("--out", type=Path, required=True,
                          help="a .csv file, or a folder that gets <fingerprint>.csv")
    baseline.set_defaults(command=_baseline)
    return parser


def _run(args: argparse.Namespace) -> int:
    from reports import progress
    from tfparity.shards import Shard

    out = args.out.resolve()
    try:
        shard = Shard.parse(args.shard)
    except ValueError as error:
        print(f"tfparity run: {error}", file=sys.stderr)
        return 2
    if problems := _candidate_problems(args.candidate, args.ops, args.families):
        print(f"tfparity run: the candidate {args.candidate!r} cannot be checked:\n  " + "\n  ".join(problems),
              file=sys.stderr)
        return 2
    if shard.count > 1 and args.profile not in DERANDOMIZED and args.seed is None:
        print(f"tfparity run: --shard {shard} with profile {args.profile} needs --seed S, the same for every "
              "shard (each must draw the same cases)", file=sys.stderr)
        return 2
    if len(args.mode) > 1 and shard.count > 1:
        print("tfparity run: several --mode with --shard: run each mode's shards, then `tfparity merge` them all",
              file=sys.stderr)
        return 2
    if args.corpus:
        return _run_corpus(args, out, shard)
    if args.profile not in DERANDOMIZED and args.seed is None:  # drawn here: every mode's run draws the same cases
        args.seed = random.randrange(2**32)
    if len(args.mode) > 1:
        return _run_modes(args, out)
    command = [*_pytest(PARITY_TESTS, args, out, shard), f"--hypothesis-profile={args.profile}", f"--mode={args.mode[0]}"]
    if args.profile not in DERANDOMIZED:
        command.append(f"--hypothesis-seed={args.seed}")
    if args.progress > 0:
        expected = progress.expected_cases(args.profile, args.ops, args.dtypes, shard, _families(args))
        command += [f"--progress={args.progress:g}", f"--expected-cases={expected}"]
    return _finish(command, out, {MODE_ENV: args.mode[0]})


def _families(args: argparse.Namespace) -> tuple[str, ...]:
    """The families the run checks: the candidate's (imported by the check before the run), of
    those asked for."""
    from candidates import module_name

    families = getattr(sys.modules.get(module_name(args.candidate)), "FAMILIES", FAMILIES)
    return tuple(f for f in families if f in (args.families or families))


def _pytest(tests: tuple[str, ...], args: argparse.Namespace, out: Path, shard) -> list[str]:
    """The suite's pytest command for `tests`, with the run's selection, candidate and report folder."""
    command = [sys.executable, "-m", "pytest", *tests, "-c", str(SUITE / "pytest.ini"), f"--rootdir={ROOT}",
               "-q", "--tb=line", "-p", "no:cacheprovider",
               f"--report-dir={out}", f"--candidate={args.candidate}", "-n", str(args.n)]
    command += [f"--ops={','.join(args.ops)}"] if args.ops else []
    command += [f"--dtypes={','.join(args.dtypes)}"] if args.dtypes else []
    command += [f"--families={','.join(args.families)}"] if args.families else []
    return command + ([f"--shard={shard}"] if shard.count > 1 else [])


def _finish(command: list[str], out: Path, env: dict[str, str]) -> int:
    """Run the suite, print the one-screen summary; 0 all passed, 1 failures, 2 no complete report."""
    from reports import output, summary

    print("tfparity:", " ".join(command[1:]), flush=True)
    path = os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")]))
    pytest_status = subprocess.call(command, env=os.environ | env | {"PYTHONPATH": path})
    try:
        run, table = output.load(out)
    except ValueError as error:
        print(f"tfparity: no report: {error}", file=sys.stderr)
        return 2
    print(summary.one_screen(run, table, out))
    if run["status"] != "complete":
        return 2
    return 0 if pytest_status == 0 and not run["failures"] else 1


def _run_corpus(args: argparse.Namespace, out: Path, shard) -> int:
    """The candidate against a corpus's answers: test_corpus alone, TensorFlow never imported."""
    from tfparity.corpus.files import Refused
    from tfparity.corpus.stored import open_corpus

    try:
        corpus = open_corpus(args.corpus, args.fingerprint)
    except Refused as error:
        print(f"tfparity run: --corpus refused: {error}", file=sys.stderr)
        return 2
    print(f"tfparity: against corpus {corpus.root} (version {corpus.manifest['corpus_version']}), backend "
          f"{corpus.fingerprint}: {corpus.backend.summary()}", flush=True)
    command = [*_pytest((str(SUITE / "test_corpus.py"),), args, out, shard), f"--corpus={corpus.root}",
               f"--fingerprint={corpus.fingerprint}", "--hypothesis-profile=ci"]
    if args.progress > 0:
        from tfparity.corpus.files import stem
        from tfparity.dtypes import DTYPES
        from tfparity.opdb import RECORDS

        expected = sum(corpus.manifest["cases"].get(stem(record.name, dtype), 0) for record in RECORDS for dtype in DTYPES
                       if record.family in _families(args) and (not args.ops or record.name in args.ops)
                       and (not args.dtypes or dtype in args.dtypes)) // shard.count
        command += [f"--progress={args.progress:g}", f"--expected-cases={expected}"]
    return _finish(command, out, {})


def _run_modes(args: argparse.Namespace, out: Path) -> int:
    """Each mode's run into OUT/<mode> (the same cases: one seed), then one merged report in OUT."""
    statuses = [_run(argparse.Namespace(**vars(args) | {"mode": [mode], "out": out / mode}))
                for mode in dict.fromkeys(args.mode)]
    if max(statuses) == 2:
        return 2
    merged = _merge(argparse.Namespace(reports=[out / mode for mode in dict.fromkeys(args.mode)], out=out))
    return max(statuses + [merged])


def _candidate_problems(name: str, ops: list[str] | None, families: list[str] | None = None) -> list[str]:
    """Why the candidate module cannot be checked, before any case runs: it does not import, or
    lacks a function of a selected op (of the selected families), or one takes other arguments."""
    import importlib

    from candidates import SHIPPED, module_name

    try:
        module = importlib.import_module(module_name(name))
    except Exception as error:  # noqa: BLE001  (whatever importing it raises is the user's answer)
        hint = (f"its extra is not installed: pip install 'tfparity[{'onnx' if name == 'onnxruntime' else 'jax'}]'"
                if name in SHIPPED else "is it on PYTHONPATH, or in the working directory?")
        return [f"import {module_name(name)} failed: {type(error).__name__}: {error} ({hint})"]
    from tfparity.opdb import RECORDS

    return [problem for record in RECORDS if (not ops or record.name in ops) and record.provided_by(module)
            and (not families or record.family in families) for problem in record.candidate_problems(module)]


def _merge(args: argparse.Namespace) -> int:
    from reports import merge, output, summary

    try:
        merge.merge(args.reports, args.out.resolve())
        run, table = output.load(args.out.resolve())
    except merge.Refused as error:
        print(f"tfparity merge: refused: {error}", file=sys.stderr)
        return 2
    print(summary.one_screen(run, table, args.out))
    return 0 if run["status"] == "complete" and not run["failures"] and run["pytest_exitstatus"] == 0 else 1


def _compare(args: argparse.Namespace) -> int:
    from reports import compare

    try:
        compared = compare.write(args.reports, args.out)
    except compare.Refused as error:
        print(f"tfparity compare: refused: {error}", file=sys.stderr)
        return 2
    totals = compared.groupby("candidate")[["checks", "failures", "candidate_divergence", "not_provided"]].sum()
    print(totals.to_string())
    print(f"tfparity compare: {args.out}/compare.html, {args.out}/compare.csv")
    return 0


def _replay(args: argparse.Namespace) -> int:
    from reports import replay

    try:
        print(replay.replay(args.case, args.report, args.candidate, args.mode))
    except ValueError as error:
        print(f"tfparity replay: {error}", file=sys.stderr)
        return 2
    return 0


def _gate(args: argparse.Namespace) -> int:
    from reports.gate import PORTABLE, Unusable, gate

    try:
        judged = gate(args.baseline, args.report)
    except Unusable as error:
        print(f"tfparity gate: UNUSABLE: {error}", file=sys.stderr)
        return 2
    for fingerprint, verdict, meta, chosen, why in judged:
        state = f"FAIL ({len(verdict.regressions)} regressions)" if verdict.regressions else "PASS"
        print(f"tfparity gate: {state}: {args.report}{f' ({fingerprint})' if len(judged) > 1 else ''} against {chosen} "
              f"(made {meta['environment'].get('date', '?')}, profile {meta['environment'].get('profile', '?')})")
        print(f"  comparison: {verdict.comparison}: {why}")
        for label, lines in (("REGRESSION", verdict.regressions), ("notice", verdict.notices),
                             ("improved", verdict.improvements)):
            for line in lines:
                print(f"  {label}: {line}")
        if verdict.improvements and verdict.comparison != PORTABLE:
            print(f"  {len(verdict.improvements)} improvements: tighten the budgets with `tfparity baseline "
                  f"{args.report} --out {args.baseline}`")
        if verdict.comparison == PORTABLE:
            folder = args.baseline if args.baseline.is_dir() else args.baseline.parent
            print(f"  no baseline for this backend: keep a strict one beside the others with "
                  f"`tfparity baseline {args.report} --out {folder}`")
    return max(verdict.exit_code for _, verdict, *_ in judged)


def _baseline(args: argparse.Namespace) -> int:
    from reports.gate import Unusable, make_baseline

    try:
        table, written = make_baseline(args.report, args.out)
    except (Unusable, ValueError) as error:
        print(f"tfparity baseline: {error}", file=sys.stderr)
        return 2
    print(f"tfparity baseline: {len(table)} classes from {args.report} written to {written}")
    return 0


def _corpus_build(args: argparse.Namespace) -> int:
    """Capture TF's answers for a complete run's cases (run first with --profile)."""
    from reports import environment, output

    os.environ[MODE_ENV] = args.mode  # before TF is imported
    reports = args.report
    if args.profile:
        reports = [args.out.with_name(args.out.name + ".run")]
        status = _run(_parser().parse_args(["run", "--profile", args.profile, "--out", str(reports[0]), "--mode",
                                            args.mode, *(["--families", *args.families] if args.families else [])]))
        if status == 2:
            return 2
    from tfparity.corpus import smoke
    from tfparity.corpus.capture import capture
    from tfparity.inputs import parse

    cases, runs = {}, []
    for report in reports:
        try:
            run, _ = output.load(report.resolve())
        except ValueError as error:
            print(f"tfparity corpus build: {error}", file=sys.stderr)
            return 2
        if run["status"] != "complete":
            print(f"tfparity corpus build: {report} is an incomplete run: its cases are not the profile's",
                  file=sys.stderr)
            return 2
        rows = output.load_cases(report.resolve())
        rows = smoke.select(rows) if args.smoke else rows.drop_duplicates("case_id")
        cases |= {cid: (parse(spec), source) for cid, spec, source in zip(rows["case_id"], rows["spec"], rows["source"],
                                                                          strict=True)}
        runs.append(run)
    env = runs[0]["environment"]
    provenance = {key: str(env.get(key, "?")) for key in ("harness", "numpy", "cpu", "profile", "seed", "date")}
    provenance |= {"runs": " ".join(map(str, reports)), "run_mode": args.mode, environment.ONEDNN_VARIABLE:
                   os.environ.get(environment.ONEDNN_VARIABLE, environment.UNSET)}
    provenance |= {package: environment.version_of(package) for package in ("mpmath", "ml_dtypes", "tensorflow-cpu")}
    content = _refusing("build", capture, cases.values(), args.out, provenance, args.n or os.cpu_count() or 1)
    if content is None:
        return 2
    print(f"tfparity corpus build: {sum(content['cases'].values())} cases, backends {', '.join(content['fingerprints'])}"
          f" in {args.out}")
    return 0


def _refusing(action: str, function, *args: object) -> object:
    """`function(*args)`, or None once the corpus's refusal is printed."""
    from tfparity.corpus.files import Refused

    try:
        return function(*args)
    except Refused as error:
        print(f"tfparity corpus {action}: refused: {error}", file=sys.stderr)
        return None


def _corpus_merge(args: argparse.Namespace) -> int:
    from tfparity.corpus.merge import merge

    content = _refusing("merge", merge, args.corpora, args.out)
    if content is None:
        return 2
    print(f"tfparity corpus merge: backends {', '.join(content['fingerprints'])} in {args.out}")
    return 0


def _corpus_show(args: argparse.Namespace) -> int:
    from tfparity.corpus.files import manifest, resolve

    root = resolve(args.corpus)
    content = _refusing("show", manifest, root)
    if content is None:
        return 2
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    print(f"{root}: corpus {content['corpus_version']}, schema {content['schema']}, "
          f"{sum(content['cases'].values())} cases in {len(content['cases'])} ops x dtypes, {size / 2**20:.1f} MiB")
    for fingerprint, captured in content["fingerprints"].items():
        default = " (default)" if fingerprint == content["default_fingerprint"] else ""
        print(f"  {fingerprint}{default}: {captured['summary']}; CPU {captured['provenance'].get('cpu', '?')}")
    return 0
