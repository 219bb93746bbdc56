"""Every scratch module with an ``inplace`` argument honours it as torch's module does:
``inplace=True`` overwrites its input and returns it, ``inplace=False`` leaves it alone.

(The functional forms are compared with torch in their own test files; this is the
module's job of passing the flag on, which a comparison of outputs cannot see.)
"""
import inspect

import pytest
import torch

import cnnlessons.scratch as snn

#: Every public scratch module class that takes ``inplace``, found, not listed by hand.
MODULES = sorted(name for name in snn.__all__
                 if inspect.isclass(getattr(snn, name))
                 and issubclass(getattr(snn, name), torch.nn.Module)
                 and getattr(snn, name).__module__.startswith("cnnlessons")
                 and "inplace" in inspect.signature(getattr(snn, name)).parameters)


def test_the_modules_with_inplace_are_found():
    assert {"ReLU", "ReLU6", "LeakyReLU", "Hardtanh", "Dropout", "Dropout2d"} <= set(MODULES)


@pytest.mark.parametrize("inplace", [True, False])
@pytest.mark.parametrize("name", MODULES)
def test_module_passes_inplace_on(name, inplace):
    x = torch.linspace(-3, 3, 2 * 3 * 4 * 4).reshape(2, 3, 4, 4)
    results = []
    for library in (snn, torch.nn):
        layer = getattr(library, name)(inplace=inplace).train()
        given = x.clone()
        torch.manual_seed(0)                 # the same dropout mask for both
        out = layer(given)
        results.append((out is given, torch.equal(given, x), out))
    (ours_is, ours_kept, ours), (theirs_is, theirs_kept, theirs) = results
    assert (ours_is, ours_kept) == (theirs_is, theirs_kept) == (inplace, not inplace)
    torch.testing.assert_close(ours, theirs)
