"""Random convolution forward / gradient cases against PyTorch: every algorithm, padding mode, NaN / inf.

Each case draws a layer (1-3 spatial dims, stride, padding, dilation, groups, padding
mode), float64 data with NaN / +inf / -inf planted in ``x`` and / or ``w`` (or none),
and compares ``conv``, ``conv_grad_input``, ``conv_grad_weight`` (and ``conv_transpose``
for zero padding) with torch's autograd.  A *mismatch* is an element whose NaN / +inf /
-inf status differs, or a finite element off by more than the algorithm's tolerance
(element-wise ``1e-9`` relative for GEMM / direct, norm-wise ``1e-7`` of the output's
scale for FFT / Winograd, whose error is norm-wise).

The default run checks :data:`QUICK` cases; ``--runslow`` runs :data:`THOROUGH`, and
``python tests/kernels/numpy/test_numpy_torch_random.py N`` prints the count for ``N`` cases.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch") if __name__ != "__main__" else __import__("torch")

import convalg.functional as F  # noqa: E402

ALGORITHMS = ("auto", "gemm", "fft", "winograd", "direct")
MODES = ("zeros", "reflect", "replicate", "circular")
QUICK, THOROUGH = 40, 600


def _draw(rng: np.random.Generator) -> dict:
    nd = int(rng.choice([1, 2, 2, 3]))
    groups = int(rng.choice([1, 1, 2]))
    cin, cout = groups * int(rng.integers(1, 4)), groups * int(rng.integers(1, 4))
    k = tuple(int(v) for v in rng.integers(1, 5, nd))
    d = tuple(int(v) for v in rng.choice([1, 1, 2], nd))
    s = tuple(int(v) for v in rng.choice([1, 1, 2, 3], nd))
    mode = str(rng.choice(MODES))
    size = tuple(int(d[a] * (k[a] - 1) + 1 + rng.integers(0, 6 if nd < 3 else 3)) for a in range(nd))
    p = tuple(int(rng.integers(0, min(k[a], size[a]))) for a in range(nd))
    alg = str(rng.choice(ALGORITHMS))
    if alg == "winograd":
        s, mode = (1,) * nd, "zeros"
        k = tuple(min(v, 3) if v > 1 else 2 for v in k)
        size = tuple(max(n, d[a] * (k[a] - 1) + 1) for a, n in enumerate(size))
        p = tuple(min(v, k[a] - 1) for a, v in enumerate(p))
    n = int(rng.integers(1, 3))
    x = rng.standard_normal((n, cin, *size))
    w = rng.standard_normal((cout, cin // groups, *k))
    for arr in [a for a, on in ((x, rng.random() < 0.4), (w, rng.random() < 0.4)) if on]:
        for value in rng.choice([np.nan, np.inf, -np.inf], int(rng.integers(1, 3))):
            arr.reshape(-1)[int(rng.integers(0, arr.size))] = value
    return dict(x=x, w=w, stride=s, padding=p, dilation=d, groups=groups, mode=mode, alg=alg)


def _mismatches(got: np.ndarray, want: np.ndarray, alg: str) -> int:
    if got.shape != want.shape:
        return max(got.size, want.size, 1)
    bad = (np.isnan(got) != np.isnan(want)) | (np.isposinf(got) != np.isposinf(want))
    bad |= np.isneginf(got) != np.isneginf(want)
    fin = np.isfinite(got) & np.isfinite(want)
    scale = float(np.abs(want[fin]).max()) if fin.any() else 0.0
    if alg in ("fft", "winograd", "auto"):
        tol = 1e-7 * scale + 1e-12
    else:
        tol = 1e-9 * np.abs(want) + 1e-12 * scale + 1e-300
    bad |= fin & (np.abs(got - want) > tol)
    return int(bad.sum())


def _torch_case(c: dict) -> dict:
    nd = c["x"].ndim - 2
    x = torch.tensor(c["x"], requires_grad=True)
    w = torch.tensor(c["w"], requires_grad=True)
    conv = {1: torch.nn.functional.conv1d, 2: torch.nn.functional.conv2d, 3: torch.nn.functional.conv3d}[nd]
    if c["mode"] == "zeros":
        xp, pad = x, c["padding"]
    else:
        pairs = [v for p in reversed(c["padding"]) for v in (p, p)]
        xp, pad = torch.nn.functional.pad(x, pairs, mode=c["mode"]), 0
    y = conv(xp, w, None, c["stride"], pad, c["dilation"], c["groups"])
    gy = torch.tensor(np.random.default_rng(1).standard_normal(tuple(y.shape)))
    y.backward(gy)
    out = dict(y=y.detach().numpy(), gy=gy.numpy(), gx=x.grad.numpy(), gw=w.grad.numpy())
    if c["mode"] == "zeros":
        tconv = {1: torch.nn.functional.conv_transpose1d, 2: torch.nn.functional.conv_transpose2d,
                 3: torch.nn.functional.conv_transpose3d}[nd]
        wt = torch.tensor(c["w"])  # (Cout, Cin/G, *k) read as a ConvTranspose weight (C_in' = Cout)
        try:
            out["yt"] = tconv(gy, wt, None, c["stride"], c["padding"], 0, c["groups"], c["dilation"]).numpy()
        except RuntimeError:  # torch rejects an empty transposed output; nothing to compare
            pass
    return out


def count_mismatches(cases: int, seed: int = 0) -> tuple[int, int]:
    """``(mismatching elements, compared elements)`` over ``cases`` random cases."""
    with np.errstate(all="ignore"):  # NaN / inf arithmetic is the point here
        return _count(cases, seed)


def _count(cases: int, seed: int) -> tuple[int, int]:
    rng = np.random.default_rng(seed)
    bad = total = 0
    for _ in range(cases):
        c = _draw(rng)
        t = _torch_case(c)
        kw = dict(stride=c["stride"], padding=c["padding"], dilation=c["dilation"], groups=c["groups"],
                  algorithm=c["alg"])
        got = {
            "y": F.conv(c["x"], c["w"], padding_mode=c["mode"], **kw),
            "gx": F.conv_grad_input(t["gy"], c["w"], c["x"].shape, padding_mode=c["mode"], **kw),
            "gw": F.conv_grad_weight(c["x"], t["gy"], c["w"].shape, padding_mode=c["mode"], **kw),
        }
        if "yt" in t:
            got["yt"] = F.conv_transpose(t["gy"], c["w"], None, c["stride"], c["padding"], 0, c["groups"],
                                         c["dilation"], algorithm=c["alg"])
        for key, value in got.items():
            m = _mismatches(np.asarray(value), t[key], c["alg"])
            if m and __name__ == "__main__":
                print("mismatch", key, m, {k: v for k, v in c.items() if k not in ("x", "w")}, file=sys.stderr)
            bad += m
            total += t[key].size
    return bad, total


def test_random_gradients_match_torch_quick():
    bad, total = count_mismatches(QUICK)
    assert bad == 0 and total > 0


@pytest.mark.slow
def test_random_gradients_match_torch_thorough():
    bad, total = count_mismatches(THOROUGH, seed=1)
    assert bad == 0 and total > 0


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else THOROUGH
    bad, total = count_mismatches(n, seed=int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    print(f"{n} random cases: {bad} mismatching of {total} compared elements")
    sys.exit(1 if bad else 0)
