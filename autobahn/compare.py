#!/usr/bin/env python3
"""Summarise an Autobahn|Testsuite report and diff it against expectations.

Reads <reports>/index.json written by wstest (agent -> case id -> result),
prints per-agent counts of each behavior plus a summary of the 9.* case
durations, then compares every selected case with expected-results.json
(case id -> expected behavior). A case differs when it is missing, when its
behavior is not the expected one, or when its behaviorClose is neither OK nor
INFORMATIONAL. Exit status: 0 = no differences, 1 = differences, 2 = usage
or I/O error. Standard library only.
"""
import argparse
import json
import os
import re
import sys

BEHAVIORS = ["OK", "NON-STRICT", "FAILED", "UNIMPLEMENTED", "INFORMATIONAL"]
GOOD_CLOSE = {"OK", "INFORMATIONAL"}


def id_tuple(case_id):
    return tuple(int(x) for x in case_id.split("."))


def resolve(patterns, universe):
    """Same semantics as wstest's CaseSet.resolveCasePatternList."""
    out = set()
    for pat in patterns:
        if "*" in pat:
            rx = re.compile(pat.replace(".", r"\.").replace("*", ".*"))
            out.update(c for c in universe if rx.match(c))
        else:
            out.add(pat)
    return out


def load_json(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        print("compare.py: cannot read %s %s: %s" % (what, path, e), file=sys.stderr)
        sys.exit(2)


def case_detail(report_dir, entry):
    """result / resultClose text from the per-case report JSON, if present."""
    name = entry.get("reportfile")
    if not name:
        return ""
    try:
        with open(os.path.join(report_dir, name), encoding="utf-8") as f:
            detail = json.load(f)
    except (OSError, ValueError):
        return ""
    parts = []
    for key in ("result", "resultClose"):
        text = " ".join(str(detail.get(key) or "").split())
        if text:
            if len(text) > 300:
                text = text[:297] + "..."
            parts.append("%s: %s" % (key, text))
    return " | ".join(parts)


def summarise(agent, results):
    counts = {}
    for entry in results.values():
        b = entry.get("behavior", "?")
        counts[b] = counts.get(b, 0) + 1
    order = BEHAVIORS + sorted(set(counts) - set(BEHAVIORS))
    total_ms = sum(e.get("duration") or 0 for e in results.values())
    print("agent %s: %d cases, %d ms total" % (agent, len(results), total_ms))
    print("  " + "  ".join("%s=%d" % (b, counts.get(b, 0)) for b in order))

    groups = {}
    for case_id, entry in results.items():
        t = id_tuple(case_id)
        if t[0] == 9:
            groups.setdefault(t[:2], []).append((entry.get("duration") or 0, case_id))
    if not groups:
        return
    print("  9.* durations (ms):")
    print("    %-6s %5s %9s %9s  %s" % ("group", "cases", "total", "max", "slowest case"))
    all9 = []
    for key in sorted(groups):
        items = groups[key]
        all9.extend(items)
        worst = max(items)
        print("    %-6s %5d %9d %9d  %s" % ("%d.%d" % key, len(items),
                                           sum(d for d, _ in items), worst[0], worst[1]))
    print("    %-6s %5d %9d %9d  %s" % ("9.*", len(all9), sum(d for d, _ in all9),
                                       max(all9)[0], max(all9)[1]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", required=True, help="wstest report index.json")
    ap.add_argument("--expected", required=True, help="expected-results.json")
    ap.add_argument("--agent", action="append", default=[],
                    help="agent that must be present (repeatable; default: all agents in index)")
    ap.add_argument("--cases", default='["*"]', help='JSON list of case patterns that were run')
    ap.add_argument("--exclude", default='[]',
                    help="JSON list of case patterns that were excluded")
    args = ap.parse_args()

    index = load_json(args.index, "report index")
    expected = load_json(args.expected, "expectations")
    report_dir = os.path.dirname(os.path.abspath(args.index))
    try:
        include = json.loads(args.cases)
        exclude = json.loads(args.exclude)
    except ValueError as e:
        print("compare.py: bad --cases/--exclude JSON: %s" % e, file=sys.stderr)
        return 2

    agents = args.agent or sorted(index)
    if not agents:
        print("compare.py: %s contains no agents" % args.index, file=sys.stderr)
        return 2

    for agent in agents:
        if agent in index:
            summarise(agent, index[agent])

    problems = 0
    for agent in agents:
        results = index.get(agent)
        universe = set(expected) | set(results or {})
        selected = resolve(include, universe) - resolve(exclude, universe)
        if results is None:
            want = [c for c in expected if c in selected]
            print("DIFF agent %s: no results at all in %s (%d cases expected)"
                  % (agent, args.index, len(want)))
            problems += max(len(want), 1)
            continue
        diffs = []
        for case_id in sorted(selected, key=id_tuple):
            entry = results.get(case_id)
            want = expected.get(case_id)
            if want is None:
                diffs.append("%-8s not in expected-results.json (behavior %s, behaviorClose %s)"
                             % (case_id, entry.get("behavior"), entry.get("behaviorClose")))
                continue
            if entry is None:
                diffs.append("%-8s MISSING from report (expected %s)" % (case_id, want))
                continue
            behavior = entry.get("behavior")
            close = entry.get("behaviorClose")
            if behavior != want or close not in GOOD_CLOSE:
                line = "%-8s behavior %s (expected %s), behaviorClose %s" % (
                    case_id, behavior, want, close)
                detail = case_detail(report_dir, entry)
                if detail:
                    line += "\n           " + detail
                diffs.append(line)
        if diffs:
            print("DIFF agent %s: %d case(s) differ from expected-results.json:" % (agent, len(diffs)))
            for d in diffs:
                print("  " + d)
        else:
            print("agent %s: all %d selected cases match expected-results.json" % (agent, len(selected)))
        problems += len(diffs)

    if problems:
        print("RESULT: %d difference(s)" % problems)
        return 1
    print("RESULT: no differences")
    return 0


if __name__ == "__main__":
    sys.exit(main())
