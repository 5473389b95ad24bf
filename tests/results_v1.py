"""Reads a kcs results file of either format into the schema-1 shape ({"runs": [...], "results": [...]}),
for tests that edit results with Python. The JSON Lines format is described in docs/results.md."""
import json


def _repro(case, backend, tile, threads):
    cmd = f"kcs run --case {case} --backend {backend}"
    if tile != "default":
        cmd += f" --tile {tile}"
    if threads != 1:
        cmd += f" --threads {threads}"
    return cmd


def load(path):
    with open(path) as f:
        first = f.readline()
        head = json.loads(first) if first.startswith("{\"") else None
        if not isinstance(head, dict) or "kcs_results" not in head:
            f.seek(0)
            return json.load(f)
        out = {k: v for k, v in head.items() if k not in ("kcs_results", "planned", "backends", "shard")}
        out.update(schema=1, runs=[], results=[])
        lines = []
        for line in f:
            j = json.loads(line)
            if "end" in j:
                break
            lines.append(j)
    for j in lines:
        case, backend, tile, threads = j["case"], j["backend"], j["tile"], j.get("threads", 1)
        run = {"kernel": j.get("kernel", case.split(".")[0]), "case": case, "backend": backend, "tile": tile,
               "threads": threads, "verdict": j["verdict"], "reason": j.get("reason", ""),
               "repro": j.get("repro", _repro(case, backend, tile, threads)), "seconds": j.get("seconds", 0)}
        out["runs"].append(run)
        checks = lines[j["same_as"]]["checks"] if "same_as" in j else j.get("checks", [])
        for c in checks:
            m = dict(c.get("metrics", {}))
            if isinstance(m.get("ulp_hist"), list):
                names = ["0", "1", "2", "3-4", "5-8", "9-16", ">16", "nan"]
                m["ulp_hist"] = {names[i]: n for i, n in enumerate(m["ulp_hist"])}
            out["results"].append({k: run[k] for k in ("kernel", "case", "backend", "tile", "threads", "repro")} |
                                  {"output": c["output"], "contract": c.get("contract", ""),
                                   "verdict": "failed" if c.get("failed") else "passed", "margin": c.get("margin", 0),
                                   "message": c.get("message", ""), "metrics": m})
    return out
