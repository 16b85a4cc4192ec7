"""The laws: published arithmetic, limits, and numpy/PyTensor agreement."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

from atlas_bayes import laws
from atlas_bayes.published import published_value

# The curse multipliers depend on phi/alpha and psi/beta only. The paper prints phi, psi and the
# exponents 0.243 (parameters) and 0.728 (total tokens); alpha and beta are implied by them.
PHI = published_value("curse.phi")
PSI = published_value("curse.psi")
RATIOS = (2, 4, 8, 16)


def exponent_interval(key: str) -> tuple[float, float]:
    """Exponents e for which r**e rounds to every printed multiplier of the table (r = 2..16)."""
    low, high = -np.inf, np.inf
    for r in RATIOS:
        printed = published_value(f"curse.multipliers.{r}")[key]
        low = max(low, np.log(printed - 0.005) / np.log(r))
        high = min(high, np.log(printed + 0.005) / np.log(r))
    return low, high


# The printed 0.728 is rounded: 16**0.728 = 7.527 would print as 7.53, not 7.52. The four
# printed total-token multipliers pin the unrounded exponent to [0.72744, 0.72792); its midpoint
# (and 0.243 for parameters, inside its own interval) gives alpha and beta from phi and psi.
TOTAL_TOKENS_EXPONENT = float(np.mean(exponent_interval("total_tokens")))
ALPHA = PHI / published_value("curse.exponent_params")
BETA = -PSI / (1.0 - TOTAL_TOKENS_EXPONENT)


@pytest.mark.parametrize("key", ["params", "total_tokens"])
def test_printed_exponents_are_the_table_rounded(key):
    printed = {
        "params": published_value("curse.exponent_params"),
        "total_tokens": published_value("curse.exponent_total_tokens"),
    }[key]
    low, high = exponent_interval(key)
    assert low < high, "the printed table admits no single exponent"
    assert round(low, 3) <= printed <= round(high, 3)


@pytest.mark.parametrize("ratio", [2, 4, 8, 16])
def test_multiplier_table_reproduced_to_two_decimals(ratio):
    table = published_value(f"curse.multipliers.{ratio}")
    m = laws.iso_loss_multipliers(ratio, PHI, PSI, ALPHA, BETA)
    assert round(float(m.params), 2) == pytest.approx(table["params"], abs=1e-9)
    assert round(float(m.total_tokens), 2) == pytest.approx(table["total_tokens"], abs=1e-9)


def test_multiplier_exponents():
    r = np.array([2.0, 3.0, 10.0])
    m = laws.iso_loss_multipliers(r, PHI, PSI, ALPHA, BETA)
    np.testing.assert_allclose(np.log(m.params) / np.log(r), 0.243, atol=1e-12)
    np.testing.assert_allclose(np.log(m.total_tokens) / np.log(r), 0.728, atol=5e-4)
    # Compute x r^(1 + phi/alpha + psi/beta) = r^0.971; the paper prints 0.970 (rounding).
    np.testing.assert_allclose(np.log(m.compute) / np.log(r), 0.970, atol=0.0015)
    np.testing.assert_allclose(m.compute, m.params * m.total_tokens)


def test_multipliers_keep_loss_equal():
    K, N, D = 4.0, 1e9, 2e10
    law = dict(E=1.7, A=400.0, B=900.0, alpha=0.34, beta=0.28, phi=0.1, psi=-0.05)
    m = laws.iso_loss_multipliers(2.0, law["phi"], law["psi"], law["alpha"], law["beta"])
    before = laws.curse_loss(N, D, K, **law)
    after = laws.curse_loss(N * m.params, D * m.tokens_per_language, 2 * K, **law)
    assert after == pytest.approx(before, rel=1e-12)


def test_repetition_saturation_identity_below_one_epoch():
    D = np.array([0.0, 1e6, 5e8, 1e9])
    np.testing.assert_allclose(laws.repetition_saturation(D, 1e9, 0.065), D)


def test_repetition_saturation_continuous_with_slope_one_at_unique():
    U, lam, h = 7.7e8, 1 / 15.387756, 1e-3
    S = lambda d: laws.repetition_saturation(d, U, lam)  # noqa: E731
    assert S(U) == pytest.approx(U)
    assert (S(U * (1 + h)) - S(U)) / (U * h) == pytest.approx(1.0, abs=1e-3)
    assert (S(U) - S(U * (1 - h))) / (U * h) == pytest.approx(1.0, abs=1e-12)


def test_repetition_saturation_limit_and_monotone():
    U, lam = 1e9, 0.065
    D = np.geomspace(1e6, 1e15, 500)
    S = laws.repetition_saturation(D, U, lam)
    # Strictly increasing until exp(-lambda x) underflows against 1 in float64 (~600 epochs).
    assert np.all(np.diff(S[D < 1e11]) > 0)
    assert np.all(np.diff(S) >= 0)
    assert np.all(S <= U * (1 + 1 / lam))
    assert S[-1] == pytest.approx(U * (1 + 1 / lam), rel=1e-9)
    # Four epochs are worth about 3.8 corpora at lambda ~ 0.065 (Muennighoff et al.: "up to
    # about 4 epochs are almost as good as new data").
    assert laws.repetition_saturation(4 * U, U, lam) / U == pytest.approx(
        1 + (1 - np.exp(-3 * lam)) / lam, rel=1e-12
    )


def test_repetition_unconstrained_is_identity():
    D = np.geomspace(1e6, 1e14, 20)
    S = laws.repetition_saturation(D, laws.UNCONSTRAINED_UNIQUE_TOKENS, 0.065)
    np.testing.assert_allclose(S, D, rtol=1e-12)


def test_bts_transfer_round_trip_and_published_means():
    bts = np.linspace(-0.9, 1.5, 50)
    np.testing.assert_allclose(laws.transfer_to_bts(laws.bts_to_transfer(bts)), bts)
    assert laws.bts_to_transfer(-0.23) == pytest.approx(-0.10, abs=0.005)
    assert laws.bts_to_transfer(-0.39) == pytest.approx(-0.16, abs=0.005)


def test_bts_matches_its_definition():
    # BTS = (2 d_mono - sigma_bi) / d_mono, with sigma_bi the bilingual tokens reaching the
    # monolingual loss at d_mono: D_eff = sigma/2 (1 + tau) = d_mono.
    tau, d_mono = 0.3, 42e9
    sigma_bi = 2 * d_mono / (1 + tau)
    assert laws.transfer_to_bts(tau) == pytest.approx((2 * d_mono - sigma_bi) / d_mono)


def test_effective_tokens_linear_and_damped_agree_to_first_order():
    own = 1e10
    sources = np.array([2e9, 3e9])
    tau = np.array([0.2, -1e-4])
    linear = laws.effective_tokens(own, sources, tau, interference="linear")
    damped = laws.effective_tokens(own, sources, tau, interference="damped")
    assert linear == pytest.approx(own + 0.2 * 2e9 - 1e-4 * 3e9)
    assert damped == pytest.approx(linear, rel=1e-8)


def test_damped_effective_tokens_positive_for_heavy_interference():
    own = 1e9
    sources = np.full(37, 1e9)
    tau = np.full(37, -0.3)
    assert laws.effective_tokens(own, sources, tau, interference="linear") < 0
    damped = laws.effective_tokens(own, sources, tau)
    assert damped == pytest.approx(own * np.exp(-37 * 0.3))
    assert damped > 0


def test_damped_effective_tokens_smooth_at_zero_transfer():
    own, source, h = 1e9, 5e8, 1e-7
    f = lambda t: laws.effective_tokens(own, np.array([source]), np.array([t]))  # noqa: E731
    left = (f(0.0) - f(-h)) / h
    right = (f(h) - f(0.0)) / h
    assert left == pytest.approx(source, rel=1e-5)
    assert right == pytest.approx(source, rel=1e-5)


def test_matrix_effective_tokens_ignores_diagonal_and_matches_rows():
    rng = np.random.default_rng(0)
    tokens = rng.uniform(1e8, 1e10, size=(6, 4))
    tau = rng.normal(0, 0.2, size=(4, 4))
    np.fill_diagonal(tau, 123.0)  # must not matter
    target = np.array([0, 1, 2, 3, 0, 2])
    got = laws.matrix_effective_tokens(tokens, target, tau)
    for i, t in enumerate(target):
        others = np.delete(np.arange(4), t)
        want = laws.effective_tokens(tokens[i, t], tokens[i, others], tau[t, others])
        assert got[i] == pytest.approx(want)


def test_top_sources_form_is_paper_equation():
    own, top, tau_top, other, tau_other = (
        1e10,
        np.array([1e9, 2e9, 3e9]),
        np.array([0.1, 0.2, -0.05]),
        5e10,
        0.01,
    )
    got = laws.top_sources_effective_tokens(own, top, tau_top, other, tau_other)
    assert got == pytest.approx(own + tau_top @ top + tau_other * other)


def test_chinchilla_log_form_matches_direct():
    N = np.geomspace(1e7, 1e10, 7)[:, None]
    D = np.geomspace(1e8, 1e12, 5)[None, :]
    E, A, B, a, b = 1.69, 406.4, 410.7, 0.34, 0.28
    direct = laws.chinchilla_loss(N, D, E, A, B, a, b)
    logged = laws.chinchilla_log_loss(np.log(N), np.log(D), np.log(E), np.log(A), np.log(B), a, b)
    np.testing.assert_allclose(np.exp(logged), direct, rtol=1e-12)


def test_compute_optimal_closed_form_is_the_minimum():
    E, A, B, a, b = 1.69, 406.4, 410.7, 0.34, 0.28
    C = 5.76e23  # Chinchilla's budget
    opt = laws.compute_optimal_allocation(C, E, A, B, a, b)
    assert 6 * opt.params * opt.tokens == pytest.approx(C)
    # Any other split of the same compute has higher loss.
    for factor in [0.5, 0.9, 1.1, 2.0]:
        n = opt.params * factor
        d = C / (6 * n)
        assert laws.chinchilla_loss(n, d, E, A, B, a, b) > opt.loss
    # Hoffmann et al.'s fit with these parameters puts Chinchilla's budget near 40B params.
    assert 2e10 < opt.params < 8e10


def test_compute_for_loss_inverts_the_frontier():
    E, A, B, a, b = 1.8, 480.0, 2000.0, 0.35, 0.37
    C = np.geomspace(1e18, 1e25, 15)
    opt = laws.compute_optimal_allocation(C, E, A, B, a, b)
    back = laws.compute_for_loss(opt.loss, E, A, B, a, b)
    np.testing.assert_allclose(back.compute, C, rtol=1e-9)
    np.testing.assert_allclose(back.params, opt.params, rtol=1e-9)
    unreachable = laws.compute_for_loss(np.array([E, E - 0.1]), E, A, B, a, b)
    assert np.all(np.isinf(unreachable.compute))


def test_crossover_tokens_matches_analytic_root():
    # L_pt = E + B D^-b; L_ft = E + B (H + D)^-b + delta. Pick delta so the root is D0.
    B, b, H = 500.0, 0.3, 2e10
    D0 = np.array([1.44e11, 2.83e11])
    delta = B * (D0**-b - (H + D0) ** -b)

    def difference(D):
        return B * D**-b - (B * (H + D) ** -b + delta)

    got = laws.crossover_tokens(difference, 1e9, 1e13)
    np.testing.assert_allclose(got, D0, rtol=1e-9)


def test_crossover_tokens_nan_without_crossing():
    got = laws.crossover_tokens(lambda D: np.ones_like(D) * np.array([1.0, -1.0]), 1e9, 1e12)
    assert np.all(np.isnan(got))


def test_finetuned_loss_head_start_and_penalty():
    kw = dict(E=1.8, A=480.0, B=2000.0, alpha=0.35, beta=0.37)
    N = 2e9
    pre = laws.chinchilla_loss(N, 1e10, **kw)
    assert laws.finetuned_loss(N, 1e10, 0.0, 0.0, **kw) == pytest.approx(pre)
    assert laws.finetuned_loss(N, 1e10, 5e9, 0.0, **kw) < pre
    assert laws.finetuned_loss(N, 1e10, 0.0, 0.01, **kw) == pytest.approx(pre + 0.01)


def _compile(f, *args):
    symbols = [pt.dvector(f"x{i}") for i in range(len(args))]
    return pytensor.function(symbols, f(*symbols))(*args)


def test_laws_run_on_pytensor_and_agree_with_numpy():
    rng = np.random.default_rng(1)
    D = rng.uniform(1e8, 5e9, 8)
    U = rng.uniform(5e8, 2e9, 8)
    lam = np.full(8, 0.065)
    np.testing.assert_allclose(
        _compile(laws.repetition_saturation, D, U, lam), laws.repetition_saturation(D, U, lam)
    )
    own = rng.uniform(1e9, 2e9, 8)
    src = rng.uniform(1e9, 2e9, 8)
    tau = rng.normal(0, 0.3, 8)

    def one_source(o, s, t):
        return laws.effective_tokens(o, s[:, None], t[:, None])

    np.testing.assert_allclose(_compile(one_source, own, src, tau), one_source(own, src, tau))
    logs = [rng.normal(size=8) for _ in range(5)]
    args = [np.log(D), np.log(own), logs[0], logs[1], logs[2], np.abs(logs[3]), np.abs(logs[4])]
    np.testing.assert_allclose(
        _compile(laws.chinchilla_log_loss, *args), laws.chinchilla_log_loss(*args)
    )


def test_matrix_effective_tokens_on_pytensor():
    rng = np.random.default_rng(2)
    tokens = rng.uniform(1e8, 1e10, size=(5, 3))
    tau = rng.normal(0, 0.2, size=(3, 3))
    target = np.array([0, 1, 2, 1, 0])
    t_sym, tau_sym = pt.dmatrix("tokens"), pt.dmatrix("tau")
    f = pytensor.function([t_sym, tau_sym], laws.matrix_effective_tokens(t_sym, target, tau_sym))
    np.testing.assert_allclose(f(tokens, tau), laws.matrix_effective_tokens(tokens, target, tau))
    grad = pytensor.function(
        [t_sym, tau_sym],
        pytensor.grad(laws.matrix_effective_tokens(t_sym, target, tau_sym).sum(), tau_sym),
    )(tokens, tau)
    assert np.all(np.isfinite(grad))
