"""Run pip-audit over the virtualenv and say plainly what it could and could not check.

Fails (exit 1) when pip-audit reports a known vulnerability in an installed package. A
package the advisory service could not be asked about (no network, or a PyPI mirror without
per-release data) is listed as not audited, and does not fail the run: the count is printed
so nobody reads "no vulnerabilities" as "all checked".
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def main() -> int:
    pip_audit = Path(sys.executable).with_name("pip-audit")
    done = subprocess.run(  # noqa: S603 (our own virtualenv's program)
        [str(pip_audit), "--skip-editable", "--progress-spinner", "off", "--format", "json"],
        capture_output=True, text=True, timeout=900, check=False,
    )
    try:
        report = json.loads(done.stdout)
    except ValueError:
        print(f"pip-audit could not run (exit {done.returncode}): {done.stderr.strip()[-400:]}")
        return 0 if "Connection" in done.stderr or "resolve" in done.stderr else 1
    vulnerable, audited, skipped = [], 0, []
    for dependency in report.get("dependencies", []):
        if dependency.get("skip_reason"):
            skipped.append(dependency["name"])
            continue
        audited += 1
        for vuln in dependency.get("vulns", []):
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fix yet"
            vulnerable.append(f"{dependency['name']} {dependency.get('version')}: "
                              f"{vuln.get('id')} (fixed in {fixes})")
    for line in vulnerable:
        print(f"VULNERABLE {line}")
    print(f"pip-audit: {audited} packages audited, {len(vulnerable)} known vulnerabilities; "
          f"{len(skipped)} not audited (the advisory service had no data for them)")
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
