"""tools/check-layers: the layering check of make check fails on an upward use.

Runs the checker on a copy of src/lib: clean, then with one planted upward
#include (storage using vm), then with a folder that src/lib/layers does
not list.  docs/architecture.md §1.
"""
import os
import shutil
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECK = os.path.join(ROOT, "tools", "check-layers")


def run(lib):
    return subprocess.run([CHECK, "--lib", str(lib)], capture_output=True, text=True)


def test_clean_tree_passes():
    r = subprocess.run([CHECK, "--sizes"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 upward uses" in r.stdout


def test_upward_include_fails(tmp_path):
    lib = tmp_path / "lib"
    shutil.copytree(os.path.join(ROOT, "src", "lib"), lib)
    with open(lib / "storage" / "pool.c", "a") as f:
        f.write('#include "vm.h"\n')
    r = run(lib)
    assert r.returncode == 1
    assert "storage/pool.c" in r.stdout and "storage may not use vm (vm.h)" in r.stdout


def test_unlisted_folder_fails(tmp_path):
    lib = tmp_path / "lib"
    shutil.copytree(os.path.join(ROOT, "src", "lib"), lib)
    os.mkdir(lib / "rogue")
    r = run(lib)
    assert r.returncode == 1
    assert "rogue" in r.stdout + r.stderr
