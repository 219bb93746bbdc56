"""The chapter 7 checkers accept right answers, say "not done yet" to stubs and reject
subtly wrong answers, naming the first input on which they go wrong.

Each wrong answer is a mistake a reader could plausibly make (the kernel not flipped,
the gradient assigned instead of accumulated, every tied maximum rewarded, the batch
mean forgotten...). torch is the oracle for the right answers.
"""
import pytest
import torch
import torch.nn.functional as F
from verdicts import assert_checks_leave_the_global_rng_alone

from cnnlessons.exercises import ch07
from cnnlessons.exercises.ch07 import (
    NOTES_MAX_POOL_INPUT,
    POOL_PREDICTION_INPUT,
    check_conv1d_backward,
    check_cross_entropy_grad,
    check_max_pool1d_backward,
    check_output_padding,
    check_pool_gradient,
)
from cnnlessons.scratch import functional as SF

NOT_DONE = "not done yet"

# --------------------------------------------------------------------------------------
# Right answers (the chapter's solutions)
# --------------------------------------------------------------------------------------


def conv1d_backward(grad_output, input, weight, stride, padding):
    C_in, L = input.shape
    k = weight.shape[2]
    padded = input.new_zeros(C_in, L + 2 * padding)
    padded[:, padding:padding + L] = input
    grad_padded, grad_weight = torch.zeros_like(padded), torch.zeros_like(weight)
    for o in range(weight.shape[0]):
        for i in range(grad_output.shape[1]):
            window = slice(i * stride, i * stride + k)
            grad_weight[o] += grad_output[o, i] * padded[:, window]
            grad_padded[:, window] += grad_output[o, i] * weight[o]
    return grad_padded[:, padding:padding + L], grad_weight, grad_output.sum(1)


def max_pool1d_backward(grad_output, input, kernel_size, stride):
    grad = torch.zeros_like(input)
    N, C, _ = input.shape
    for n in range(N):
        for c in range(C):
            for i in range(grad_output.shape[2]):
                start = i * stride
                winner = start + int(input[n, c, start:start + kernel_size].argmax())
                grad[n, c, winner] += grad_output[n, c, i]
    return grad


def cross_entropy_grad(logits, target):
    shifted = logits - logits.max(dim=1, keepdim=True).values
    p = shifted.exp() / shifted.exp().sum(dim=1, keepdim=True)
    return (p - F.one_hot(target, logits.shape[1])) / logits.shape[0]


def output_padding(n, k, s, p, d):
    return (n + 2 * p - d * (k - 1) - 1) % s


RIGHT = [(check_conv1d_backward, conv1d_backward, "conv1d_backward"),
         (check_max_pool1d_backward, max_pool1d_backward, "max_pool1d_backward"),
         (check_cross_entropy_grad, cross_entropy_grad, "cross_entropy_grad"),
         (check_output_padding, output_padding, "output_padding")]


@pytest.mark.parametrize("check, answer, name", RIGHT)
def test_right_answer_passes(check, answer, name):
    verdict = check(answer)
    assert verdict.ok and verdict.total >= 6
    assert str(verdict) == f"✓ {name}: {verdict.total}/{verdict.total} cases passed"


# --------------------------------------------------------------------------------------
# Stubs: one line, "not done yet", no exception
# --------------------------------------------------------------------------------------

def _ellipsis_body(*args):
    ...


def _raises_not_implemented(*args):
    raise NotImplementedError


def _returns_ellipsis(*args):
    return ...


@pytest.mark.parametrize("check, _, name", RIGHT)
@pytest.mark.parametrize("stub", [_ellipsis_body, _raises_not_implemented, _returns_ellipsis])
def test_stub_is_not_done_yet(check, _, name, stub):
    verdict = check(stub)
    text = str(verdict)
    assert not verdict.ok and verdict.not_done
    assert text.startswith(f"✗ {name}: {NOT_DONE}")
    assert "\n" not in text


def test_a_later_not_implemented_case_is_a_failure_not_a_stub():
    # stride 1 done, the rest left for later: that is a partial answer, reported as such
    def stride_one_only(grad_output, input, weight, stride, padding):
        if stride != 1 or padding != 0:
            raise NotImplementedError("only stride 1 so far")
        return conv1d_backward(grad_output, input, weight, stride, padding)

    verdict = check_conv1d_backward(stride_one_only)
    assert not verdict.not_done and 0 < verdict.passed < verdict.total
    assert "raised NotImplementedError: only stride 1 so far" in verdict.failure


# --------------------------------------------------------------------------------------
# The references mean what torch means
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 0), (1, 1), (3, 2)])
def test_conv1d_answer_matches_torch(stride, padding):
    torch.manual_seed(0)
    x = torch.randn(3, 9, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 3, 3, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    y = F.conv1d(x, w, b, stride=stride, padding=padding)
    G = torch.randn_like(y)
    expected = torch.autograd.grad(y, (x, w, b), G)
    for ours, theirs in zip(conv1d_backward(G, x.detach(), w.detach(), stride, padding),
                            expected):
        torch.testing.assert_close(ours, theirs)


def test_max_pool_notes_example_routes_the_double_winner_both_gradients():
    x = NOTES_MAX_POOL_INPUT.clone().requires_grad_()
    G = torch.tensor([1.0, 10.0], dtype=torch.float64).expand(2, 3, 2)
    (grad,) = torch.autograd.grad(F.max_pool1d(x, 3, stride=2), x, G)
    assert grad[0, 1].tolist() == [0.0, 0.0, 11.0, 0.0, 0.0]      # 0.6030 wins both
    assert grad[1, 0].tolist() == [0.0, 0.0, 11.0, 0.0, 0.0]      # so does 2.1208
    torch.testing.assert_close(max_pool1d_backward(G, x.detach(), 3, 2), grad)


def test_max_pool_reference_breaks_ties_like_torch():
    x = torch.tensor([[[3.0, 3.0, 1.0, 3.0, 3.0, 2.0]]], dtype=torch.float64,
                     requires_grad=True)
    G = torch.arange(1.0, 6.0, dtype=torch.float64).view(1, 1, 5)
    (theirs,) = torch.autograd.grad(F.max_pool1d(x, 2, 1), x, G)
    (ours,) = torch.autograd.grad(SF.max_pool1d(x, 2, 1), x, G)
    torch.testing.assert_close(ours, theirs)


@pytest.mark.parametrize("n, k, s, p, d", [(7, 3, 2, 1, 1), (8, 3, 2, 1, 1), (11, 3, 3, 0, 1),
                                           (10, 2, 2, 0, 2), (19, 4, 4, 0, 1)])
def test_output_padding_brings_the_size_back(n, k, s, p, d):
    m = F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), stride=s, padding=p,
                 dilation=d).shape[-1]
    back = F.conv_transpose1d(torch.zeros(1, 1, m), torch.zeros(1, 1, k), stride=s, padding=p,
                              output_padding=output_padding(n, k, s, p, d), dilation=d)
    assert back.shape[-1] == n


# --------------------------------------------------------------------------------------
# Subtly wrong answers fail on the right case
# --------------------------------------------------------------------------------------

def _conv_not_flipped(grad_output, input, weight, stride, padding):
    # the input gradient with the kernel taps in forward order: right only if symmetric
    gx, gw, gb = conv1d_backward(grad_output, input, weight, stride, padding)
    gx_wrong = conv1d_backward(grad_output, input, weight.flip(-1), stride, padding)[0]
    return gx_wrong, gw, gb


def _conv_assigns(grad_output, input, weight, stride, padding):
    # "=" instead of "+=" for the input gradient: overlapping windows overwrite each other
    C_in, L = input.shape
    k = weight.shape[2]
    padded = input.new_zeros(C_in, L + 2 * padding)
    padded[:, padding:padding + L] = input
    grad_padded, grad_weight = torch.zeros_like(padded), torch.zeros_like(weight)
    for o in range(weight.shape[0]):
        for i in range(grad_output.shape[1]):
            window = slice(i * stride, i * stride + k)
            grad_weight[o] += grad_output[o, i] * padded[:, window]
            grad_padded[:, window] = grad_output[o, i] * weight[o]
    return grad_padded[:, padding:padding + L], grad_weight, grad_output.sum(1)


def _conv_padding_not_cropped(grad_output, input, weight, stride, padding):
    # forgets to crop: returns the padded input's gradient (right while padding is 0)
    C_in, L = input.shape
    k = weight.shape[2]
    padded = input.new_zeros(C_in, L + 2 * padding)
    padded[:, padding:padding + L] = input
    grad_padded, grad_weight = torch.zeros_like(padded), torch.zeros_like(weight)
    for o in range(weight.shape[0]):
        for i in range(grad_output.shape[1]):
            window = slice(i * stride, i * stride + k)
            grad_weight[o] += grad_output[o, i] * padded[:, window]
            grad_padded[:, window] += grad_output[o, i] * weight[o]
    return grad_padded, grad_weight, grad_output.sum(1)


def _conv_by_torch(grad_output, input, weight, stride, padding):
    # asks torch for the answer instead of writing the loops
    return (torch.nn.grad.conv1d_input(input[None].shape, weight, grad_output[None],
                                       stride=stride, padding=padding)[0],
            torch.nn.grad.conv1d_weight(input[None], weight.shape, grad_output[None],
                                        stride=stride, padding=padding),
            grad_output.sum(1))


def _conv_by_autograd(grad_output, input, weight, stride, padding):
    x, w = input.clone().requires_grad_(), weight.clone().requires_grad_()
    gx, gw = torch.autograd.grad(SF.conv1d(x, w, stride=stride, padding=padding), (x, w),
                                 grad_output)
    return gx, gw, grad_output.sum(1)


def _conv_by_aten(grad_output, input, weight, stride, padding):
    # reaches torch's convolution kernel by a name no module lists: the recorder sees it
    grad_input, grad_weight, _ = torch.ops.aten.convolution_backward(
        grad_output[None], input[None], weight, None, [stride], [padding], [1], False, [0], 1,
        [True, True, False])
    return grad_input[0], grad_weight, grad_output.sum(1)


@pytest.mark.parametrize("wrong, first_input, reason", [
    (_conv_not_flipped,
     "input tensor of shape (1, 3), tensor of shape (1, 5), tensor of shape (1, 1, 3), 1, 0",
     "expected [[1.0, 12.0, 123.0, 230.0, 300.0]], got [[100.0, 210.0, 321.0, 32.0, 3.0]]"),
    (_conv_assigns,
     "input tensor of shape (1, 3), tensor of shape (1, 5), tensor of shape (1, 1, 3), 1, 0",
     "expected [[1.0, 12.0, 123.0, 230.0, 300.0]], got [[1.0, 2.0, 3.0, 30.0, 300.0]]"),
    (_conv_padding_not_cropped,
     "input tensor of shape (2, 5), tensor of shape (2, 5), tensor of shape (2, 2, 3), 1, 1",
     "expected shape (2, 5), got shape (2, 7)"),
    (_conv_by_torch,
     "input tensor of shape (1, 3), tensor of shape (1, 5), tensor of shape (1, 1, 3), 1, 0",
     "used torch.nn.grad.conv1d_input, but the exercise says: by loops, no library "
     "convolution"),
    (_conv_by_autograd,
     "input tensor of shape (1, 3), tensor of shape (1, 5), tensor of shape (1, 1, 3), 1, 0",
     "used cnnlessons.scratch.functional.conv1d, but the exercise says: by loops"),
    (_conv_by_aten,
     "input tensor of shape (1, 3), tensor of shape (1, 5), tensor of shape (1, 1, 3), 1, 0",
     "used torch._ops.aten.convolution_backward (convolution), but the exercise says: by loops"),
])
def test_conv1d_backward_wrong_answers_fail(wrong, first_input, reason):
    verdict = check_conv1d_backward(wrong)
    assert not verdict.ok and not verdict.not_done
    assert verdict.failure.startswith(f"{first_input}: ")
    assert reason in verdict.failure
    assert str(verdict).startswith("✗ conv1d_backward: ")


def test_forbidden_functions_come_back_after_the_check():
    originals = (F.conv1d, torch.conv1d, SF.conv1d, torch.nn.grad.conv1d_input, F.max_pool1d)
    check_conv1d_backward(_conv_by_torch)
    check_max_pool1d_backward(lambda g, x, k, s: F.max_pool1d(x, k, s))
    assert (F.conv1d, torch.conv1d, SF.conv1d, torch.nn.grad.conv1d_input,
            F.max_pool1d) == originals
    assert torch.is_grad_enabled()


def _pool_every_tie(grad_output, input, kernel_size, stride):
    # rewards every element equal to the maximum, not only the first
    grad = torch.zeros_like(input)
    for i in range(grad_output.shape[2]):
        window = input[..., i * stride:i * stride + kernel_size]
        winners = window == window.amax(-1, keepdim=True)
        grad[..., i * stride:i * stride + kernel_size] += winners * grad_output[..., i:i + 1]
    return grad


def _pool_assigns(grad_output, input, kernel_size, stride):
    # "=" instead of "+=": a double winner keeps only its last window's gradient
    grad = torch.zeros_like(input)
    N, C, _ = input.shape
    for n in range(N):
        for c in range(C):
            for i in range(grad_output.shape[2]):
                start = i * stride
                winner = start + int(input[n, c, start:start + kernel_size].argmax())
                grad[n, c, winner] = grad_output[n, c, i]
    return grad


def _pool_last_tie(grad_output, input, kernel_size, stride):
    # the last maximum of each window instead of the first
    grad = torch.zeros_like(input)
    N, C, _ = input.shape
    for n in range(N):
        for c in range(C):
            for i in range(grad_output.shape[2]):
                window = input[n, c, i * stride:i * stride + kernel_size]
                winner = i * stride + len(window) - 1 - int(window.flip(0).argmax())
                grad[n, c, winner] += grad_output[n, c, i]
    return grad


def _pool_last_window_to_the_end(grad_output, input, kernel_size, stride):
    # the last window stretched to the end of the input "so that nothing is left out":
    # an element that no window reaches can then win
    grad = torch.zeros_like(input)
    N, C, L = input.shape
    for n in range(N):
        for c in range(C):
            for i in range(grad_output.shape[2]):
                start = i * stride
                end = L if i == grad_output.shape[2] - 1 else start + kernel_size
                grad[n, c, start + int(input[n, c, start:end].argmax())] += grad_output[n, c, i]
    return grad


def _pool_by_torch(grad_output, input, kernel_size, stride):
    _, indices = F.max_pool1d(input, kernel_size, stride, return_indices=True)
    return torch.zeros_like(input).scatter_add_(2, indices, grad_output)


def _pool_by_aten(grad_output, input, kernel_size, stride):
    _, indices = torch.ops.aten.max_pool1d_with_indices(input, [kernel_size], [stride])
    return torch.zeros_like(input).scatter_add_(2, indices, grad_output)


@pytest.mark.parametrize("wrong, first_input, reason", [
    (_pool_every_tie, "input tensor of shape (1, 1, 5), tensor of shape (1, 1, 6), 2, 1",
     "largest difference"),
    (_pool_assigns, "input tensor of shape (2, 3, 2), tensor of shape (2, 3, 5), 3, 2",
     "largest difference 1"),
    (_pool_last_tie, "input tensor of shape (1, 1, 5), tensor of shape (1, 1, 6), 2, 1",
     "largest difference"),
    # only the case whose last element no window reaches can tell
    (_pool_last_window_to_the_end,
     "input tensor of shape (1, 1, 3), tensor of shape (1, 1, 8), 3, 2", "largest difference 2"),
    (_pool_by_torch, "input tensor of shape (2, 3, 2), tensor of shape (2, 3, 5), 3, 2",
     "used torch.nn.functional.max_pool1d, but the exercise says: by loops, no library pooling"),
    (_pool_by_aten, "input tensor of shape (2, 3, 2), tensor of shape (2, 3, 5), 3, 2",
     "(pooling), but the exercise says: by loops, no library pooling"),
])
def test_max_pool1d_backward_wrong_answers_fail(wrong, first_input, reason):
    verdict = check_max_pool1d_backward(wrong)
    assert not verdict.ok and not verdict.not_done
    assert verdict.failure.startswith(f"{first_input}: ")
    assert reason in verdict.failure


def _ce_no_mean(logits, target):
    return cross_entropy_grad(logits, target) * logits.shape[0]     # forgot the 1/N


def _ce_naive_exp(logits, target):
    p = logits.exp() / logits.exp().sum(dim=1, keepdim=True)       # overflows at 1000
    return (p - F.one_hot(target, logits.shape[1])) / logits.shape[0]


def _ce_sign(logits, target):
    return -cross_entropy_grad(logits, target)                       # y - p


def _ce_by_autograd(logits, target):
    z = logits.clone().requires_grad_()
    (grad,) = torch.autograd.grad(F.cross_entropy(z, target), z)
    return grad


def _ce_by_classes(logits, target):
    p = torch.softmax(logits, dim=1)
    return (p - F.one_hot(target, logits.shape[1])) / logits.shape[1]   # C, not N


def _ce_forward_differences(logits, target):
    # a numerical gradient: forward differences are off by about h, not by rounding
    h, loss = 1e-6, F.cross_entropy(logits, target)
    grad = torch.zeros_like(logits)
    for i in range(logits.numel()):
        bumped = logits.clone()
        bumped.view(-1)[i] += h
        grad.view(-1)[i] = (F.cross_entropy(bumped, target) - loss) / h
    return grad


@pytest.mark.parametrize("wrong, first_input, reason", [
    (_ce_no_mean, "input tensor of shape (4, 5), tensor of shape (4,)", "largest difference"),
    (_ce_naive_exp, "input tensor of shape (2, 3), tensor of shape (2,)", "nan"),
    (_ce_sign, "input tensor of shape (1, 3), tensor of shape (1,)", "largest difference"),
    (_ce_by_autograd, "input tensor of shape (1, 3), tensor of shape (1,)", "raised RuntimeError"),
    (_ce_by_classes, "input tensor of shape (1, 3), tensor of shape (1,)", "largest difference"),
    (_ce_forward_differences, "input tensor of shape (1, 3), tensor of shape (1,)",
     "largest difference"),
])
def test_cross_entropy_grad_wrong_answers_fail(wrong, first_input, reason):
    verdict = check_cross_entropy_grad(wrong)
    assert not verdict.ok and not verdict.not_done
    assert verdict.failure.startswith(f"{first_input}: ")
    assert reason in verdict.failure


@pytest.mark.parametrize("right", [
    lambda z, t: (torch.softmax(z, dim=1) - F.one_hot(t, z.shape[1])) / z.shape[0],
    # exp(z - logsumexp(z)) rounds differently from the shifted softmax: the tight
    # tolerance holds only because every case is float64
    lambda z, t: ((z - z.logsumexp(1, keepdim=True)).exp() - F.one_hot(t, z.shape[1])) / len(z),
])
def test_cross_entropy_grad_other_right_answers_pass(right):
    assert check_cross_entropy_grad(right).ok


def _op_tries_three(n, k, s, p, d):
    # tries a fixed range(3) instead of range(s): a stride-4 layer can need 3
    m = (n + 2 * p - d * (k - 1) - 1) // s + 1
    for extra in range(3):
        if (m - 1) * s - 2 * p + d * (k - 1) + 1 + extra == n:
            return extra
    return None


@pytest.mark.parametrize("wrong, first_failure", [
    # padding forgotten: right whenever 2p is a multiple of the stride
    (lambda n, k, s, p, d: (n - d * (k - 1) - 1) % s, "input 10, 3, 3, 1, 1: expected 0, got 1"),
    # the dilation forgotten
    (lambda n, k, s, p, d: (n + 2 * p - k) % s, "input 10, 2, 2, 0, 2: expected 1, got 0"),
    # "stride - 1, to be safe": the largest allowed value, not the right one
    (lambda n, k, s, p, d: s - 1, "input 7, 3, 2, 1, 1: expected 0, got 1"),
    (_op_tries_three, "input 19, 4, 4, 0, 1: expected 3, got None"),
    # modulo the bound on output_padding, max(s, d), instead of the stride: the same
    # until the dilation exceeds the stride
    (lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) - 1) % max(s, d),
     "input 9, 2, 2, 0, 3: expected 1, got 2"),
])
def test_output_padding_wrong_answers_fail(wrong, first_failure):
    verdict = check_output_padding(wrong)
    assert not verdict.ok
    assert verdict.failure == first_failure


# --------------------------------------------------------------------------------------
# The prediction: x.grad of an overlapping max pooling
# --------------------------------------------------------------------------------------

def test_pool_gradient_prediction():
    x = torch.tensor([[POOL_PREDICTION_INPUT]], requires_grad=True)
    F.max_pool1d(x, 3, stride=1).sum().backward()
    assert x.grad.flatten().tolist() == [0.0, 1.0, 0.0, 3.0, 0.0, 0.0]   # 5 wins three windows
    assert str(check_pool_gradient((0, 1, 0, 3, 0, 0))) == "✓ pool_gradient: 1/1 cases passed"
    assert check_pool_gradient([0.0, 1.0, 0.0, 3.0, 0.0, 0.0]).ok       # a list will do
    for stub in (..., None):
        assert str(check_pool_gradient(stub)).startswith(f"✗ pool_gradient: {NOT_DONE}")
    # 5 counted once per distinct value, not once per window it wins
    wrong = check_pool_gradient((0, 1, 0, 1, 0, 0))
    assert not wrong.ok and wrong.failure.startswith("expected 3.0, got 1; each window")
    short = check_pool_gradient((1, 3, 1))
    assert not short.ok and short.failure.startswith("expected a tuple of 6, got (1, 3, 1)")


def test_checkers_leave_the_global_rng_alone():
    assert_checks_leave_the_global_rng_alone(*((check, answer) for check, answer, _ in RIGHT))


def test_module_lists_its_checkers():
    names = [name for name in dir(ch07) if name.startswith("check_")]
    assert sorted(names) == ["check_conv1d_backward", "check_cross_entropy_grad",
                             "check_max_pool1d_backward", "check_output_padding",
                             "check_pool_gradient"]
