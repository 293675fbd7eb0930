// Shapes of the JSON the server answers, as described in docs/api.md (v1).

export interface Project {
  id: number;
  name: string;
  n_runs: number;
}

export interface Run {
  id: number;
  name: string;
  created_at: string;
  config: unknown;
}

export interface TableVersion {
  id: number;
  key: string;
  step: number | null;
  version: number;
  n_rows: number;
  created_at: string;
}

export type ColumnKind = 'embedding' | 'numeric' | 'category' | 'text' | 'bool' | 'image';

export interface ColumnInfo {
  name: string;
  kind: ColumnKind;
  dim?: number;
  n_distinct?: number;
}

export type FieldType = 'single' | 'many';

export interface EmbeddingFields {
  type: FieldType;
  columns: string[];
}

export interface TableDefaults {
  embedding: EmbeddingFields | null;
  color_by: string | null;
  overlay: string | null;
}

export interface TableInfo {
  id: number;
  key: string;
  step: number | null;
  n_rows: number;
  columns: ColumnInfo[];
  defaults: TableDefaults;
}

export type CodeType = 'uint8' | 'uint16' | 'uint32';

export interface Categories {
  categories: (string | number | boolean | null)[];
  counts: number[];
  code_type: CodeType;
}

export type ParamType = 'int' | 'float' | 'choice';

export interface ParamSpec {
  name: string;
  type: ParamType;
  default: number | string;
  min?: number;
  max?: number;
  /** The value must be strictly above `min`. */
  min_exclusive?: boolean;
  choices?: string[];
  description?: string;
}

export interface AlgorithmSpec {
  name: string;
  label?: string;
  params: ParamSpec[];
}

export interface ProjectionRequest {
  table_id: number;
  fields: EmbeddingFields;
  algorithm: string;
  params: Record<string, number | string>;
  seed: number;
  n_components: 2 | 3;
  /** Project only these rows (sorted unique ids); the layout's points follow this order. */
  rows?: number[];
}

export type JobStatus = 'queued' | 'running' | 'done' | 'error' | 'cancelled';

export interface ProjectionStarted {
  projection_id: number;
  job_id: number;
  status: JobStatus;
}

export interface Metrics {
  knn_recall?: number | null;
  trustworthiness?: number | null;
}

export interface ProjectionInfo {
  id: number;
  table_id?: number;
  fields?: EmbeddingFields;
  job_id?: number | null;
  status: JobStatus;
  algorithm: string;
  params: Record<string, number | string>;
  seed: number;
  n_rows: number;
  n_components: 2 | 3;
  elapsed_secs: number | null;
  metrics: Metrics | null;
  error?: string;
}

export type NeighborMetric = 'euclidean' | 'cosine';

export interface Neighbor {
  row: number;
  distance: number;
}

export interface NeighborsAnswer {
  row: number;
  metric: NeighborMetric;
  k: number;
  neighbors: Neighbor[];
}

export interface SelectionInfo {
  id: number;
  name: string;
  n_rows: number;
  created_at: string;
}

export interface SelectionRows extends SelectionInfo {
  table_id: number;
  rows: number[];
}

export type ExportFormat = 'csv' | 'parquet';
