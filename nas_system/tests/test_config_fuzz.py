"""Property-based fuzz of the AST helper (issue 18, family 3): generated change sets (valid and
invalid values, conditional keys, family switches, class names in and out of the allow-list,
code-like keys and strings) applied one after another in-process to a copy of the repo's
config.py. After every apply: config.py parses, loading it (torch stubbed) creates no file and
prints nothing, and every requested value reads back equal; or the whole apply was refused with
the file byte-for-byte unchanged."""
import ast
import contextlib
import io
import math
import os
import shutil
import sys
import types
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is in nas_system/requirements.txt: run scripts/setup.sh")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from nas_agent.config_edit import ConfigEditError, apply_changes, read_values  # noqa: E402
from nas_agent.search_space import load_space  # noqa: E402

NAS_SYSTEM = Path(__file__).resolve().parents[1]
SPACE = load_space(NAS_SYSTEM / "search_space.json")
BASE = (NAS_SYSTEM / "config.py").read_bytes()
KEYS = sorted(SPACE.params)

NASTY = st.sampled_from([
    "__import__('os').system('touch PWNED')", "'; import os; os.system('touch PWNED') #", '"\nimport os\n"',
    "\\", "\\\\'", "\u2028", "\x00", "$(touch PWNED)", "`touch PWNED`", "a\"b'c", "exec(open('x').read())",
    "os.system", "builtins.eval", "optim.Adam()", "nn.__class__", "subprocess.Popen", "x; y",
])
ANY = st.one_of(
    st.none(), st.booleans(), st.integers(-10**20, 10**20),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12), NASTY,
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
JUNK_KEYS = st.one_of(
    st.sampled_from(["model.__class__", "__builtins__", "os", "get_config", "model.d_model.x", "data[0]",
                     "model; import os", "model.\nx", "training.__dict__.x", "model.family.__len__", "", "."]),
    st.text(max_size=15),
)


def good_value(key: str) -> st.SearchStrategy:
    spec = SPACE.params[key]
    if spec.choices:
        return st.sampled_from(list(spec.choices))
    if spec.type == "float":
        return st.floats(spec.low, spec.high, allow_nan=False)
    if spec.type == "int":
        return st.integers(int(spec.low), int(spec.high))
    return st.booleans() if spec.type == "bool" else ANY


GOOD_CHANGE = st.sampled_from(KEYS).flatmap(lambda k: st.tuples(st.just(k), good_value(k)))
CHANGE = st.one_of(
    GOOD_CHANGE, GOOD_CHANGE, GOOD_CHANGE, GOOD_CHANGE, GOOD_CHANGE, GOOD_CHANGE,  # mostly values inside the space
    st.tuples(st.just("model.family"), st.sampled_from(list(SPACE.params["model.family"].choices))),
    st.tuples(st.sampled_from(KEYS), ANY),  # a real key, any value
    st.tuples(JUNK_KEYS, ANY),
)
CHANGE_SETS = st.lists(st.lists(CHANGE, min_size=1, max_size=4), min_size=1, max_size=3)


class _Anything(types.ModuleType):
    """A stub torch module: any attribute is another stub (optim.AdamW, nn.MSELoss, ...)."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Anything(f"{self.__name__}.{name}")


def load_has_no_side_effects(path: Path, workdir: Path) -> None:
    stubs = {name: _Anything(name) for name in ("torch", "torch.nn", "torch.optim")}
    stubs["torch"].nn, stubs["torch"].optim = stubs["torch.nn"], stubs["torch.optim"]
    saved = {k: sys.modules.get(k) for k in stubs}
    before = sorted(os.listdir(workdir))
    out = io.StringIO()
    cwd = os.getcwd()
    try:
        sys.modules.update(stubs)
        os.chdir(workdir)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            exec(compile(path.read_bytes(), str(path), "exec"), {"__name__": "config"})
    finally:
        os.chdir(cwd)
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    assert sorted(os.listdir(workdir)) == before, "loading config.py created a file"
    assert out.getvalue() == "", "loading config.py printed something"


def same(got, want) -> bool:
    if isinstance(want, bool) or isinstance(got, bool):
        return got is want
    if isinstance(want, (int, float)) and isinstance(got, (int, float)):
        return math.isclose(got, want, rel_tol=1e-12, abs_tol=0.0)
    return got == want


def test_every_apply_parses_loads_inert_and_reads_back_or_is_refused(tmp_path):
    """About 1,200 change sets in 600 sequences; some written, some refused (counted in one test:
    pytest-xdist may run tests of this file in different processes)."""
    applied = {"sets": 0, "written": 0, "refused": 0}
    runs = iter(range(10**9))

    @settings(max_examples=600, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
    @given(sets=CHANGE_SETS)
    def fuzz(sets):
        work = tmp_path / f"w{next(runs)}"
        work.mkdir()
        cfg = work / "config.py"
        cfg.write_bytes(BASE)
        for changes in sets:
            before = cfg.read_bytes()
            applied["sets"] += 1
            try:
                apply_changes(cfg, [{"key": k, "value": v} for k, v in changes], SPACE)
            except ConfigEditError:
                applied["refused"] += 1
                assert cfg.read_bytes() == before, f"a refused apply changed config.py: {changes!r}"
                continue
            applied["written"] += 1
            ast.parse(cfg.read_bytes())
            load_has_no_side_effects(cfg, work)
            got = read_values(cfg, SPACE).values
            for key, want in dict(changes).items():  # the last value of a key wins, as in the apply
                spec = SPACE.params[key]  # a written apply only ever holds search keys
                if spec.type == "class":
                    assert got[key] == want, (key, got[key], want)
                else:
                    assert same(got[key], want), (key, got[key], want, changes)
        shutil.rmtree(work)

    fuzz()
    print(f"config fuzz: {applied}")
    assert applied["sets"] >= 1000, applied
    assert applied["written"] >= 100 and applied["refused"] >= 100, applied
