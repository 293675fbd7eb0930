//! Python bindings (`flatspace._native`): the store, the table model's checks and the compute
//! algorithms, for the Python package in `python/`. See README.md.
//!
//! The GIL is released (`Python::detach`) around every call into the Rust crates; numeric input
//! arrives as borrowed numpy `float32` buffers or Arrow data through the PyCapsule interface.

mod compute;
mod params;
mod progress;
mod store;

use pyo3::prelude::*;

#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<store::PyStore>()?;
    m.add_class::<compute::PyUmapModel>()?;
    m.add_class::<compute::PyTsneModel>()?;
    m.add_function(wrap_pyfunction!(store::media_hash, m)?)?;
    m.add_function(wrap_pyfunction!(compute::pca, m)?)?;
    m.add_function(wrap_pyfunction!(compute::knn, m)?)?;
    m.add_function(wrap_pyfunction!(compute::umap_fit, m)?)?;
    m.add_function(wrap_pyfunction!(compute::tsne_fit, m)?)?;
    m.add_function(wrap_pyfunction!(params::defaults, m)?)?;
    Ok(())
}
