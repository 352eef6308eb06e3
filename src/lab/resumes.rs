//! Resumes: each time a run continued from a checkpoint, when, from which iteration, and on
//! what: device, host, machine, code and command line. The run's own columns keep what it
//! started on; a run resumed elsewhere (another host, the GPU instead of the CPU, newer code)
//! says so here.

use anyhow::Result;
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};

use super::{CodeVersion, Lab, Machine, RunId};

/// One resume of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Resume {
    /// Seconds since the Unix epoch.
    pub at: f64,
    /// The checkpoint's iteration it continued from (0: from the start, no checkpoint).
    pub from_iteration: i64,
    pub device: String,
    pub gpu_name: Option<String>,
    pub hostname: String,
    pub machine: Machine,
    pub code: CodeVersion,
    pub command_line: String,
    /// The run's last heartbeat before this resume (seconds since the Unix epoch): how far the
    /// lab it was resumed in knew it had gone. None for a run that had not started, and for
    /// resumes recorded before the lab kept it.
    pub heartbeat_before: Option<f64>,
    /// The run's log before this resume (its `log_path` then, relative to the lab), where the
    /// resume wrote a log of its own in its place; None where it kept the same log, had none,
    /// or was recorded before the lab kept it.
    #[serde(default)]
    pub log_before: Option<String>,
}

/// Records a resume ([`Lab::rewind_for_resume`] does, with the rewind).
pub(super) fn insert(conn: &Connection, run: RunId, r: &Resume) -> Result<()> {
    conn.execute(
        "INSERT INTO run_resumes (run_id, resumed_at, from_iteration, device, gpu_name,
            hostname, cpu_model, cpu_threads, cpu_simd, cpu_cache, os, git_commit, git_dirty,
            crate_version, command_line, heartbeat_before, git_diff, log_before)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
            ?18)",
        params![
            run.0,
            r.at,
            r.from_iteration,
            r.device,
            r.gpu_name,
            r.hostname,
            r.machine.cpu_model,
            r.machine.cpu_threads,
            r.machine.cpu_simd,
            r.machine.cpu_cache,
            r.machine.os,
            r.code.git_commit,
            r.code.git_dirty,
            r.code.crate_version,
            r.command_line,
            r.heartbeat_before,
            r.code.git_diff,
            r.log_before,
        ],
    )?;
    Ok(())
}

impl Lab {
    /// Records a resume by itself (tests, and labs assembled by hand).
    pub fn add_resume(&self, run: RunId, r: &Resume) -> Result<()> {
        insert(&self.conn, run, r)
    }

    /// A run's resumes, oldest first.
    pub fn resumes(&self, run: RunId) -> Result<Vec<Resume>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT * FROM run_resumes WHERE run_id = ?1 ORDER BY resumed_at, id",
        )?;
        let rows = stmt
            .query_map([run.0], |r| {
                Ok(Resume {
                    at: r.get("resumed_at")?,
                    from_iteration: r.get("from_iteration")?,
                    device: r.get("device")?,
                    gpu_name: r.get("gpu_name")?,
                    hostname: r.get("hostname")?,
                    machine: Machine::from_row(r)?,
                    code: CodeVersion::from_row(r)?,
                    command_line: r.get("command_line")?,
                    heartbeat_before: r.get("heartbeat_before")?,
                    log_before: r.get("log_before")?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::fixtures::sample_run;

    #[test]
    fn resumes_come_back_in_order_and_go_with_their_run() -> Result<()> {
        let lab = Lab::open_in_memory()?;
        let run = lab.create_run(&sample_run("r"))?;
        let other = lab.create_run(&sample_run("other"))?;
        let resume = |at: f64, device: &str| Resume {
            at,
            from_iteration: at as i64 * 10,
            device: device.into(),
            gpu_name: (device == "cuda").then(|| "NVIDIA H200".into()),
            hostname: "gpu-box".into(),
            machine: Machine {
                cpu_model: Some("Xeon".into()),
                cpu_threads: Some(16),
                cpu_simd: None,
                cpu_cache: None,
                os: Some("linux".into()),
            },
            code: CodeVersion {
                git_commit: "abc".into(),
                git_dirty: true,
                git_diff: Some("9f1c".into()),
                crate_version: "0.1.0".into(),
            },
            command_line: "facenet-lab run --resume 1 --device cuda".into(),
            heartbeat_before: Some(at - 1.0),
            log_before: None,
        };
        lab.add_resume(run, &resume(20.0, "cuda"))?;
        lab.add_resume(run, &resume(10.0, "cpu"))?;
        assert_eq!(
            lab.resumes(run)?,
            vec![resume(10.0, "cpu"), resume(20.0, "cuda")]
        );
        assert!(lab.resumes(other)?.is_empty());
        lab.conn()
            .execute("DELETE FROM runs WHERE id = ?1", [run.0])?;
        let left: i64 = lab
            .conn()
            .query_row("SELECT count(*) FROM run_resumes", [], |r| r.get(0))?;
        assert_eq!(left, 0, "a deleted run takes its resumes along");
        Ok(())
    }
}
