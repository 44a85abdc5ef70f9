"""Policy checks on the production compose stack, on the output of
`docker compose ... config --format json` read from stdin. Prints PASS/FAIL lines;
exit 1 on any FAIL.

    docker compose --env-file .env.prod.example -f deploy/docker-compose.prod.yaml \
        config --format json | python3 scripts/lib/check_compose.py
"""

from __future__ import annotations

import json
import sys

# What the stack may take of an 8 GB VPS that also runs other sites.
MEMORY_BUDGET = 5 * 1024**3


def main() -> int:
    cfg = json.load(sys.stdin)
    services: dict[str, dict] = cfg["services"]
    results: list[tuple[bool, str]] = []

    def check(ok: bool, msg: str) -> None:
        results.append((ok, msg))

    expected = {"api", "worker", "postgres", "redis", "netdata"}
    check(expected <= services.keys(), f"services present: {sorted(services)}")

    total = 0
    for name, svc in sorted(services.items()):
        image = svc.get("image", "")
        check(":" in image and not image.endswith(":latest"), f"{name}: image tag pinned ({image})")
        check(svc.get("restart") in ("unless-stopped", "always"), f"{name}: restart policy ({svc.get('restart')})")
        check(not svc.get("ports"), f"{name}: no port published on the host")
        limit = svc.get("deploy", {}).get("resources", {}).get("limits", {}).get("memory")
        check(limit is not None, f"{name}: memory limit ({limit})")
        total += int(limit or 0)
        if name in ("api", "postgres", "redis"):
            hc = svc.get("healthcheck", {})
            check(bool(hc.get("test")) and not hc.get("disable"), f"{name}: healthcheck")
        command = svc.get("command") or []
        if name in ("api", "worker"):
            check(command[:3] == ["python", "-m", "course_supporter"], f"{name}: python -m entry point")
            deps = svc.get("depends_on", {})
            check(all(deps.get(d, {}).get("condition") == "service_healthy" for d in ("postgres", "redis")),
                  f"{name}: depends_on postgres+redis with condition service_healthy")
            env = svc.get("environment", {})
            check(env.get("EMBEDDED_WORKER") == "false", f"{name}: EMBEDDED_WORKER=false")
            check(str(env.get("DATABASE_URL", "")).startswith("postgresql://"), f"{name}: DATABASE_URL is PostgreSQL")
    check(total <= MEMORY_BUDGET, f"memory limits sum to {total / 1024**3:.2f} GiB (budget {MEMORY_BUDGET / 1024**3:.0f} GiB)")

    api_cmd = services.get("api", {}).get("command") or []
    check("--workers" in api_cmd and api_cmd[api_cmd.index("--workers") + 1] == "2", "api: 2 uvicorn workers")

    nets = cfg.get("networks", {})
    shared = [n for n in nets.values() if n.get("name") == "shared-net"]
    check(bool(shared) and shared[0].get("external") is True, "shared-net is an external network")
    for name in ("api", "netdata"):
        check("shared-net" in services.get(name, {}).get("networks", {}), f"{name}: on shared-net (reached by nginx)")
    for name in ("postgres", "redis"):
        check("shared-net" not in services.get(name, {}).get("networks", {}), f"{name}: not on shared-net")

    vols = services.get("postgres", {}).get("volumes", [])
    check(any(v.get("type") == "volume" and v.get("target") == "/var/lib/postgresql/data" for v in vols),
          "postgres: data on a named volume")

    for ok, msg in results:
        print(f"{'PASS' if ok else 'FAIL'}  compose.prod: {msg}")
    return 0 if all(ok for ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
