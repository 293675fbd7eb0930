//! The projection algorithms the API offers, their parameters with defaults and valid ranges, and
//! the validation that turns a request's parameters into a canonical, fully-filled map (the same
//! request always maps to the same job key and cache entry).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    Pca,
    Umap,
    Tsne,
}

impl Algorithm {
    pub const ALL: [Algorithm; 3] = [Algorithm::Pca, Algorithm::Umap, Algorithm::Tsne];

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Pca => "pca",
            Algorithm::Umap => "umap",
            Algorithm::Tsne => "tsne",
        }
    }

    pub fn parse(name: &str) -> ApiResult<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.name() == name)
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "unknown algorithm {name:?}; expected one of pca, umap, tsne"
                ))
            })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    Int,
    Float,
    Choice,
}

/// One parameter as the settings panel shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ParamSpec {
    pub name: &'static str,
    #[serde(rename = "type")]
    pub ty: ParamType,
    pub default: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// When true the value must be strictly greater than `min`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub min_exclusive: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<&'static str>>,
    pub description: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlgorithmSpec {
    pub name: &'static str,
    pub label: &'static str,
    pub params: Vec<ParamSpec>,
}

fn int(
    name: &'static str,
    default: i64,
    min: i64,
    max: i64,
    description: &'static str,
) -> ParamSpec {
    ParamSpec {
        name,
        ty: ParamType::Int,
        default: Value::from(default),
        min: Some(min as f64),
        max: Some(max as f64),
        min_exclusive: false,
        choices: None,
        description,
    }
}

fn float(
    name: &'static str,
    default: f64,
    (min, min_exclusive): (f64, bool),
    max: f64,
    description: &'static str,
) -> ParamSpec {
    ParamSpec {
        name,
        ty: ParamType::Float,
        default: Value::from(default),
        min: Some(min),
        max: Some(max),
        min_exclusive,
        choices: None,
        description,
    }
}

fn choice(
    name: &'static str,
    default: &'static str,
    choices: &[&'static str],
    description: &'static str,
) -> ParamSpec {
    ParamSpec {
        name,
        ty: ParamType::Choice,
        default: Value::from(default),
        min: None,
        max: None,
        min_exclusive: false,
        choices: Some(choices.to_vec()),
        description,
    }
}

/// The parameters of `algorithm`, in the order the settings panel lists them.
pub fn spec(algorithm: Algorithm) -> AlgorithmSpec {
    match algorithm {
        Algorithm::Pca => AlgorithmSpec {
            name: "pca",
            label: "PCA",
            params: vec![],
        },
        Algorithm::Umap => AlgorithmSpec {
            name: "umap",
            label: "UMAP",
            params: vec![
                int(
                    "n_neighbors",
                    15,
                    2,
                    200,
                    "size of the local neighbourhood (the point included); larger keeps more global structure",
                ),
                float(
                    "min_dist",
                    0.1,
                    (0.0, false),
                    5.0,
                    "how tightly points may pack together (at most spread)",
                ),
                float(
                    "spread",
                    1.0,
                    (0.0, true),
                    5.0,
                    "the scale of embedded points",
                ),
                int(
                    "n_epochs",
                    0,
                    0,
                    5000,
                    "optimisation epochs; 0 chooses (500 up to 10,000 rows, else 200)",
                ),
                float(
                    "learning_rate",
                    1.0,
                    (0.0, true),
                    10.0,
                    "initial step size of the optimisation",
                ),
                int(
                    "negative_sample_rate",
                    5,
                    1,
                    50,
                    "negative samples per positive sample",
                ),
                choice(
                    "init",
                    "spectral",
                    &["spectral", "pca", "random"],
                    "how the layout starts",
                ),
                choice(
                    "metric",
                    "euclidean",
                    &["euclidean", "cosine"],
                    "distance between input vectors",
                ),
            ],
        },
        Algorithm::Tsne => AlgorithmSpec {
            name: "tsne",
            label: "t-SNE",
            params: vec![
                float(
                    "perplexity",
                    30.0,
                    (0.0, true),
                    500.0,
                    "effective number of neighbours; must be below a third of the rows",
                ),
                float(
                    "early_exaggeration",
                    12.0,
                    (1.0, false),
                    100.0,
                    "attraction multiplier during the first phase",
                ),
                int(
                    "early_exaggeration_iter",
                    250,
                    0,
                    5000,
                    "iterations of the first (exaggerated) phase",
                ),
                int("n_iter", 500, 0, 10_000, "iterations of the normal phase"),
                float(
                    "exaggeration",
                    1.0,
                    (0.0, true),
                    100.0,
                    "attraction multiplier of the normal phase (above 1 tightens clusters)",
                ),
                float(
                    "learning_rate",
                    0.0,
                    (0.0, false),
                    1_000_000.0,
                    "gradient step; 0 chooses max(rows / exaggeration, 50)",
                ),
                float(
                    "dof",
                    1.0,
                    (0.0, true),
                    100.0,
                    "degrees of freedom of the Student-t kernel (below 1: heavier tails)",
                ),
                choice("init", "pca", &["pca", "random"], "how the layout starts"),
                choice(
                    "metric",
                    "euclidean",
                    &["euclidean", "cosine"],
                    "distance between input vectors",
                ),
            ],
        },
    }
}

/// Checks `raw` against the algorithm's parameters and the table's size; returns every parameter
/// with defaults filled in, sorted by name. Errors name the parameter, the value and the range.
pub fn canonical_params(
    algorithm: Algorithm,
    raw: &Map<String, Value>,
    n_rows: usize,
) -> ApiResult<BTreeMap<String, Value>> {
    let spec = spec(algorithm);
    let alg = spec.name;
    for name in raw.keys() {
        if !spec.params.iter().any(|p| p.name == name) {
            let known: Vec<&str> = spec.params.iter().map(|p| p.name).collect();
            return Err(ApiError::bad_request(if known.is_empty() {
                format!("unknown parameter {name:?} for {alg}: {alg} takes no parameters")
            } else {
                format!(
                    "unknown parameter {name:?} for {alg}; expected one of {}",
                    known.join(", ")
                )
            }));
        }
    }
    let mut out = BTreeMap::new();
    for p in &spec.params {
        let value = match raw.get(p.name) {
            None | Some(Value::Null) => p.default.clone(),
            Some(v) => check_value(alg, p, v)?,
        };
        out.insert(p.name.to_owned(), value);
    }
    check_against_table(algorithm, &out, n_rows)?;
    Ok(out)
}

fn check_value(alg: &str, p: &ParamSpec, v: &Value) -> ApiResult<Value> {
    let name = p.name;
    match p.ty {
        ParamType::Choice => {
            let choices = p.choices.as_deref().unwrap_or_default();
            match v.as_str() {
                Some(s) if choices.contains(&s) => Ok(Value::from(s)),
                _ => Err(ApiError::bad_request(format!(
                    "{alg} parameter {name} must be one of {}, got {v}",
                    choices.join(", ")
                ))),
            }
        }
        ParamType::Int | ParamType::Float => {
            let Some(x) = v.as_f64().filter(|x| x.is_finite()) else {
                return Err(ApiError::bad_request(format!(
                    "{alg} parameter {name} must be a number, got {v}"
                )));
            };
            if p.ty == ParamType::Int && x.fract() != 0.0 {
                return Err(ApiError::bad_request(format!(
                    "{alg} parameter {name} must be a whole number, got {v}"
                )));
            }
            if let Some(min) = p.min
                && ((p.min_exclusive && x <= min) || x < min)
            {
                let rel = if p.min_exclusive { ">" } else { ">=" };
                return Err(ApiError::bad_request(format!(
                    "{alg} parameter {name} must be {rel} {min}, got {v}"
                )));
            }
            if let Some(max) = p.max
                && x > max
            {
                return Err(ApiError::bad_request(format!(
                    "{alg} parameter {name} must be <= {max}, got {v}"
                )));
            }
            Ok(if p.ty == ParamType::Int {
                Value::from(x as i64)
            } else {
                Value::from(x)
            })
        }
    }
}

pub fn get_f64(params: &BTreeMap<String, Value>, name: &str) -> f64 {
    params.get(name).and_then(Value::as_f64).unwrap_or_default()
}

pub fn get_usize(params: &BTreeMap<String, Value>, name: &str) -> usize {
    params.get(name).and_then(Value::as_u64).unwrap_or_default() as usize
}

pub fn get_str<'a>(params: &'a BTreeMap<String, Value>, name: &str) -> &'a str {
    params.get(name).and_then(Value::as_str).unwrap_or_default()
}

/// Constraints that depend on the table or on two parameters together.
fn check_against_table(
    algorithm: Algorithm,
    params: &BTreeMap<String, Value>,
    n_rows: usize,
) -> ApiResult<()> {
    match algorithm {
        Algorithm::Pca => {
            if n_rows < 2 {
                return Err(ApiError::bad_request(format!(
                    "pca needs at least 2 rows; the table has {n_rows}"
                )));
            }
        }
        Algorithm::Umap => {
            let k = get_usize(params, "n_neighbors");
            if k >= n_rows {
                return Err(ApiError::bad_request(format!(
                    "umap parameter n_neighbors ({k}) must be smaller than the table's {n_rows} rows"
                )));
            }
            let (min_dist, spread) = (get_f64(params, "min_dist"), get_f64(params, "spread"));
            if min_dist > spread {
                return Err(ApiError::bad_request(format!(
                    "umap parameter min_dist ({min_dist}) must be at most spread ({spread})"
                )));
            }
        }
        Algorithm::Tsne => {
            let perplexity = get_f64(params, "perplexity");
            // The neighbour graph holds 3 × perplexity neighbours per row.
            if 3.0 * perplexity >= n_rows as f64 {
                return Err(ApiError::bad_request(format!(
                    "tsne parameter perplexity ({perplexity}) must be below a third of the table's \
                     {n_rows} rows (at most {:.1})",
                    ((n_rows as f64 - 1.0) / 3.0).max(0.0)
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    #[test]
    fn defaults_fill_and_order_is_canonical() {
        let a = canonical_params(Algorithm::Umap, &obj(json!({})), 1000).expect("valid");
        let b = canonical_params(Algorithm::Umap, &obj(json!({"n_neighbors": 15.0})), 1000)
            .expect("valid");
        assert_eq!(
            a, b,
            "explicit defaults map to the same key as omitted ones"
        );
        assert_eq!(a["n_neighbors"], json!(15));
    }

    #[test]
    fn bad_values_name_the_parameter() {
        let err = canonical_params(Algorithm::Tsne, &obj(json!({"perplexity": -5})), 1000)
            .expect_err("negative perplexity");
        assert!(err.to_string().contains("perplexity"), "{err}");
        let err = canonical_params(Algorithm::Umap, &obj(json!({"n_neighbors": 150})), 100)
            .expect_err("k too large");
        assert!(err.to_string().contains("100 rows"), "{err}");
        let err = canonical_params(Algorithm::Umap, &obj(json!({"n_neighbors": 2.5})), 100)
            .expect_err("fraction");
        assert!(err.to_string().contains("whole"), "{err}");
        let err = canonical_params(Algorithm::Umap, &obj(json!({"metric": "manhattan"})), 100)
            .expect_err("choice");
        assert!(err.to_string().contains("euclidean, cosine"), "{err}");
        let err =
            canonical_params(Algorithm::Pca, &obj(json!({"foo": 1})), 100).expect_err("unknown");
        assert!(err.to_string().contains("foo"), "{err}");
        let err = canonical_params(Algorithm::Tsne, &obj(json!({"perplexity": 40})), 100)
            .expect_err("perplexity vs rows");
        assert!(err.to_string().contains("third"), "{err}");
    }
}
