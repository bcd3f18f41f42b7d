"""The interfaces' lint: no ORM writes in the web, the API or template tags; the layers."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[3]


def _checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "check_no_orm_writes", ROOT / "scripts" / "check_no_orm_writes.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_interfaces_write_nothing_themselves():
    found, stale = _checker().check(ROOT)
    assert not found, "\n".join(map(str, found))
    assert not stale


def test_the_checker_reports_writes_and_leaves_dicts_alone(tmp_path):
    views = tmp_path / "saraban" / "web" / "views"
    views.mkdir(parents=True)
    (tmp_path / "saraban" / "routing" / "templatetags").mkdir(parents=True)
    (views / "bad.py").write_text(
        "def page(request, row, form, context):\n"
        "    Letter.objects.filter(pk=1).update(subject='x')\n"
        "    Note.objects.create(text='x')\n"
        "    row.save(update_fields=['x'])\n"
        "    form.save()\n"
        "    Pref.objects.update_or_create(kind='x')\n"
        "    row.file_set.create(name='x')\n"
        "    context.update({'a': 1})\n"
        "    {}.update(a=1)\n",
        encoding="utf-8",
    )
    (tmp_path / "saraban" / "routing" / "templatetags" / "tags.py").write_text(
        "@router.delete('/x')\n"
        "def tag(letter):\n"
        "    letter.entries.all().delete()\n",
        encoding="utf-8",
    )
    found, _stale = _checker().check(tmp_path)
    assert [(f.path.rsplit("/", 1)[-1], f.line, f.call) for f in found] == [
        ("tags.py", 3, "delete"),
        ("bad.py", 2, "update"), ("bad.py", 3, "create"), ("bad.py", 4, "save"),
        ("bad.py", 5, "save"), ("bad.py", 6, "update_or_create"), ("bad.py", 7, "create"),
    ]


def test_the_layers_contract_is_kept():
    """import-linter is a dev dependency: ``make test`` installs it, so this always runs."""
    tool = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(tool), "--no-cache"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout[-3000:]
