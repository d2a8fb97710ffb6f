#!/usr/bin/env python3
"""check_bench_json.py: validates what `ipcx bench --json/--csv` writes (schema ipcx-bench/1,
docs/bench.md). It checks structure and arithmetic, never speed: every requested mechanism is
present, each of its cells measured or skipped with a reason; every figure positive and
finite (fairness and consumer balance within 0..1); percentiles ordered; the median of each
figure within, and equal to the median of, the per-round figures; many-party cells (fanin,
mpmc) with their shape; the CSV saying the same as the JSON. It must never judge whether a
number is fast or slow (speed lives in the benchmark, not in a test).

Usage:
  check_bench_json.py run --ipcx PATH --mechanisms LIST [--pattern LIST] [--sizes LIST]
      runs `PATH bench --help` and `PATH bench --quick --mechanisms LIST --json F --csv F`
      (with --pattern and --sizes when given) in a scratch directory, validates both files,
      then checks that deliberately broken copies of the JSON are rejected (so a validator
      that accepts anything fails the test)
  check_bench_json.py check FILE.json --mechanisms LIST [--csv FILE.csv]
      validates existing files

Exit status: 0 valid, 1 invalid (every problem is listed), 2 usage or the run itself failed.
"""

import argparse
import copy
import csv
import io
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

SCHEMA = "ipcx-bench/1"
LAT_KEYS = ["p50", "p90", "p99", "p999", "max"]
# placement.topology when pinned (bench/topo.h); null when not pinned.
TOPOLOGIES = ["same cpu", "SMT siblings", "separate cores", "separate packages",
              "unknown (no topology in sysfs)"]
RATE_KEYS = ["msgs_per_s", "bytes_per_s"]
SHARE_KEYS = ["fairness", "consumer_balance"]  # many-party figures, 0..1
LATENCY_PATTERNS = ("pingpong", "rate")
RATE_PATTERNS = ("stream", "fanin", "mpmc")
MANY_PATTERNS = ("fanin", "mpmc")
CSV_HEADER = ["mechanism", "baseline", "pattern", "size", "round", "status", "timed", "moved",
              "seconds", "p50_ns", "p90_ns", "p99_ns", "p999_ns", "max_ns", "msgs_per_s",
              "bytes_per_s", "cpu_ns_per_msg", "fairness", "consumer_balance", "detail"]
# Figures go through "%.10g": compare with a relative tolerance well above that rounding.
REL_TOL = 1e-6


def reject_constant(name):
    raise ValueError(f"non-finite number {name} in JSON")


def load_json(text):
    """Parses strictly: NaN and Infinity, which Python's json accepts by default, are errors."""
    return json.loads(text, parse_constant=reject_constant)


def close(a, b):
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-9)


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class Checker:
    def __init__(self):
        self.problems = []

    def fail(self, where, what):
        self.problems.append(f"{where}: {what}")

    def positive(self, where, v):
        if not is_num(v) or not math.isfinite(v) or v <= 0:
            self.fail(where, f"{v!r} is not a positive finite number")
            return False
        return True

    def share(self, where, v):
        """A fraction such as fairness: finite, within 0..1 (0 is a measurement, not a gap)."""
        if not is_num(v) or not math.isfinite(v) or not 0 <= v <= 1:
            self.fail(where, f"{v!r} is not a number within 0..1")
            return False
        return True

    def figures(self, where, fig, pattern, size, shape=None, counted=False):
        """One figures object (a round's, or median/min/max). Returns {name: value} of those
        measured (None where the pattern does not measure it). shape: (producers, consumers)
        of a many-party cell; counted: the run used --count (no fairness then)."""
        out = {}
        if not isinstance(fig, dict):
            self.fail(where, "figures are not an object")
            return out
        for key in ["latency_ns", "msgs_per_s", "bytes_per_s", "cpu_ns_per_msg"] + SHARE_KEYS:
            if key not in fig:
                self.fail(where, f"missing {key}")
        if pattern in MANY_PATTERNS and shape is not None:
            want = {"fairness": not counted, "consumer_balance": shape[1] > 1}
            for k in SHARE_KEYS:
                if want[k]:
                    if self.share(f"{where}.{k}", fig.get(k)):
                        out[k] = fig[k]
                elif fig.get(k) is not None:
                    self.fail(where, f"{k} is {fig.get(k)!r}, not measured with this shape")
        else:
            for k in SHARE_KEYS:
                if fig.get(k) is not None:
                    self.fail(where, f"{pattern} has {k} (a fanin/mpmc figure)")
        lat = fig.get("latency_ns")
        if pattern in LATENCY_PATTERNS:
            if not isinstance(lat, dict):
                self.fail(where, f"{pattern} without latency_ns")
            else:
                vals = []
                for k in LAT_KEYS:
                    v = lat.get(k)
                    if self.positive(f"{where}.latency_ns.{k}", v):
                        out[k] = v
                        vals.append(v)
                if len(vals) == len(LAT_KEYS) and vals != sorted(vals):
                    self.fail(where, "percentiles out of order: " +
                              ", ".join(f"{k}={v}" for k, v in zip(LAT_KEYS, vals)))
            for k in RATE_KEYS:
                if fig.get(k) is not None:
                    self.fail(where, f"{pattern} has {k} (a stream figure)")
        elif pattern in RATE_PATTERNS:
            if lat is not None:
                self.fail(where, f"{pattern} has latency_ns (a pingpong figure)")
            for k in RATE_KEYS:
                if self.positive(f"{where}.{k}", fig.get(k)):
                    out[k] = fig[k]
        if self.positive(f"{where}.cpu_ns_per_msg", fig.get("cpu_ns_per_msg")):
            out["cpu_ns_per_msg"] = fig["cpu_ns_per_msg"]
        return out

    def cell(self, doc, c, baselines_in_run):
        mech, pattern, size = c.get("mechanism"), c.get("pattern"), c.get("size")
        where = f"cell {mech}/{pattern}/{size}"
        rounds = c.get("rounds")
        shape, counted = None, doc.get("count") is not None
        if pattern in MANY_PATTERNS:
            p, n = c.get("producers"), c.get("consumers")
            if not (isinstance(p, int) and isinstance(n, int) and 1 <= p <= 16 and 1 <= n <= 8):
                self.fail(where, f"producers {p!r}, consumers {n!r}: not a many-party shape")
            elif pattern == "fanin" and n != 1:
                self.fail(where, f"fanin with {n} consumers")
            else:
                shape = (p, n)
        elif "producers" in c or "consumers" in c:
            self.fail(where, "producers or consumers given for a two-party pattern")
        if not isinstance(rounds, list) or len(rounds) != doc.get("rounds"):
            self.fail(where, f"has {len(rounds) if isinstance(rounds, list) else rounds!r} "
                             f"rounds, the run {doc.get('rounds')!r}")
            return
        per_round = []  # {figure: value} of each ok round
        statuses = []
        for i, r in enumerate(rounds):
            rw = f"{where} round {i + 1}"
            if r.get("round") != i + 1:
                self.fail(rw, f"numbered {r.get('round')!r}")
            st = r.get("status")
            statuses.append(st)
            if st == "ok":
                for k in ["timed", "moved"]:
                    if not isinstance(r.get(k), int) or r[k] <= 0:
                        self.fail(rw, f"{k} is {r.get(k)!r}, not a positive integer")
                if isinstance(r.get("timed"), int) and isinstance(r.get("moved"), int) \
                        and r["moved"] < r["timed"]:
                    self.fail(rw, f"moved {r['moved']} < timed {r['timed']}")
                if pattern in RATE_PATTERNS:
                    self.positive(f"{rw}.seconds", r.get("seconds"))
                fig = self.figures(rw, r, pattern, size, shape, counted)
                if pattern in RATE_PATTERNS and "msgs_per_s" in fig and "bytes_per_s" in fig \
                        and not close(fig["bytes_per_s"], fig["msgs_per_s"] * size):
                    self.fail(rw, "bytes_per_s != msgs_per_s x size")
                per_round.append(fig)
            elif st == "skipped":
                if not isinstance(r.get("reason"), str) or not r["reason"].strip():
                    self.fail(rw, "skipped without a reason")
            else:
                detail = r.get("error") or r.get("failed_checks")
                self.fail(rw, f"status {st!r} ({detail}): the run had a failure")

        want = ("ok" if all(s == "ok" for s in statuses) else
                "skipped" if all(s == "skipped" for s in statuses) else
                "failed" if not any(s == "ok" for s in statuses) else "partial")
        if c.get("status") != want:
            self.fail(where, f"status {c.get('status')!r}, its rounds say {want!r}")
        if "skipped" in statuses:
            if not isinstance(c.get("skip_reason"), str) or not c["skip_reason"].strip():
                self.fail(where, "skipped rounds but no skip_reason")
        elif c.get("skip_reason") is not None:
            self.fail(where, "skip_reason without skipped rounds")
        if c.get("rounds_ok") != len(per_round):
            self.fail(where, f"rounds_ok {c.get('rounds_ok')!r}, {len(per_round)} rounds ok")

        # Summaries: medians within the per-round range and equal to their median.
        if not per_round:
            for s in ["median", "min", "max"]:
                if c.get(s) is not None:
                    self.fail(where, f"{s} given, but no round measured anything")
        else:
            summ = {s: self.figures(f"{where} {s}", c.get(s), pattern, size, shape, counted)
                    for s in ["median", "min", "max"]}
            for name in per_round[0]:
                vals = [f[name] for f in per_round if name in f]
                lo, hi, med = min(vals), max(vals), statistics.median(vals)
                got = {s: summ[s].get(name) for s in summ}
                if got["min"] is not None and not close(got["min"], lo):
                    self.fail(where, f"min {name} {got['min']} but the rounds' least is {lo}")
                if got["max"] is not None and not close(got["max"], hi):
                    self.fail(where, f"max {name} {got['max']} but the rounds' largest is {hi}")
                if got["median"] is not None:
                    m = got["median"]
                    if not (lo * (1 - REL_TOL) - 1e-12 <= m <= hi * (1 + REL_TOL) + 1e-12):
                        self.fail(where, f"median {name} {m} outside the rounds' {lo}..{hi}")
                    elif not close(m, med):
                        self.fail(where, f"median {name} {m}, the rounds' median is {med}")

        # Ratios to the baseline: present exactly when the baseline ran in this run.
        vs = c.get("vs_baseline")
        if c.get("baseline") in baselines_in_run:
            if not isinstance(vs, dict):
                self.fail(where, "baseline in the run but no vs_baseline")
            else:
                for k, ratio in vs.items():
                    if ratio is None:
                        continue
                    rw = f"{where} vs_baseline.{k}"
                    if all(self.positive(f"{rw}.{s}", ratio.get(s))
                           for s in ["min", "median", "max"]):
                        if not ratio["min"] <= ratio["median"] <= ratio["max"]:
                            self.fail(rw, f"median {ratio['median']} outside "
                                          f"{ratio['min']}..{ratio['max']}")
        elif vs is not None:
            self.fail(where, "vs_baseline without its baseline in the run")

    def document(self, doc, requested):
        if not isinstance(doc, dict):
            self.fail("top", "not a JSON object")
            return
        if doc.get("schema") != SCHEMA:
            self.fail("top", f"schema {doc.get('schema')!r}, want {SCHEMA!r}")
        for key, typ in [("command", list), ("library_version", str), ("kernel", dict),
                         ("cpus_online", int), ("placement", dict), ("rounds", int),
                         ("sizes", list), ("patterns", list), ("mechanisms", list),
                         ("skipped", list), ("cells", list)]:
            if not isinstance(doc.get(key), typ):
                self.fail("top", f"{key} missing or not a {typ.__name__}")
        if self.problems:
            return
        if not isinstance(doc["placement"].get("pinned"), bool):
            self.fail("placement", "pinned is not true or false")
        topology = doc["placement"].get("topology", "missing")
        if doc["placement"].get("pinned") is True and topology not in TOPOLOGIES:
            self.fail("placement", f"topology {topology!r} is not one of {TOPOLOGIES}")
        if doc["placement"].get("pinned") is False and topology is not None:
            self.fail("placement", f"topology {topology!r} while unpinned (want null)")
        # Where the producers and consumers ran: said whenever a many-party cell ran.
        ran_many = any(c.get("pattern") in MANY_PATTERNS and c.get("rounds_ok", 0) > 0
                       for c in doc["cells"])
        mp = doc.get("many_placement")
        if ran_many:
            if not isinstance(mp, dict) or not isinstance(mp.get("pinned"), bool) or \
                    not isinstance(mp.get("how"), str) or not mp["how"].strip() or \
                    not isinstance(mp.get("parties_moved"), int):
                self.fail("many_placement", f"{mp!r} does not say where the parties ran")
        elif mp is not None:
            self.fail("many_placement", "given, but no fanin or mpmc cell ran")
        if doc["rounds"] < 1:
            self.fail("top", f"rounds {doc['rounds']}")
        if doc.get("count") is None:
            self.positive("top.duration_s", doc.get("duration_s"))
        else:
            self.positive("top.count", doc.get("count"))
        for s in doc["sizes"]:
            if not isinstance(s, int) or s <= 0:
                self.fail("top", f"size {s!r}")
        for k in ["cells_failed", "cells_bad_payload"]:
            if doc.get(k) != 0:
                self.fail("top", f"{k} is {doc.get(k)!r}: the run had failures")

        names = [m.get("name") for m in doc["mechanisms"]]
        for name in requested:
            if name not in names:
                self.fail("mechanisms", f"requested {name} is not in the run")
        for name in names:
            if name not in requested:
                self.fail("mechanisms", f"{name} was not requested")

        # Every (mechanism, pattern, size) exactly once.
        seen = {}
        for c in doc["cells"]:
            key = (c.get("mechanism"), c.get("pattern"), c.get("size"))
            if key in seen:
                self.fail("cells", f"{key} twice")
            seen[key] = c
        for name in names:
            for p in doc["patterns"]:
                for s in doc["sizes"]:
                    if (name, p, s) not in seen:
                        self.fail("cells", f"no cell for {name}/{p}/{s}")
        for key in seen:
            if key[0] not in names or key[1] not in doc["patterns"] or key[2] not in doc["sizes"]:
                self.fail("cells", f"{key} is not in the run's shape")

        # The skipped list: a reason for each, and it covers every skipped cell.
        skipped_sizes = {}
        for sk in doc["skipped"]:
            if sk.get("mechanism") not in names:
                self.fail("skipped", f"{sk.get('mechanism')!r} is not in the run")
            if not isinstance(sk.get("reason"), str) or not sk["reason"].strip():
                self.fail("skipped", f"{sk.get('mechanism')!r} has no reason")
            for s in sk.get("sizes", []):
                skipped_sizes.setdefault(sk.get("mechanism"), set()).add(s)
        for (name, p, s), c in seen.items():
            if c.get("status") in ("skipped", "partial") and \
                    s not in skipped_sizes.get(name, set()):
                self.fail("skipped", f"{name}/{p}/{s} was skipped but is not listed")

        in_run = set(names)
        for c in doc["cells"]:
            self.cell(doc, c, in_run)

        # Present or skipped: a mechanism with no measured cell must be skipped everywhere.
        for name in names:
            cells = [c for c in doc["cells"] if c.get("mechanism") == name]
            if cells and not any(c.get("rounds_ok", 0) > 0 for c in cells) and \
                    not all(c.get("status") == "skipped" for c in cells):
                self.fail("mechanisms", f"{name} measured nothing and was not skipped")

    def csv_agrees(self, doc, text):
        """The CSV carries the same rounds and summaries as the JSON."""
        lines = text.splitlines()
        if not lines or lines[0] != f"# schema: {SCHEMA}":
            self.fail("csv", f"first line {lines[0] if lines else ''!r}")
        rows = list(csv.reader(io.StringIO(
            "\n".join(line for line in lines if not line.startswith("#")))))
        if not rows or rows[0] != CSV_HEADER:
            self.fail("csv", f"header {rows[0] if rows else None!r}")
            return
        table = {}
        for row in rows[1:]:
            if len(row) != len(CSV_HEADER):
                self.fail("csv", f"row of {len(row)} fields: {row!r}")
                continue
            r = dict(zip(CSV_HEADER, row))
            table[(r["mechanism"], r["pattern"], int(r["size"]), r["round"])] = r
        want_rows = 0
        for c in doc["cells"]:
            key = (c["mechanism"], c["pattern"], c["size"])
            sources = [(str(i + 1), rd) for i, rd in enumerate(c["rounds"])]
            sources += [(s, c.get(s)) for s in ["median", "min", "max"]]
            for label, src in sources:
                want_rows += 1
                row = table.get(key + (label,))
                if row is None:
                    self.fail("csv", f"no row for {key} {label}")
                    continue
                lat = (src or {}).get("latency_ns") or {}
                want = {f"{k}_ns": lat.get(k) for k in LAT_KEYS}
                for k in RATE_KEYS + ["cpu_ns_per_msg"] + SHARE_KEYS:
                    want[k] = (src or {}).get(k)
                for k, v in want.items():
                    got = row[k]
                    if v is None:
                        if got != "":
                            self.fail("csv", f"{key} {label} {k} is {got!r}, JSON null")
                    elif got == "" or not close(float(got), v):
                        self.fail("csv", f"{key} {label} {k} is {got!r}, JSON {v}")
        if want_rows != len(rows) - 1:
            self.fail("csv", f"{len(rows) - 1} rows, the JSON has {want_rows}")


def validate(json_text, requested, csv_text=None):
    """Returns the list of problems (empty: valid)."""
    ck = Checker()
    try:
        doc = load_json(json_text)
    except ValueError as e:
        return [f"not valid JSON: {e}"]
    ck.document(doc, requested)
    if csv_text is not None and not ck.problems:
        ck.csv_agrees(doc, csv_text)
    return ck.problems


def broken_copies(doc):
    """(what, text) pairs: the valid document broken in ways the checks must catch."""
    def first(pred):
        return next((c for c in doc["cells"] if pred(c)), None)

    out = []

    def mutate(what, f):
        d = copy.deepcopy(doc)
        f(d)
        out.append((what, json.dumps(d)))

    # A latency cell (pingpong, rate) and a rate cell (stream, or fanin/mpmc in a run of those).
    ping = first(lambda c: c["pattern"] in LATENCY_PATTERNS and c["status"] == "ok")
    strm = first(lambda c: c["pattern"] in RATE_PATTERNS and c["status"] == "ok")
    many = first(lambda c: c["pattern"] in MANY_PATTERNS and c["status"] == "ok")
    pi = doc["cells"].index(ping) if ping else None
    si = doc["cells"].index(strm) if strm else None
    mi = doc["cells"].index(many) if many else None

    if ping:
        def swap(d):
            lat = d["cells"][pi]["rounds"][0]["latency_ns"]
            lat["p50"], lat["max"] = lat["max"] + 1, lat["p50"]
        mutate("percentiles out of order", swap)
        mutate("a zero latency",
               lambda d: d["cells"][pi]["rounds"][0]["latency_ns"].__setitem__("p50", 0))
        mutate("a failed round",
               lambda d: d["cells"][pi]["rounds"][0].update(status="failed", error="IPCX_EPIPE"))
    if strm:
        mutate("a negative figure",
               lambda d: d["cells"][si]["rounds"][0].__setitem__("msgs_per_s", -1.0))
        mutate("a measured figure null",
               lambda d: d["cells"][si]["rounds"][0].__setitem__("cpu_ns_per_msg", None))

        def median_out(d):
            d["cells"][si]["median"]["msgs_per_s"] = d["cells"][si]["max"]["msgs_per_s"] * 2
        mutate("a median above every round", median_out)

        def skip_without_reason(d):
            c = d["cells"][si]
            c["status"], c["rounds_ok"] = "skipped", 0
            c["median"] = c["min"] = c["max"] = None
            for r in c["rounds"]:
                r.clear()
            for i, r in enumerate(c["rounds"]):
                r.update({"round": i + 1, "status": "skipped", "reason": ""})
            c["skip_reason"] = ""
        mutate("skipped without a reason", skip_without_reason)
    if many:
        mutate("fairness above 1",
               lambda d: d["cells"][mi]["rounds"][0].__setitem__("fairness", 1.5))
        mutate("a many-party cell without its shape",
               lambda d: d["cells"][mi].pop("producers"))
        mutate("no many_placement", lambda d: d.__setitem__("many_placement", None))
        mutate("a many-party rate that is not msgs x size",
               lambda d: d["cells"][mi]["rounds"][0].__setitem__(
                   "bytes_per_s", d["cells"][mi]["rounds"][0]["bytes_per_s"] * 2))
        mutate("a many-party round failed",
               lambda d: d["cells"][mi]["rounds"][0].update(status="bad_payload",
                                                            failed_checks=1))
    mutate("a requested mechanism missing",
           lambda d: d.__setitem__("cells", [c for c in d["cells"]
                                             if c["mechanism"] != doc["mechanisms"][0]["name"]]))
    mutate("the wrong schema", lambda d: d.__setitem__("schema", "ipcx-bench/0"))
    mutate("an unknown placement topology",
           lambda d: d["placement"].__setitem__("topology", "same rack"))
    text = json.dumps(doc)
    if strm:
        needle = json.dumps(strm["rounds"][0]["msgs_per_s"])
        out.append(("a NaN", text.replace(needle, "NaN", 1)))
    out.append(("truncated", text[: len(text) // 2]))
    return out


def run_mode(args):
    requested = [m for m in args.mechanisms.split(",") if m]
    work = tempfile.mkdtemp(prefix="ipcx-bench-test.")
    jpath, cpath = os.path.join(work, "bench.json"), os.path.join(work, "bench.csv")
    keep = False
    try:
        # `ipcx bench --help`: the engine's usage, after one line on where it was found.
        helped = subprocess.run([args.ipcx, "bench", "--help"], capture_output=True, text=True,
                                timeout=60)
        first = helped.stdout.splitlines()[0] if helped.stdout else ""
        if helped.returncode != 0 or not first.startswith("ipcx bench runs ") or \
                "usage: ipcx-bench" not in helped.stdout:
            print(f"ipcx bench --help (exit {helped.returncode}) printed:\n{helped.stdout}"
                  f"{helped.stderr}", file=sys.stderr)
            keep = True
            return 2
        print(first)

        cmd = [args.ipcx, "bench", "--quick", "--mechanisms", ",".join(requested),
               "--json", jpath, "--csv", cpath]
        if args.pattern:
            cmd += ["--pattern", args.pattern]
        if args.sizes:
            cmd += ["--sizes", args.sizes]
        print("$ " + " ".join(cmd), flush=True)
        res = subprocess.run(cmd, timeout=240)
        if res.returncode != 0:
            print(f"ipcx bench exited {res.returncode}; files kept in {work}", file=sys.stderr)
            keep = True
            return 2
        with open(jpath, encoding="utf-8") as f:
            jtext = f.read()
        with open(cpath, encoding="utf-8") as f:
            ctext = f.read()
        problems = validate(jtext, requested, ctext)
        if problems:
            print(f"INVALID ({len(problems)} problems; files kept in {work}):", file=sys.stderr)
            for p in problems:
                print("  " + p, file=sys.stderr)
            keep = True
            return 1
        doc = load_json(jtext)
        for sk in doc["skipped"]:
            print(f"skipped (allowed): {sk['mechanism']}: {sk['reason']}")
        print(f"valid: {len(doc['cells'])} cells, {len(doc['skipped'])} skips, "
              f"CSV agrees ({len(ctext.splitlines())} lines)")

        # The checks themselves: each broken copy must be rejected.
        missed = []
        for what, text in broken_copies(doc):
            if not validate(text, requested):
                missed.append(what)
        if missed:
            print("the validator accepted broken JSON: " + "; ".join(missed), file=sys.stderr)
            return 1
        print(f"rejected all {len(broken_copies(doc))} deliberately broken copies")
        return 0
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def check_mode(args):
    requested = [m for m in args.mechanisms.split(",") if m]
    with open(args.json, encoding="utf-8") as f:
        jtext = f.read()
    ctext = None
    if args.csv:
        with open(args.csv, encoding="utf-8") as f:
            ctext = f.read()
    problems = validate(jtext, requested, ctext)
    if problems:
        print(f"INVALID ({len(problems)} problems):", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        return 1
    print("valid")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    r = sub.add_parser("run")
    r.add_argument("--ipcx", required=True)
    r.add_argument("--mechanisms", required=True)
    r.add_argument("--pattern", help="passed to ipcx bench (default: its default patterns)")
    r.add_argument("--sizes", help="passed to ipcx bench (default: its default sizes)")
    c = sub.add_parser("check")
    c.add_argument("json")
    c.add_argument("--mechanisms", required=True)
    c.add_argument("--csv")
    args = ap.parse_args()
    return run_mode(args) if args.mode == "run" else check_mode(args)


if __name__ == "__main__":
    sys.exit(main())
