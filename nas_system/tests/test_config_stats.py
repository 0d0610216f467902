"""config_stats: seeds grouped by config, the pooled seed noise with its degrees of freedom, the incumbent."""
import math

import pytest

from nas_agent.agent_state import AgentState, RunInfo
from nas_agent.config_stats import SeedLimits, config_table, incumbent, next_seed, noise_table, run_labels

FID = "ETTh1.csv MS OT->96 8640/2880/2880 @3ep"


def run(i, cid, val, family="informer", status="ok", accepted=True, kind=None, repeat_of=None):
    return RunInfo(run_id=f"run_{i:04d}", val_mse=val, status=status, accepted=accepted, config_id=cid,
                   fidelity=FID, family=family, kind=kind, repeat_of=repeat_of, seed=42 + i)


def test_seeds_of_one_config_are_one_row_with_mean_and_sd_over_ok_runs_only():
    runs = [run(0, "a", 0.20, kind="baseline"), run(1, "a", 0.22, repeat_of="run_0000"),
            run(2, "a", None, status="crashed", accepted=False, repeat_of="run_0000")]
    [c] = config_table(runs)
    assert (c.n, c.run_ids) == (2, ["run_0000", "run_0001", "run_0002"])
    assert c.val_mean == pytest.approx(0.21) and c.val_sd == pytest.approx(math.sqrt(0.0002))
    assert c.accepted  # the crashed seed takes nothing away


def test_the_next_seed_is_past_every_seed_the_config_used_failed_ones_included():
    runs = [run(0, "a", 0.20, kind="baseline"), run(1, "a", None, status="crashed", accepted=False, repeat_of="run_0000")]
    [c] = config_table(runs)
    assert (c.seeds, c.next_seed) == ([42], 44)  # seed 43 crashed: it is used all the same
    assert next_seed([None, True], 3) == 3  # no integer seed recorded: the default


def test_what_a_config_has_left_of_the_searchs_baseline_seeds_and_repeats():
    [c] = config_table([run(0, "a", 0.20, kind="proposal"), run(1, "a", None, status="crashed", repeat_of="run_0000")])
    assert SeedLimits(3, 2).left(c) == {"baseline_seeds_left": 1, "missing_seeds": [44], "repeats_left": 1}  # the crashed seed counts as tried
    assert SeedLimits(1, 0).left(c) == {"baseline_seeds_left": 0, "missing_seeds": [], "repeats_left": 0}
    assert SeedLimits().left(c) == {}  # not asked: not said


def test_the_missing_baseline_seeds_follow_the_largest_seed_the_config_used():
    # seeds 42 (ok), 50 (crashed): the missing ones start past 50, never reuse 43..49 or a used one
    runs = [run(0, "a", 0.20, kind="proposal"), run(8, "a", None, status="crashed", repeat_of="run_0000")]
    [c] = config_table(runs)
    assert SeedLimits(5).left(c) == {"baseline_seeds_left": 3, "missing_seeds": [51, 52, 53]}
    assert SeedLimits(2).left(c)["missing_seeds"] == []


def test_noise_is_pooled_over_configs_with_its_degrees_of_freedom_and_relative_at_each_level():
    runs = [run(0, "a", 0.20, kind="baseline"), run(1, "a", 0.24), run(2, "a", 0.22),  # informer, 2 dof
            run(3, "b", 0.050, family="dlinear", accepted=False)]
    table = config_table(runs)
    noise = noise_table(table)[FID]
    assert noise["dof"] == 2 and noise["n"] == 3
    a, b = table
    assert a.noise_dof == 2 and a.noise_sd == pytest.approx(noise["rel_sd"] * a.val_mean)
    # a family with no seeds of its own gets the measured relative sd at its own level, with its dof
    assert b.noise_dof == 2 and b.noise_sd == pytest.approx(noise["rel_sd"] * 0.050)
    assert "relative sd" in b.noise_source
    # which runs each sd pools, for the evaluator's dof: its family's alone, or all (overlapping a's)
    assert a.noise_pool == "family" and b.noise_pool == "all"


def test_one_dof_is_used_and_no_spread_means_no_estimate():
    two = config_table([run(0, "a", 0.20, kind="baseline"), run(1, "a", 0.30)])
    noise_table(two)
    assert two[0].noise_dof == 1 and two[0].noise_sd is not None
    one = config_table([run(0, "a", 0.20, kind="baseline")])
    noise_table(one)
    assert one[0].noise_sd is None and one[0].noise_dof is None


def test_the_incumbent_is_the_accepted_config_with_the_lowest_mean_since_the_last_baseline():
    runs = [run(0, "a", 0.20, kind="baseline"), run(1, "b", 0.10, accepted=False), run(2, "c", 0.15),
            run(3, "d", 0.12, accepted=False)]
    table = config_table(runs)
    assert incumbent(runs, table, FID).config_id == "c"
    # a new baseline starts a new lineage: older configs no longer count
    runs.append(run(4, "e", 0.30, kind="baseline"))
    table = config_table(runs)
    assert incumbent(runs, table, FID).config_id == "e"


def test_each_runs_verdict_label_is_one_rule_and_agent_state_json_carries_it():
    """failed / accepted / promising / rejected: a promising config's label holds until a later
    seed's verdict replaces it; a pending verdict does not count; agent_state.json writes them."""
    cand = [run(1, "b", 0.19, accepted=False), run(2, "b", 0.18, accepted=False, repeat_of="run_0001")]
    cand[0].extra["promising"] = True
    runs = [run(0, "a", 0.20, kind="baseline"), *cand, run(3, "c", None, status="timeout", accepted=False),
            run(4, "d", 0.30, accepted=False)]
    runs[2].evaluation_reason = "verdict pending"  # the repeat waits: the first seed's verdict stands
    labels = run_labels(runs)
    assert labels == {"run_0000": "accepted", "run_0001": "promising", "run_0002": "promising",
                      "run_0003": "failed", "run_0004": "rejected"}
    runs[2].evaluation_reason = "rejected: no gain beyond the noise"  # the repeat's verdict replaces it
    assert run_labels(runs)["run_0001"] == "rejected"
    assert AgentState(runs=runs).to_dict()["verdicts"] == run_labels(runs)
