"""Shared test settings."""
import os

import torch
from hypothesis import settings

# Mutation testing (`make mutate`) runs the same tests once per mutant; derandomised,
# hypothesis draws the same examples every time, so a mutant is killed (or survives)
# for the same reason in every run, and the baseline run cannot fail by chance.
if os.environ.get("MUTANT_UNDER_TEST"):
    settings.register_profile("mutation-testing", derandomize=True)
    settings.load_profile("mutation-testing")
    # Two mutants run at once on two cores: one thread each, no OpenMP oversubscription
    # (the tests' tensors are small; intra-op threads would only wait for each other).
    torch.set_num_threads(1)
