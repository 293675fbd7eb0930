//! Jobs (long computations the server runs): status and progress, visible to every process that
//! opens the store. A job records the process that runs it, so a job left "running" by a process
//! that died is marked failed the next time the store is opened.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::catalog::NOW;
use crate::error::{Result, StoreError};
use crate::files::pid_may_be_alive;
use crate::store::Store;
use crate::{JobId, ProjectionId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Failed,
    Cancelled,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> JobStatus {
        match s {
            "queued" => JobStatus::Queued,
            "running" => JobStatus::Running,
            "done" => JobStatus::Done,
            "cancelled" => JobStatus::Cancelled,
            _ => JobStatus::Failed,
        }
    }

    /// Queued or running.
    pub fn is_active(self) -> bool {
        matches!(self, JobStatus::Queued | JobStatus::Running)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub projection_id: Option<ProjectionId>,
    pub status: JobStatus,
    pub stage: String,
    pub done: u64,
    pub total: u64,
    pub error: Option<String>,
    pub owner_pid: u32,
    pub created_at: String,
    pub updated_at: String,
}

const JOB_COLUMNS: &str =
    "id, kind, projection_id, status, stage, done, total, error, owner_pid, created_at, updated_at";

fn job_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Job> {
    Ok(Job {
        id: r.get(0)?,
        kind: r.get(1)?,
        projection_id: r.get(2)?,
        status: JobStatus::parse(&r.get::<_, String>(3)?),
        stage: r.get(4)?,
        done: r.get::<_, i64>(5)? as u64,
        total: r.get::<_, i64>(6)? as u64,
        error: r.get(7)?,
        owner_pid: r.get::<_, i64>(8)? as u32,
        created_at: r.get(9)?,
        updated_at: r.get(10)?,
    })
}

impl Store {
    /// A new queued job owned by this process, e.g. `create_job("projection", Some(id))`.
    pub fn create_job(&self, kind: &str, projection_id: Option<ProjectionId>) -> Result<Job> {
        if let Some(pid) = projection_id {
            self.projection(pid)?;
        }
        let id = {
            let conn = self.conn();
            self.sql(conn.execute(
                &format!(
                    "INSERT INTO jobs (kind, projection_id, status, owner_pid, created_at, updated_at)
                     VALUES (?1, ?2, 'queued', ?3, {NOW}, {NOW})"
                ),
                params![kind, projection_id, std::process::id() as i64],
            ))?;
            conn.last_insert_rowid()
        };
        self.job(id)
    }

    pub fn job(&self, id: JobId) -> Result<Job> {
        let conn = self.conn();
        self.sql(
            conn.query_row(
                &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"),
                [id],
                job_from_row,
            )
            .optional(),
        )?
        .ok_or(StoreError::UnknownId { what: "job", id })
    }

    /// Records progress (`done` of `total` in `stage`); a queued job becomes running. A job that
    /// already ended is left as it is.
    pub fn update_job_progress(&self, id: JobId, stage: &str, done: u64, total: u64) -> Result<()> {
        let changed = {
            let conn = self.conn();
            self.sql(conn.execute(
                &format!(
                    "UPDATE jobs SET status = 'running', stage = ?2, done = ?3, total = ?4, updated_at = {NOW}
                     WHERE id = ?1 AND status IN ('queued', 'running')"
                ),
                params![id, stage, done as i64, total as i64],
            ))?
        };
        if changed == 0 {
            self.job(id)?;
        }
        Ok(())
    }

    /// Sets a job's status, with an error message for `Failed`.
    pub fn set_job_status(&self, id: JobId, status: JobStatus, error: Option<&str>) -> Result<()> {
        let changed = {
            let conn = self.conn();
            self.sql(conn.execute(
                &format!(
                    "UPDATE jobs SET status = ?2, error = ?3, updated_at = {NOW} WHERE id = ?1"
                ),
                params![id, status.as_str(), error],
            ))?
        };
        if changed == 0 {
            return Err(StoreError::UnknownId { what: "job", id });
        }
        Ok(())
    }

    /// The queued or running job computing a projection, if any (to join it rather than start a
    /// second one).
    pub fn active_job_for_projection(&self, projection_id: ProjectionId) -> Result<Option<Job>> {
        let conn = self.conn();
        self.sql(
            conn.query_row(
                &format!(
                    "SELECT {JOB_COLUMNS} FROM jobs WHERE projection_id = ?1 AND status IN ('queued', 'running')
                     ORDER BY id DESC LIMIT 1"
                ),
                [projection_id],
                job_from_row,
            )
            .optional(),
        )
    }

    /// All queued or running jobs, oldest first.
    pub fn active_jobs(&self) -> Result<Vec<Job>> {
        let conn = self.conn();
        let mut stmt = self.sql(conn.prepare(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE status IN ('queued', 'running') ORDER BY id"
        )))?;
        let rows = self.sql(stmt.query_map([], job_from_row))?;
        self.sql(rows.collect())
    }

    /// Marks failed every queued or running job whose owning process is gone, and their pending
    /// projections too. Runs on open; returns how many jobs it marked.
    pub fn fail_stale_jobs(&self) -> Result<usize> {
        let stale: Vec<Job> = self
            .active_jobs()?
            .into_iter()
            .filter(|j| !pid_may_be_alive(j.owner_pid))
            .collect();
        for job in &stale {
            let message = format!(
                "the process (pid {}) running this job ended before it finished",
                job.owner_pid
            );
            let conn = self.conn();
            self.sql(conn.execute(
                &format!(
                    "UPDATE jobs SET status = 'failed', error = ?2, updated_at = {NOW}
                     WHERE id = ?1 AND status IN ('queued', 'running')"
                ),
                params![job.id, message],
            ))?;
            if let Some(pid) = job.projection_id {
                self.sql(conn.execute(
                    &format!(
                        "UPDATE projections SET status = 'failed', error = ?2, updated_at = {NOW}
                         WHERE id = ?1 AND status = 'pending'"
                    ),
                    params![pid, message],
                ))?;
            }
        }
        Ok(stale.len())
    }
}
