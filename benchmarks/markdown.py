"""The Markdown tables of a run (also written to results/commit.md for the README)."""

from __future__ import annotations

from typing import Any

import report


def rate(x: float | None) -> str:
    if x is None:
        return "-"
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def ms(x: float | None) -> str:
    if x is None:
        return "-"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def durable_text(d: dict[str, Any]) -> str:
    if d["durable"]:
        return "**yes**"
    if d["atomic"] and not d["fsync_data"]:
        return "no: atomic, no fsync"
    if d["fsync_data"] and not d["atomic"]:
        return "no: fsync, in place"
    return "no"


def _cell_cols(cells: list[dict[str, Any]]) -> list[str]:
    return [f"{c['size']} {c['threads']}t" for c in cells]


def render(result: dict[str, Any]) -> str:
    meta, cells, info = result["meta"], result["cells"], result["contenders"]
    names = [n for n in info if any(n in c["results"] for c in cells)]
    fs = meta["filesystem"]
    s = meta["settings"]
    lines = [
        f"Run {meta['date']} on {meta['machine']['cpu']} ({meta['machine']['cores']} cores), "
        f"Python {meta['machine']['python']}, {fs.get('type', '?')} on {fs.get('device', '?')} "
        f"mounted {fs.get('options', '?')} (bench dir {fs['bench_dir']}); "
        f"engine {meta['versions'].get('git_commit')}"
        f"{' + local changes' if meta['versions'].get('engine_modified') else ''}. "
        f"Budget {s['budget_s']:g} s per contender per cell in {s['slice_s']:g} s slices, "
        "interleaved round-robin"
        f"{'; ' + report.load_text(meta) if 'load_average' in meta else ''}.",
        "",
        "Durable commits per second (higher is better); `Nt` = N threads, each changing its "
        "own key:",
        "",
        "| contender | durable | " + " | ".join(_cell_cols(cells)) + " |",
        "|---|---|" + "---:|" * len(cells),
    ]
    for n in names:
        row = [f"`{n}`", durable_text(info[n])]
        for c in cells:
            r = c["results"].get(n)
            if r is None:
                row.append("")
            elif r["error"]:
                row.append("error")
            elif r["skipped"]:
                row.append(f"skip ({ms(r['first_ms'])} ms)")
            else:
                row.append(rate(r["commits_per_s"]))
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "Latency per commit, median / p99 in ms (lower is better):", "",
              "| contender | " + " | ".join(_cell_cols(cells)) + " |",
              "|---|" + "---:|" * len(cells)]
    for n in names:
        row = [f"`{n}`"]
        for c in cells:
            r = c["results"].get(n)
            ok = r is not None and not r["error"] and not r["skipped"]
            row.append(f"{ms(r['median_ms'])} / {ms(r['p99_ms'])}" if ok and r else "-")
        lines.append("| " + " | ".join(row) + " |")
    notes = [f"- `{n}` at {c['size']} {c['threads']}t: {r['skipped'] or r['error']}"
             for c in cells for n, r in c["results"].items() if r["skipped"] or r["error"]]
    if notes:
        lines += ["", "Skipped or failed:", "", *notes]
    lines += ["", "Contenders:", ""]
    lines += [f"- `{n}`: {info[n]['label']}. {info[n]['note']}" for n in names]
    lines += ["", *targets_table(result["targets"])]
    if result.get("read"):
        lines += ["", *read_table(result["read"])]
    sizes = sorted({(c["size"], c["doc_bytes"], c["clients"]) for c in cells},
                   key=lambda t: t[1])
    lines += ["", "Document sizes: " + ", ".join(
        f"{lab} = {b:,} bytes ({k:,} clients)" for lab, b, k in sizes) + "."]
    return "\n".join(lines) + "\n"


def targets_table(rows: list[dict[str, Any]]) -> list[str]:
    out = ["Targets (ratios from this run):", "",
           "| # | ratio | cell | value | need | result |", "|---|---|---|---:|---|---|"]
    for t in rows:
        verdict = {True: "PASS", False: "**FAIL**", None: "n/a"}[t["pass"]]
        if t["need"] == "info":
            verdict = "(information)"
        value = "-" if t["ratio"] is None else f"{t['ratio']:.2f}"
        out.append(f"| {t['target']} | {t['what']} | {t['size']} {t['threads']}t | {value} "
                   f"| {t['need']} | {verdict} |")
    return out


def read_table(read: dict[str, Any]) -> list[str]:
    out = [f"Reads of a leaf three levels deep ({read['size']} document, timeit, best of "
           f"{read['repeat']}):", "", "| how | ns per read | vs plain dict |", "|---|---:|---:|"]
    plain = read["cases"]["plain dict"]["ns"]
    for name, case in read["cases"].items():
        out.append(f"| `{case['code']}` ({name}) | {case['ns']:.1f} | {case['ns'] / plain:.2f} |")
    return out
