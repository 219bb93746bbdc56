"""Scratch SGD against torch.optim.SGD, step for step."""
import copy
import inspect

import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cnnlessons.scratch import optim
from cnnlessons.scratch.optim import SGD

DT = torch.float64


def make_problem(seed):
    """Parameters (a vector and a matrix in two groups-worth) and a random quadratic loss
    0.5 * x^T A x - b^T x over their concatenation, A symmetric positive definite."""
    gen = torch.Generator().manual_seed(seed)
    params = [torch.randn(3, generator=gen, dtype=DT), torch.randn(2, 2, generator=gen, dtype=DT)]
    m = torch.randn(7, 7, generator=gen, dtype=DT)
    A = m @ m.T / 7 + 0.1 * torch.eye(7, dtype=DT)
    b = torch.randn(7, generator=gen, dtype=DT)

    def loss_fn(ps):
        x = torch.cat([p.reshape(-1) for p in ps])
        return 0.5 * x @ A @ x - b @ x

    return params, loss_fn


def clone_params(params):
    return [p.detach().clone().requires_grad_() for p in params]


def run(opt_cls, params, loss_fn, steps, groups=None, **kwargs):
    ps = clone_params(params)
    opt = opt_cls(groups(ps) if groups else ps, **kwargs)
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(ps).backward()
        opt.step()
    return ps, opt


@st.composite
def sgd_options(draw):
    momentum = draw(st.sampled_from([0.0, 0.5, 0.9]) | st.floats(0.0, 0.99))
    nesterov = momentum > 0 and draw(st.booleans())
    dampening = 0.0 if nesterov else draw(st.sampled_from([0.0, 0.1]) | st.floats(0.0, 0.9))
    return dict(
        lr=draw(st.floats(1e-3, 0.3)),
        momentum=momentum,
        dampening=dampening,
        weight_decay=draw(st.sampled_from([0.0, 1e-2]) | st.floats(0.0, 0.5)),
        nesterov=nesterov,
        maximize=draw(st.booleans()),
    )


def assert_same(ours, theirs):
    for a, t in zip(ours, theirs):
        # Same operations in the same order as torch's single-tensor path: bit-identical.
        assert torch.equal(a, t), (a, t)


@settings(max_examples=50, deadline=None)
@given(options=sgd_options(), steps=st.integers(1, 8), seed=st.integers(0, 2**31 - 1))
def test_matches_torch_sgd(options, steps, seed):
    params, loss_fn = make_problem(seed)
    ours, opt_o = run(SGD, params, loss_fn, steps, **options)
    theirs, opt_t = run(torch.optim.SGD, params, loss_fn, steps, **options)
    assert_same(ours, theirs)
    for a, t in zip(ours, theirs):
        assert set(opt_o.state[a]) == set(opt_t.state[t])  # a buffer only with momentum
        if options["momentum"] != 0:
            assert torch.equal(opt_o.state[a]["momentum_buffer"], opt_t.state[t]["momentum_buffer"])


def run_recording_grads(opt_cls, params, loss_fn, zero_grads, **kwargs):
    """Step once per entry of ``zero_grads``, calling ``zero_grad()`` first only where it
    is True (otherwise the new gradient adds to the old one), and record every
    parameter's ``.grad`` right after each step."""
    ps = clone_params(params)
    opt = opt_cls(ps, **kwargs)
    grads = []
    for zero in zero_grads:
        if zero:
            opt.zero_grad()
        loss_fn(ps).backward()
        opt.step()
        grads.append([p.grad.clone() for p in ps])
    return ps, opt, grads


@settings(max_examples=50, deadline=None)
@given(options=sgd_options(), zero_grads=st.lists(st.booleans(), min_size=1, max_size=6),
       seed=st.integers(0, 2**31 - 1))
@example(options=dict(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.1, nesterov=True,
                      maximize=True),
         zero_grads=[True, False, False], seed=0)
@example(options=dict(lr=0.05, momentum=0.5, dampening=0.3, weight_decay=0.2, nesterov=False,
                      maximize=False),
         zero_grads=[False, False, True, False], seed=1)   # dampening, never zeroed at first
@example(options=dict(lr=0.1, momentum=0.0, dampening=0.0, weight_decay=0.5, nesterov=False,
                      maximize=False),
         zero_grads=[False] * 4, seed=2)                   # weight decay alone, no buffer
@example(options=dict(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=True,
                      maximize=False),
         zero_grads=[True, False, True, False], seed=3)    # nesterov without weight decay
def test_step_leaves_grad_alone_and_accumulated_grads_match_torch(options, zero_grads, seed):
    """``step()`` reads ``p.grad`` and never writes it (weight decay, maximize and
    momentum work on copies), so gradients accumulated over several ``backward()``
    calls without ``zero_grad()`` are the same as torch's, step after step."""
    params, loss_fn = make_problem(seed)
    ours, opt_o, grads_o = run_recording_grads(SGD, params, loss_fn, zero_grads, **options)
    theirs, opt_t, grads_t = run_recording_grads(torch.optim.SGD, params, loss_fn, zero_grads,
                                                 **options)
    for step_o, step_t in zip(grads_o, grads_t, strict=True):
        assert_same(step_o, step_t)
    assert_same(ours, theirs)
    for a, t in zip(ours, theirs):
        if options["momentum"] != 0:
            assert torch.equal(opt_o.state[a]["momentum_buffer"], opt_t.state[t]["momentum_buffer"])


# Every scratch optimiser, with its torch twin and options that exercise it.
OPTIONS = {"SGD": dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.1)}


@pytest.mark.parametrize("name", optim.__all__)
def test_every_scratch_optimiser_accumulates_like_torch(name):
    """Each class of ``scratch.optim`` (those to come too), with gradients accumulated
    over ``backward()`` calls: ``p.grad`` after every step and the parameters are torch's."""
    params, loss_fn = make_problem(4)
    options = OPTIONS.get(name, dict(weight_decay=0.1))
    zero_grads = [True, False, False, True, False]
    ours, _, grads_o = run_recording_grads(getattr(optim, name), params, loss_fn, zero_grads,
                                           **options)
    theirs, _, grads_t = run_recording_grads(getattr(torch.optim, name), params, loss_fn,
                                             zero_grads, **options)
    for step_o, step_t in zip(grads_o, grads_t, strict=True):
        assert_same(step_o, step_t)
    assert_same(ours, theirs)


def test_step_does_not_touch_grad_with_every_option():
    """The gradient after ``step()`` is the one ``backward()`` left, bit for bit."""
    params, loss_fn = make_problem(3)
    ps = clone_params(params)
    opt = SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.5, nesterov=True, maximize=True)
    for _ in range(3):
        opt.zero_grad()
        loss_fn(ps).backward()
        before = [p.grad.clone() for p in ps]
        opt.step()
        assert_same([p.grad for p in ps], before)
        # The buffer is a tensor of its own, not the gradient.
        assert all(opt.state[p]["momentum_buffer"].data_ptr() != p.grad.data_ptr() for p in ps)


@settings(max_examples=25, deadline=None)
@given(options=sgd_options(), seed=st.integers(0, 2**31 - 1))
def test_param_groups_and_state_dict_round_trip(options, seed):
    """Two groups with their own lr; save after 3 steps, reload into a fresh optimizer
    (ours <- ours, ours <- torch, torch <- ours) and go on: same as 6 uninterrupted steps."""
    params, loss_fn = make_problem(seed)
    lr = options.pop("lr")

    def groups(ps):
        return [{"params": [ps[0]]}, {"params": [ps[1]], "lr": lr / 2}]

    reference, _ = run(torch.optim.SGD, params, loss_fn, 6, groups, lr=lr, **options)
    for first, second in [(SGD, SGD), (torch.optim.SGD, SGD), (SGD, torch.optim.SGD)]:
        ps, opt = run(first, params, loss_fn, 3, groups, lr=lr, **options)
        saved = copy.deepcopy(opt.state_dict())
        resumed = second(groups(ps), lr=123.0)  # wrong options, overwritten by the load
        resumed.load_state_dict(saved)
        for _ in range(3):
            resumed.zero_grad()
            loss_fn(ps).backward()
            resumed.step()
        assert_same(ps, reference)


@pytest.mark.parametrize("cycle_momentum", [True, False])
def test_one_cycle_lr_drives_it_like_torch(cycle_momentum):
    params, loss_fn = make_problem(0)
    results = []
    for cls in (SGD, torch.optim.SGD):
        ps = clone_params(params)
        opt = cls(ps, lr=0.01, momentum=0.9, nesterov=True)
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=0.1, total_steps=20, cycle_momentum=cycle_momentum
        )
        history = []
        for _ in range(20):
            opt.zero_grad()
            loss_fn(ps).backward()
            opt.step()
            sched.step()
            history.append((opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"]))
        results.append((ps, history))
    (ours, hist_o), (theirs, hist_t) = results
    assert hist_o == hist_t
    assert len({m for _, m in hist_o}) > (1 if cycle_momentum else 0)  # momentum really cycled
    assert_same(ours, theirs)


def test_closure_and_skipped_parameters():
    params, loss_fn = make_problem(1)
    unused = torch.ones(2, dtype=DT, requires_grad=True)
    results = []
    for cls in (SGD, torch.optim.SGD):
        ps = clone_params(params)
        u = unused.clone().detach().requires_grad_()
        opt = cls(ps + [u], lr=0.05, momentum=0.5)

        def closure(opt=opt, ps=ps):  # bound now: step() calls it in this iteration
            opt.zero_grad()
            loss = loss_fn(ps)
            loss.backward()
            return loss

        losses = [opt.step(closure).item() for _ in range(4)]
        assert torch.equal(u, unused) and u not in opt.state  # no grad: untouched
        results.append((ps, losses))
    assert results[0][1] == results[1][1]
    assert_same(results[0][0], results[1][0])


def test_tensor_lr():
    params, loss_fn = make_problem(2)
    ours, _ = run(SGD, params, loss_fn, 3, lr=torch.tensor(0.05), momentum=0.3)
    theirs, _ = run(torch.optim.SGD, params, loss_fn, 3, lr=torch.tensor(0.05), momentum=0.3)
    assert_same(ours, theirs)


def test_hand_checked_momentum():
    """Constant gradient 1, lr 0.1, momentum 0.9: steps 0.1, 0.19, 0.271."""
    w = torch.zeros(1, dtype=DT, requires_grad=True)
    opt = SGD([w], lr=0.1, momentum=0.9)
    for expected in (-0.1, -0.29, -0.561):
        opt.zero_grad()
        w.sum().backward()
        opt.step()
        assert w.item() == pytest.approx(expected)


def test_signature_and_defaults_match_torch():
    ours = inspect.signature(SGD.__init__).parameters
    theirs = inspect.signature(torch.optim.SGD.__init__).parameters
    for name in ours:
        assert ours[name].default == theirs[name].default, name
        assert ours[name].kind == theirs[name].kind, name
    assert list(ours) == [n for n in theirs if n in ours]
    assert ours["lr"].default == 1e-3
    assert isinstance(SGD([torch.zeros(1, requires_grad=True)]), torch.optim.Optimizer)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(lr=-0.1), r"lr=-0.1 must be non-negative"),
        (dict(lr=torch.tensor([0.1, 0.2])), r"lr must be a float or a 1-element tensor"),
        (dict(momentum=-0.5), r"momentum=-0.5 must be non-negative"),
        (dict(weight_decay=-1e-4), r"weight_decay=-0.0001 must be non-negative"),
        (dict(nesterov=True),
         r"nesterov=True requires momentum > 0 and dampening = 0, got momentum=0"),
        (dict(nesterov=True, momentum=0.9, dampening=0.1), r"got momentum=0.9 and dampening=0.1"),
    ],
)
def test_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SGD([torch.zeros(1, requires_grad=True)], **kwargs)
