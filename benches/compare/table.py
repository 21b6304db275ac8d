#!/usr/bin/env python3
"""Prints the latest criterion results of a benchmark run as Markdown tables, with ratios.

    python3 benches/compare/table.py                      # benches/compare/target/criterion
    python3 benches/compare/table.py target/criterion     # the main crate's benches

For every group (decode_binary, encode_client, handshake, ...) and size: each line's
throughput (frames/s and GiB/s of wire bytes) from criterion's median estimate, and for
rfc6455 lines the ratio to the fastest peer line (tungstenite, fastwebsockets,
tokio_websockets) and to the copy+unmask floor where there is one. Only the last run of each
benchmark is read (criterion's `new/` directory), so run the whole comparison in one go for
same-run ratios.
"""

import json
import os
import sys

PEERS = ("tungstenite", "fastwebsockets", "tokio_websockets")


def load(root):
    results = {}
    for dirpath, _dirs, files in os.walk(root):
        if not dirpath.endswith(os.sep + "new") or "benchmark.json" not in files:
            continue
        with open(os.path.join(dirpath, "benchmark.json")) as f:
            bench = json.load(f)
        with open(os.path.join(dirpath, "estimates.json")) as f:
            est = json.load(f)
        ns = est["median"]["point_estimate"]
        tp = bench.get("throughput") or {}
        elements = bytes_ = None
        if "ElementsAndBytes" in tp:
            elements = tp["ElementsAndBytes"]["elements"]
            bytes_ = tp["ElementsAndBytes"]["bytes"]
        elif "Elements" in tp:
            elements = tp["Elements"]
        elif "Bytes" in tp:
            bytes_ = tp["Bytes"]
        group = bench["group_id"]
        function = bench.get("function_id") or ""
        value = bench.get("value_str") or ""
        # The main crate's groups have one line each, named by the parameter only.
        if not function:
            function = "rfc6455"
        # apply_mask names lines by size and parameters by offset: show sizes as rows.
        if function.isdigit() and not value.isdigit():
            function, value = value, function
        results.setdefault(group, {}).setdefault(value, {})[function] = (ns, elements, bytes_)
    return results


def size_key(v):
    try:
        return (0, int(v))
    except ValueError:
        return (1, v)


def fmt_rate(ns, elements, bytes_):
    parts = []
    if elements:
        per_s = elements / (ns / 1e9)
        if per_s >= 1e6:
            parts.append(f"{per_s / 1e6:.2f} M/s")
        else:
            parts.append(f"{per_s / 1e3:.1f} K/s")
    if bytes_:
        parts.append(f"{bytes_ / (ns / 1e9) / 2**30:.2f} GiB/s")
    if not parts:
        parts.append(f"{ns / 1e3:.2f} µs" if ns >= 1e3 else f"{ns:.0f} ns")
    return ", ".join(parts)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "target", "criterion")
    results = load(root)
    if not results:
        sys.exit(f"no criterion results under {root}")
    for group in sorted(results):
        rows = results[group]
        print(f"\n### {group}\n")
        print("| size | line | time/iter | throughput | ÷ best peer | ÷ floor |")
        print("| ---: | --- | ---: | ---: | ---: | ---: |")
        for value in sorted(rows, key=size_key):
            lines = rows[value]
            peer_ns = [v[0] for n, v in lines.items() if n.startswith(PEERS)]
            best_peer = min(peer_ns) if peer_ns else None
            floor = lines.get("copy_unmask_floor")
            if floor is None and group.startswith("decode") and group != "copy_unmask_floor":
                # The main crate keeps the floor in a group of its own.
                floor = results.get("copy_unmask_floor", {}).get(value, {}).get("rfc6455")
            for name in sorted(lines, key=lambda n: (not n.startswith("copy"), not n.startswith("rfc6455"), n)):
                ns, elements, bytes_ = lines[name]
                vs_peer = vs_floor = ""
                if name.startswith("rfc6455") and best_peer:
                    vs_peer = f"{best_peer / ns:.2f}×"
                if name.startswith("rfc6455") and floor:
                    vs_floor = f"{floor[0] / ns:.2f}"
                t = f"{ns / 1e6:.3f} ms" if ns >= 1e6 else (f"{ns / 1e3:.2f} µs" if ns >= 1e3 else f"{ns:.1f} ns")
                print(f"| {value} | {name} | {t} | {fmt_rate(ns, elements, bytes_)} | {vs_peer} | {vs_floor} |")


if __name__ == "__main__":
    main()
