//! PCA, kNN, UMAP and t-SNE on numpy `float32` arrays (borrowed, not copied), GIL released.

use flatspace_compute::tsne::TsneModel;
use flatspace_compute::umap::UmapModel;
use flatspace_compute::{MatrixView, NoProgress, ProgressSink, RunContext};
use numpy::{PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::params::{compute_error, knn_params, pca_params, tsne_params, umap_params};
use crate::progress::BarSink;

fn view<'a>(x: &'a PyReadonlyArray2<'_, f32>, what: &str) -> PyResult<MatrixView<'a>> {
    let shape = x.shape();
    let data = x.as_slice().map_err(|_| {
        PyValueError::new_err(format!("{what} must be a C-contiguous float32 array"))
    })?;
    MatrixView::new(data, shape[0], shape[1]).map_err(compute_error)
}

fn matrix<'py>(
    py: Python<'py>,
    values: Vec<f32>,
    n_rows: usize,
    n_cols: usize,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    PyArray1::from_vec(py, values).reshape([n_rows, n_cols])
}

/// Runs `f` without the GIL, with a progress bar on stderr when `progress` is set.
fn run<T: Send>(
    py: Python<'_>,
    progress: bool,
    f: impl FnOnce(&RunContext<'_>) -> flatspace_compute::Result<T> + Send,
) -> PyResult<T> {
    py.detach(|| {
        let bars = BarSink::default();
        let sink: &dyn ProgressSink = if progress { &bars } else { &NoProgress };
        let ctx = RunContext {
            progress: sink,
            cancel: None,
        };
        let out = f(&ctx);
        bars.finish();
        out
    })
    .map_err(compute_error)
}

/// PCA coordinates plus (explained_variance_ratio, components, mean).
#[pyfunction]
#[pyo3(signature = (x, progress=false, **kwargs))]
#[allow(clippy::type_complexity)]
pub fn pca<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f32>,
    progress: bool,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<(
    Bound<'py, PyArray2<f32>>,
    Bound<'py, PyArray1<f32>>,
    Bound<'py, PyArray2<f32>>,
    Bound<'py, PyArray1<f32>>,
)> {
    let params = pca_params(kwargs)?;
    let x = view(&x, "X")?;
    let result = run(py, progress, |ctx| {
        x.check_finite()?;
        flatspace_compute::pca::pca(x, &params, ctx)
    })?;
    let c = result.n_components;
    let d = x.dim();
    Ok((
        matrix(py, result.coords, result.n_rows, c)?,
        PyArray1::from_vec(py, result.explained_variance_ratio),
        matrix(py, result.components, c, d)?,
        PyArray1::from_vec(py, result.mean),
    ))
}

/// The kNN graph: (indices uint32 n × k, distances float32 n × k).
#[pyfunction]
#[allow(clippy::type_complexity)]
#[pyo3(signature = (x, progress=false, **kwargs))]
pub fn knn<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f32>,
    progress: bool,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<(Bound<'py, PyArray2<u32>>, Bound<'py, PyArray2<f32>>)> {
    let params = knn_params(kwargs)?;
    let x = view(&x, "X")?;
    let graph = run(py, progress, |ctx| {
        x.check_finite()?;
        flatspace_compute::knn::knn_graph(x, &params, ctx)
    })?;
    let (n, k) = (graph.n_rows, graph.k);
    Ok((
        PyArray1::from_vec(py, graph.indices).reshape([n, k])?,
        matrix(py, graph.distances, n, k)?,
    ))
}

/// A fitted UMAP layout; keeps a reference to its training array for `transform`.
#[pyclass(name = "UmapModel", module = "flatspace._native", frozen)]
pub struct PyUmapModel {
    model: UmapModel,
    train: Py<PyArray2<f32>>,
}

#[pymethods]
impl PyUmapModel {
    /// The layout of the training rows (n × n_components).
    #[getter]
    fn embedding<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f32>>> {
        matrix(
            py,
            self.model.embedding.clone(),
            self.model.n_rows,
            self.model.n_components,
        )
    }

    #[getter]
    fn n_epochs(&self) -> usize {
        self.model.n_epochs
    }

    /// Places new rows into the fitted layout without moving the training rows.
    #[pyo3(signature = (x, progress=false))]
    fn transform<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f32>,
        progress: bool,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let train = self.train.bind(py).readonly();
        let train = view(&train, "the training array")?;
        let new = view(&x, "X")?;
        let coords = run(py, progress, |ctx| self.model.transform(train, new, ctx))?;
        matrix(py, coords, new.n_rows(), self.model.n_components)
    }
}

#[pyfunction]
#[pyo3(signature = (x, progress=false, **kwargs))]
pub fn umap_fit<'py>(
    py: Python<'py>,
    x: Bound<'py, PyArray2<f32>>,
    progress: bool,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<PyUmapModel> {
    let params = umap_params(kwargs)?;
    let readonly = x.readonly();
    let view = view(&readonly, "X")?;
    let model = run(py, progress, |ctx| {
        view.check_finite()?;
        flatspace_compute::umap::fit(view, &params, ctx)
    })?;
    drop(readonly);
    Ok(PyUmapModel {
        model,
        train: x.unbind(),
    })
}

/// A fitted t-SNE layout; keeps a reference to its training array for `transform`.
#[pyclass(name = "TsneModel", module = "flatspace._native", frozen)]
pub struct PyTsneModel {
    model: TsneModel,
    train: Py<PyArray2<f32>>,
}

#[pymethods]
impl PyTsneModel {
    /// The layout of the training rows (n × n_components).
    #[getter]
    fn embedding<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f32>>> {
        matrix(
            py,
            self.model.embedding.clone(),
            self.model.n_rows,
            self.model.n_components,
        )
    }

    /// KL(P ‖ Q) of the final layout.
    #[getter]
    fn kl_divergence(&self) -> f64 {
        self.model.kl_divergence
    }

    /// Places new rows into the fitted layout without moving the training rows.
    #[pyo3(signature = (x, progress=false))]
    fn transform<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f32>,
        progress: bool,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let train = self.train.bind(py).readonly();
        let train = view(&train, "the training array")?;
        let new = view(&x, "X")?;
        let coords = run(py, progress, |ctx| self.model.transform(train, new, ctx))?;
        matrix(py, coords, new.n_rows(), self.model.n_components)
    }
}

#[pyfunction]
#[pyo3(signature = (x, progress=false, **kwargs))]
pub fn tsne_fit<'py>(
    py: Python<'py>,
    x: Bound<'py, PyArray2<f32>>,
    progress: bool,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<PyTsneModel> {
    let params = tsne_params(kwargs)?;
    let readonly = x.readonly();
    let view = view(&readonly, "X")?;
    let model = run(py, progress, |ctx| {
        view.check_finite()?;
        flatspace_compute::tsne::fit(view, &params, ctx)
    })?;
    drop(readonly);
    Ok(PyTsneModel {
        model,
        train: x.unbind(),
    })
}
