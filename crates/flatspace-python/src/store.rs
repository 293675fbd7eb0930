//! The store as Python sees it: open a directory, get project and run ids, write a table.

use std::path::PathBuf;

use arrow_array::RecordBatch;
use flatspace_store::{Store, StoreError};
use flatspace_table::{infer_schema, prepare_batch};
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3_arrow::PyTable;

pub(crate) fn store_error(e: StoreError) -> PyErr {
    match e {
        StoreError::ReadOnly { .. } | StoreError::Io { .. } => PyOSError::new_err(e.to_string()),
        other => PyValueError::new_err(other.to_string()),
    }
}

/// An open store directory (`flatspace_store::Store`).
#[pyclass(name = "Store", module = "flatspace._native", frozen)]
pub struct PyStore {
    inner: Store,
}

#[pymethods]
impl PyStore {
    #[new]
    fn new(py: Python<'_>, dir: PathBuf) -> PyResult<Self> {
        let inner = py.detach(|| Store::open(&dir)).map_err(store_error)?;
        Ok(PyStore { inner })
    }

    /// The store directory (absolute).
    #[getter]
    fn root(&self) -> PathBuf {
        self.inner.root().to_path_buf()
    }

    /// The id of the project `name`, created if new.
    fn project(&self, py: Python<'_>, name: &str) -> PyResult<i64> {
        py.detach(|| self.inner.get_or_create_project(name))
            .map_err(store_error)
    }

    /// The id of run `name` in a project, created with `config_json` if new.
    fn run(&self, py: Python<'_>, project_id: i64, name: &str, config_json: &str) -> PyResult<i64> {
        let config: serde_json::Value = serde_json::from_str(config_json)
            .map_err(|e| PyValueError::new_err(format!("run config is not valid JSON: {e}")))?;
        py.detach(|| self.inner.get_or_create_run(project_id, name, &config))
            .map_err(store_error)
    }

    /// Normalises and checks every table (objects with `__arrow_c_stream__`), infers their column
    /// kinds, stores `media` (`(bytes, mime)` pairs the image columns refer to) and commits each
    /// table as a new version of its key at `step`. If any table is rejected nothing is stored.
    /// Returns a description of each new table.
    fn write_tables<'py>(
        &self,
        py: Python<'py>,
        run_id: i64,
        step: i64,
        tables: Vec<(String, PyTable)>,
        media: Vec<(Vec<u8>, String)>,
    ) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let infos = py.detach(|| -> PyResult<_> {
            let mut prepared = Vec::with_capacity(tables.len());
            for (key, table) in tables {
                let (batches, schema) = table.into_inner();
                let batch = match batches.len() {
                    0 => RecordBatch::new_empty(schema),
                    1 => batches.into_iter().next().expect("len is 1"),
                    _ => arrow_select::concat::concat_batches(&schema, &batches)
                        .map_err(|e| PyValueError::new_err(format!("table {key:?}: {e}")))?,
                };
                let batch = prepare_batch(&batch)
                    .map_err(|e| PyValueError::new_err(format!("table {key:?}: {e}")))?;
                let kinds: Vec<_> = infer_schema(&batch)
                    .columns
                    .iter()
                    .map(|c| c.kind)
                    .collect();
                prepared.push((key, batch, kinds));
            }
            let items: Vec<(&[u8], &str)> = media
                .iter()
                .map(|(bytes, mime)| (bytes.as_slice(), mime.as_str()))
                .collect();
            self.inner.put_media_many(&items).map_err(store_error)?;
            prepared
                .iter()
                .map(|(key, batch, kinds)| {
                    self.inner
                        .write_table(run_id, key, step, std::slice::from_ref(batch), kinds)
                        .map_err(store_error)
                })
                .collect::<PyResult<Vec<_>>>()
        })?;
        infos
            .into_iter()
            .map(|info| {
                let out = PyDict::new(py);
                out.set_item("id", info.id)?;
                out.set_item("run_id", info.run_id)?;
                out.set_item("key", info.key)?;
                out.set_item("step", info.step)?;
                out.set_item("version", info.version)?;
                out.set_item("n_rows", info.n_rows)?;
                out.set_item("n_columns", info.n_columns)?;
                out.set_item("n_bytes", info.n_bytes)?;
                Ok(out)
            })
            .collect()
    }

    /// Every committed table version in the store, oldest first: dicts with `id`, `project`,
    /// `run`, `key`, `step`, `version`, `n_rows`, `n_columns`.
    fn tables<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let rows = py
            .detach(|| -> flatspace_store::Result<Vec<_>> {
                let mut rows = Vec::new();
                for project in self.inner.list_projects()? {
                    for run in self.inner.list_runs(project.id)? {
                        for table in self.inner.list_tables(run.id)? {
                            rows.push((project.name.clone(), run.name.clone(), table));
                        }
                    }
                }
                Ok(rows)
            })
            .map_err(store_error)?;
        rows.into_iter()
            .map(|(project, run, t)| {
                let out = PyDict::new(py);
                out.set_item("id", t.id)?;
                out.set_item("project", project)?;
                out.set_item("run", run)?;
                out.set_item("key", t.key)?;
                out.set_item("step", t.step)?;
                out.set_item("version", t.version)?;
                out.set_item("n_rows", t.n_rows)?;
                out.set_item("n_columns", t.n_columns)?;
                Ok(out)
            })
            .collect()
    }

    /// Every column of table `table_id` as an Arrow table (for tests and exports).
    fn read_table(&self, py: Python<'_>, table_id: i64) -> PyResult<PyTable> {
        let data = py
            .detach(|| self.inner.read_table(table_id))
            .map_err(store_error)?;
        PyTable::try_new(data.batches, data.schema)
    }

    /// Saved selections of table `table_id`: dicts with `id`, `name`, `n_rows`, `created_at`.
    fn selections<'py>(&self, py: Python<'py>, table_id: i64) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let list = py
            .detach(|| self.inner.list_selections(table_id))
            .map_err(store_error)?;
        list.into_iter()
            .map(|s| {
                let out = PyDict::new(py);
                out.set_item("id", s.id)?;
                out.set_item("name", s.name)?;
                out.set_item("n_rows", s.n_rows)?;
                out.set_item("created_at", s.created_at)?;
                Ok(out)
            })
            .collect()
    }

    /// Saves `rows` of table `table_id` as the selection `name` (replacing one of that name);
    /// returns its id.
    fn save_selection(
        &self,
        py: Python<'_>,
        table_id: i64,
        name: &str,
        rows: Vec<u32>,
    ) -> PyResult<i64> {
        py.detach(|| self.inner.save_selection(table_id, name, &rows))
            .map(|s| s.id)
            .map_err(store_error)
    }

    /// Stores coordinates (`n_rows × n_components`, row-major) computed elsewhere as a finished
    /// projection of table `table_id` (of `rows` only, when given); returns its id.
    #[pyo3(signature = (table_id, algorithm, coords, n_components, fields_json, params_json="{}", seed=0, rows=None))]
    #[allow(clippy::too_many_arguments)]
    fn put_projection(
        &self,
        py: Python<'_>,
        table_id: i64,
        algorithm: &str,
        coords: Vec<f32>,
        n_components: u32,
        fields_json: &str,
        params_json: &str,
        seed: u64,
        rows: Option<Vec<u32>>,
    ) -> PyResult<i64> {
        let parse = |what: &str, text: &str| {
            serde_json::from_str::<serde_json::Value>(text)
                .map_err(|e| PyValueError::new_err(format!("{what} is not valid JSON: {e}")))
        };
        let spec = flatspace_store::ProjectionSpec {
            table_id,
            fields: parse("fields_json", fields_json)?,
            algorithm: algorithm.to_owned(),
            params: parse("params_json", params_json)?,
            seed,
            n_components,
            rows,
        };
        py.detach(|| {
            self.inner
                .put_projection(&spec, &coords, &serde_json::json!({}), 0.0)
        })
        .map(|p| p.id)
        .map_err(store_error)
    }

    /// The row ids (ascending) of selection `selection_id`.
    fn selection_rows(&self, py: Python<'_>, selection_id: i64) -> PyResult<Vec<u32>> {
        py.detach(|| self.inner.selection(selection_id))
            .map(|(_, rows)| rows)
            .map_err(store_error)
    }

    /// Projections of table `table_id`, oldest first: dicts with `id`, `algorithm`, `params`
    /// (JSON text), `seed`, `n_components`, `n_rows`, `status`, `rows_subset`, `created_at`.
    fn projections<'py>(
        &self,
        py: Python<'py>,
        table_id: i64,
    ) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let list = py
            .detach(|| self.inner.list_projections(table_id))
            .map_err(store_error)?;
        list.into_iter()
            .map(|p| {
                let out = PyDict::new(py);
                out.set_item("id", p.id)?;
                out.set_item("algorithm", p.algorithm)?;
                out.set_item("params", p.params.to_string())?;
                out.set_item("seed", p.seed)?;
                out.set_item("n_components", p.n_components)?;
                out.set_item("n_rows", p.n_rows)?;
                out.set_item("status", p.status.as_str())?;
                out.set_item("rows_subset", p.rows_subset)?;
                out.set_item("created_at", p.created_at)?;
                Ok(out)
            })
            .collect()
    }

    /// The row ids of a projection's coordinates in their order; `None` when it holds every row.
    fn projection_rows(&self, py: Python<'_>, projection_id: i64) -> PyResult<Option<Vec<u32>>> {
        py.detach(|| self.inner.projection_rows(projection_id))
            .map_err(store_error)
    }

    /// `row_id`, then `x`, `y`[, `z`] of `projection` (when given), then every column of table
    /// `table_id`, for `rows` (every row when `None`), as an Arrow table.
    #[pyo3(signature = (table_id, rows=None, projection=None))]
    fn export_rows(
        &self,
        py: Python<'_>,
        table_id: i64,
        rows: Option<Vec<u32>>,
        projection: Option<i64>,
    ) -> PyResult<PyTable> {
        let batch = py
            .detach(|| {
                self.inner
                    .export_rows(table_id, rows.as_deref(), projection)
            })
            .map_err(store_error)?;
        let schema = batch.schema();
        PyTable::try_new(vec![batch], schema)
    }

    /// The stored bytes of a media file.
    fn media<'py>(
        &self,
        py: Python<'py>,
        hash: &str,
    ) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
        let media = py.detach(|| self.inner.media(hash)).map_err(store_error)?;
        Ok(pyo3::types::PyBytes::new(py, &media.bytes))
    }
}

/// The content hash the store names a media file by (lowercase hex BLAKE3).
#[pyfunction]
pub fn media_hash(data: &[u8]) -> String {
    flatspace_table::media_hash(data)
}
