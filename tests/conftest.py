"""Shared test settings."""
import json
import os

import pytest
import torch
from hypothesis import Phase, settings

#: Whether mutmut (`make mutate`) is running the tests: it sets MUTANT_UNDER_TEST in its
#: stats pass, its clean run (to "") and for every mutant, so set at all is what counts.
UNDER_MUTATION_TESTING = "MUTANT_UNDER_TEST" in os.environ
#: Written by mutmut's stats pass into mutants/, the directory the tests then run from.
MUTMUT_STATS_FILE = "mutmut-stats.json"

# Mutation testing runs the same tests once per mutant; derandomised, hypothesis draws
# the same examples every time, so a mutant is killed (or survives) for the same reason
# in every run, and the baseline run cannot fail by chance. A mutant needs only the
# verdict, not a minimal example: without the shrink and explain phases a failing property
# stops at its first counterexample (a loop-reference mutant took 29 s to shrink, 0.5 s
# to fail).
if UNDER_MUTATION_TESTING:
    settings.register_profile(
        "mutation-testing",
        derandomize=True,
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
        report_multiple_bugs=False,
    )
    settings.load_profile("mutation-testing")
    # Two mutants run at once on two cores: one thread each, no OpenMP oversubscription
    # (the tests' tensors are small; intra-op threads would only wait for each other).
    torch.set_num_threads(1)


def pytest_collection_modifyitems(items):
    """Under mutation testing, run the fastest tests first.

    mutmut stops a mutant's run at its first failing test, and it passes the covering
    tests in no particular order; sorted by the durations its stats pass measured
    (``MUTMUT_STATS_FILE``), a mutant dies in the quickest test that sees it. Which tests
    run, and so every verdict, is unchanged. Outside mutation testing (or before the
    stats exist) nothing is reordered.
    """
    if not UNDER_MUTATION_TESTING:
        return
    try:
        with open(MUTMUT_STATS_FILE) as file:
            duration = json.load(file)["duration_by_test"]
    except (OSError, ValueError, KeyError):
        return
    # mutmut's stats name a test by its node id relative to the project root
    items.sort(key=lambda item: duration.get(item.nodeid, float("inf")))


@pytest.fixture
def under_mutation_testing() -> bool:
    """``UNDER_MUTATION_TESTING``, for tests whose correct answer differs in mutmut's copy."""
    return UNDER_MUTATION_TESTING
