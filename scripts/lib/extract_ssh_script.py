"""Print the shell script that .github/workflows/deploy.yml runs on the VPS through
appleboy/ssh-action, so it can be shellchecked and exercised with stubs.

    python3 scripts/lib/extract_ssh_script.py [.github/workflows/deploy.yml]
"""

from __future__ import annotations

import sys

import yaml

path = sys.argv[1] if len(sys.argv) > 1 else ".github/workflows/deploy.yml"
workflow = yaml.safe_load(open(path))
scripts = [
    step["with"]["script"]
    for job in workflow["jobs"].values()
    for step in job.get("steps", [])
    if str(step.get("uses", "")).startswith("appleboy/ssh-action")
]
if len(scripts) != 1:
    sys.exit(f"expected one appleboy/ssh-action step in {path}, found {len(scripts)}")
if "script_stop" in str(workflow):
    sys.exit("script_stop is not an input of appleboy/ssh-action@v1; use set -e")
print("#!/bin/sh")
print(scripts[0], end="")
