"""alliance.mixed.differences: central-difference Hessians of exact gradients."""

from __future__ import annotations

import numpy as np

from alliance.mixed.differences import central_columns, central_hessian

#: f(x) = sum a_i x_i^4 + x_0 x_1 x_2 at X: its Hessian is known in closed form.
A = np.array([0.5, 2.0, 1.5])
X = np.array([0.7, -1.2, 2.0])
EXACT = np.diag(12.0 * A * X**2) + np.array(
    [[0.0, X[2], X[1]], [X[2], 0.0, X[0]], [X[1], X[0], 0.0]])


def gradient(x: np.ndarray) -> np.ndarray:
    return 4.0 * A * x**3 + np.array([x[1] * x[2], x[0] * x[2], x[0] * x[1]])


def test_a_quartic_function_s_hessian_to_truncation_error() -> None:
    found = central_hessian(gradient, X, np.full(3, 1e-4))
    np.testing.assert_allclose(found, EXACT, rtol=1e-7, atol=1e-9)
    # only the chosen coordinates, with their own steps
    part = central_hessian(gradient, X, np.array([1e-4, 2e-4]), index=np.array([0, 2]))
    np.testing.assert_allclose(part, EXACT[np.ix_([0, 2], [0, 2])], rtol=1e-7, atol=1e-9)


def test_central_columns_are_whole_unsymmetrised_hessian_columns() -> None:
    # the step of each coordinate is read at its own index
    found = central_columns(gradient, X, np.array([1e-4, 1.0, 2e-4]), np.array([0, 2]))
    assert found.shape == (3, 2)
    np.testing.assert_allclose(found, EXACT[:, [0, 2]], rtol=1e-7, atol=1e-9)
