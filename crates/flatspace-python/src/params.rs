//! Algorithm parameters from Python keyword arguments, over the Rust defaults, and those
//! defaults as a dict (so the Python signatures can be checked against them).

use flatspace_compute::knn::{KnnMethod, KnnParams};
use flatspace_compute::pca::{PcaParams, PcaSolver};
use flatspace_compute::tsne::{Initialization, LearningRate, NegativeGradientMethod, TsneParams};
use flatspace_compute::umap::{Init, OptimizeMode, UmapParams};
use flatspace_compute::{ComputeError, Metric};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

pub(crate) fn compute_error(e: ComputeError) -> PyErr {
    match e {
        ComputeError::Cancelled => pyo3::exceptions::PyKeyboardInterrupt::new_err("cancelled"),
        ComputeError::InvalidInput(msg) => PyValueError::new_err(msg),
    }
}

fn value<'py, T>(v: &Bound<'py, PyAny>, name: &str, expected: &str) -> PyResult<T>
where
    T: for<'a> FromPyObject<'a, 'py, Error = PyErr>,
{
    v.extract::<T>().map_err(|_| {
        let shown = v.repr().map(|r| r.to_string()).unwrap_or_default();
        PyValueError::new_err(format!("{name} must be {expected}, got {shown}"))
    })
}

fn parsed<T: std::str::FromStr<Err = ComputeError>>(
    v: &Bound<'_, PyAny>,
    name: &str,
) -> PyResult<T> {
    let s: String = value(v, name, "a string")?;
    s.parse().map_err(compute_error)
}

fn knn_method(v: &Bound<'_, PyAny>, name: &str) -> PyResult<KnnMethod> {
    let s: String = value(v, name, "a string")?;
    match s.to_ascii_lowercase().as_str() {
        "auto" => Ok(KnnMethod::Auto),
        "exact" => Ok(KnnMethod::Exact),
        "nndescent" | "nn_descent" | "nn-descent" => Ok(KnnMethod::NnDescent),
        other => Err(PyValueError::new_err(format!(
            "unknown {name} {other:?}; expected auto, exact or nndescent"
        ))),
    }
}

fn unexpected(function: &str, key: &str) -> PyErr {
    PyTypeError::new_err(format!("{function}() got an unexpected parameter {key:?}"))
}

fn each(
    kwargs: Option<&Bound<'_, PyDict>>,
    mut f: impl FnMut(&str, &Bound<'_, PyAny>) -> PyResult<()>,
) -> PyResult<()> {
    if let Some(kwargs) = kwargs {
        for (k, v) in kwargs.iter() {
            let k: String = k.extract()?;
            if !v.is_none() || OPTIONAL.contains(&k.as_str()) {
                f(&k, &v)?;
            }
        }
    }
    Ok(())
}

/// Parameters where `None` means something (the rest treat `None` as "the default").
const OPTIONAL: &[&str] = &["n_epochs", "a", "b", "max_step_norm"];

pub(crate) fn pca_params(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<PcaParams> {
    let mut p = PcaParams::default();
    each(kwargs, |k, v| {
        match k {
            "n_components" => p.n_components = value(v, k, "a positive integer")?,
            "center" => p.center = value(v, k, "a bool")?,
            "whiten" => p.whiten = value(v, k, "a bool")?,
            "solver" => {
                let s: String = value(v, k, "a string")?;
                p.solver = match s.to_ascii_lowercase().as_str() {
                    "auto" => PcaSolver::Auto,
                    "covariance" | "full" => PcaSolver::Covariance,
                    "randomized" => PcaSolver::Randomized,
                    other => {
                        return Err(PyValueError::new_err(format!(
                            "unknown PCA solver {other:?}; expected auto, covariance or randomized"
                        )));
                    }
                }
            }
            "seed" => p.seed = value(v, k, "a non-negative integer")?,
            _ => return Err(unexpected("pca", k)),
        }
        Ok(())
    })?;
    Ok(p)
}

pub(crate) fn knn_params(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<KnnParams> {
    let mut p = KnnParams::default();
    each(kwargs, |k, v| {
        match k {
            "k" => p.k = value(v, k, "a positive integer")?,
            "metric" => p.metric = parsed::<Metric>(v, k)?,
            "method" => p.method = knn_method(v, k)?,
            "seed" => p.seed = value(v, k, "a non-negative integer")?,
            _ => return Err(unexpected("knn", k)),
        }
        Ok(())
    })?;
    Ok(p)
}

pub(crate) fn umap_params(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<UmapParams> {
    let mut p = UmapParams::default();
    each(kwargs, |k, v| {
        match k {
            "n_neighbors" => p.n_neighbors = value(v, k, "a positive integer")?,
            "n_components" => p.n_components = value(v, k, "a positive integer")?,
            "metric" => p.metric = parsed::<Metric>(v, k)?,
            "knn_method" => p.knn_method = knn_method(v, k)?,
            "n_epochs" => p.n_epochs = value(v, k, "a positive integer or None")?,
            "learning_rate" => p.learning_rate = value(v, k, "a number")?,
            "init" => p.init = parsed::<Init>(v, k)?,
            "min_dist" => p.min_dist = value(v, k, "a number")?,
            "spread" => p.spread = value(v, k, "a number")?,
            "set_op_mix_ratio" => p.set_op_mix_ratio = value(v, k, "a number")?,
            "local_connectivity" => p.local_connectivity = value(v, k, "a number")?,
            "repulsion_strength" => p.repulsion_strength = value(v, k, "a number")?,
            "negative_sample_rate" => p.negative_sample_rate = value(v, k, "a positive integer")?,
            "a" => p.a = value(v, k, "a number or None")?,
            "b" => p.b = value(v, k, "a number or None")?,
            "seed" => p.seed = value(v, k, "a non-negative integer")?,
            "mode" => p.mode = parsed::<OptimizeMode>(v, k)?,
            _ => return Err(unexpected("umap", k)),
        }
        Ok(())
    })?;
    p.validate().map_err(compute_error)?;
    Ok(p)
}

pub(crate) fn tsne_params(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<TsneParams> {
    let mut p = TsneParams::default();
    each(kwargs, |k, v| {
        match k {
            "n_components" => p.n_components = value(v, k, "2 or 3")?,
            "perplexity" => p.perplexity = value(v, k, "a number")?,
            "learning_rate" => {
                p.learning_rate = match v.extract::<String>() {
                    Ok(s) if s == "auto" => LearningRate::Auto,
                    _ => LearningRate::Fixed(value(v, k, "\"auto\" or a number")?),
                }
            }
            "n_iter" => p.n_iter = value(v, k, "a non-negative integer")?,
            "early_exaggeration" => p.early_exaggeration = value(v, k, "a number")?,
            "early_exaggeration_iter" => {
                p.early_exaggeration_iter = value(v, k, "a non-negative integer")?
            }
            "exaggeration" => p.exaggeration = value(v, k, "a number")?,
            "dof" => p.dof = value(v, k, "a number")?,
            "initial_momentum" => p.initial_momentum = value(v, k, "a number")?,
            "final_momentum" => p.final_momentum = value(v, k, "a number")?,
            "max_step_norm" => p.max_step_norm = value(v, k, "a number or None")?,
            "metric" => p.metric = parsed::<Metric>(v, k)?,
            "knn_method" => p.knn_method = knn_method(v, k)?,
            "init" => p.init = parsed::<Initialization>(v, k)?,
            "negative_gradient_method" => {
                p.negative_gradient_method = parsed::<NegativeGradientMethod>(v, k)?
            }
            "theta" => p.theta = value(v, k, "a number")?,
            "n_interpolation_points" => {
                p.n_interpolation_points = value(v, k, "a positive integer")?
            }
            "min_num_intervals" => p.min_num_intervals = value(v, k, "a positive integer")?,
            "ints_in_interval" => p.ints_in_interval = value(v, k, "a number")?,
            "max_num_intervals" => p.max_num_intervals = value(v, k, "a positive integer")?,
            "seed" => p.seed = value(v, k, "a non-negative integer")?,
            "loss_every" => p.loss_every = value(v, k, "a positive integer")?,
            _ => return Err(unexpected("tsne", k)),
        }
        Ok(())
    })?;
    Ok(p)
}

fn metric_name(m: Metric) -> &'static str {
    match m {
        Metric::Euclidean => "euclidean",
        Metric::Cosine => "cosine",
        Metric::InnerProduct => "inner_product",
    }
}

fn knn_method_name(m: KnnMethod) -> &'static str {
    match m {
        KnnMethod::Auto => "auto",
        KnnMethod::Exact => "exact",
        KnnMethod::NnDescent => "nndescent",
    }
}

/// The Rust defaults of `algorithm` ("pca", "knn", "umap" or "tsne") with the names and value
/// spellings the Python functions take.
#[pyfunction]
pub fn defaults<'py>(py: Python<'py>, algorithm: &str) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    match algorithm {
        "pca" => {
            let p = PcaParams::default();
            d.set_item("n_components", p.n_components)?;
            d.set_item("center", p.center)?;
            d.set_item("whiten", p.whiten)?;
            d.set_item(
                "solver",
                match p.solver {
                    PcaSolver::Auto => "auto",
                    PcaSolver::Covariance => "covariance",
                    PcaSolver::Randomized => "randomized",
                },
            )?;
            d.set_item("seed", p.seed)?;
        }
        "knn" => {
            let p = KnnParams::default();
            d.set_item("k", p.k)?;
            d.set_item("metric", metric_name(p.metric))?;
            d.set_item("method", knn_method_name(p.method))?;
            d.set_item("seed", p.seed)?;
        }
        "umap" => {
            let p = UmapParams::default();
            d.set_item("n_neighbors", p.n_neighbors)?;
            d.set_item("n_components", p.n_components)?;
            d.set_item("metric", metric_name(p.metric))?;
            d.set_item("knn_method", knn_method_name(p.knn_method))?;
            d.set_item("n_epochs", p.n_epochs)?;
            d.set_item("learning_rate", p.learning_rate)?;
            d.set_item(
                "init",
                match p.init {
                    Init::Spectral => "spectral",
                    Init::Pca => "pca",
                    Init::Random => "random",
                },
            )?;
            d.set_item("min_dist", p.min_dist)?;
            d.set_item("spread", p.spread)?;
            d.set_item("set_op_mix_ratio", p.set_op_mix_ratio)?;
            d.set_item("local_connectivity", p.local_connectivity)?;
            d.set_item("repulsion_strength", p.repulsion_strength)?;
            d.set_item("negative_sample_rate", p.negative_sample_rate)?;
            d.set_item("a", p.a)?;
            d.set_item("b", p.b)?;
            d.set_item("seed", p.seed)?;
            d.set_item(
                "mode",
                match p.mode {
                    OptimizeMode::Deterministic => "deterministic",
                    OptimizeMode::Hogwild => "hogwild",
                },
            )?;
        }
        "tsne" => {
            let p = TsneParams::default();
            d.set_item("n_components", p.n_components)?;
            d.set_item("perplexity", p.perplexity)?;
            match p.learning_rate {
                LearningRate::Auto => d.set_item("learning_rate", "auto")?,
                LearningRate::Fixed(r) => d.set_item("learning_rate", r)?,
            }
            d.set_item("n_iter", p.n_iter)?;
            d.set_item("early_exaggeration", p.early_exaggeration)?;
            d.set_item("early_exaggeration_iter", p.early_exaggeration_iter)?;
            d.set_item("exaggeration", p.exaggeration)?;
            d.set_item("dof", p.dof)?;
            d.set_item("initial_momentum", p.initial_momentum)?;
            d.set_item("final_momentum", p.final_momentum)?;
            d.set_item("max_step_norm", p.max_step_norm)?;
            d.set_item("metric", metric_name(p.metric))?;
            d.set_item("knn_method", knn_method_name(p.knn_method))?;
            d.set_item(
                "init",
                match p.init {
                    Initialization::Pca => "pca",
                    Initialization::Random => "random",
                },
            )?;
            d.set_item(
                "negative_gradient_method",
                match p.negative_gradient_method {
                    NegativeGradientMethod::Auto => "auto",
                    NegativeGradientMethod::Fft => "fft",
                    NegativeGradientMethod::BarnesHut => "bh",
                    NegativeGradientMethod::Exact => "exact",
                },
            )?;
            d.set_item("theta", p.theta)?;
            d.set_item("n_interpolation_points", p.n_interpolation_points)?;
            d.set_item("min_num_intervals", p.min_num_intervals)?;
            d.set_item("ints_in_interval", p.ints_in_interval)?;
            d.set_item("max_num_intervals", p.max_num_intervals)?;
            d.set_item("seed", p.seed)?;
            d.set_item("loss_every", p.loss_every)?;
        }
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown algorithm {other:?}; expected pca, knn, umap or tsne"
            )));
        }
    }
    Ok(d)
}
