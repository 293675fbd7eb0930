//! The Student-t similarity kernel of the layout and the two functions of squared distance the
//! gradient needs. With `dof` = α: w = (1 + d²/α)^(−α) (unnormalised q), the attractive factor
//! w^(1/α) = 1 / (1 + d²/α) and the repulsive factor w^(1 + 1/α). α = 1 is plain t-SNE.

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Kernel {
    dof: f64,
    cauchy: bool,
}

impl Kernel {
    pub(crate) fn new(dof: f64) -> Self {
        Self {
            dof,
            cauchy: dof == 1.0,
        }
    }

    pub(crate) fn is_cauchy(&self) -> bool {
        self.cauchy
    }

    /// Unnormalised similarity w(d²).
    #[inline]
    pub(crate) fn similarity(&self, d2: f64) -> f64 {
        if self.cauchy {
            1.0 / (1.0 + d2)
        } else {
            (1.0 + d2 / self.dof).powf(-self.dof)
        }
    }

    /// ln w(d²), for the KL divergence.
    #[inline]
    pub(crate) fn ln_similarity(&self, d2: f64) -> f64 {
        -self.dof * (d2 / self.dof).ln_1p()
    }

    /// w^(1/α): multiplies p_ij (y_i − y_j) in the attractive force.
    #[inline]
    pub(crate) fn attraction(&self, d2: f64) -> f64 {
        if self.cauchy {
            return 1.0 / (1.0 + d2);
        }
        1.0 / (1.0 + d2 / self.dof)
    }

    /// w^(1 + 1/α): multiplies (y_i − y_j) in the (unnormalised) repulsive force.
    #[inline]
    pub(crate) fn repulsion(&self, d2: f64) -> f64 {
        if self.cauchy {
            let q = 1.0 / (1.0 + d2);
            q * q
        } else {
            let a = 1.0 / (1.0 + d2 / self.dof);
            a.powf(self.dof + 1.0)
        }
    }
}
