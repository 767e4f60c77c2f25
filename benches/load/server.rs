//! The service in its own process (the real `annex` binary), and what `/proc` tells about
//! it, about PostgreSQL's backends and about the machine.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::seed::R;

/// The `annex` binary the benchmark starts: the one cargo built beside it (release under
/// `cargo bench`), or `ANNEX_BENCH_SERVER_BIN`.
pub fn binary() -> PathBuf {
    std::env::var_os("ANNEX_BENCH_SERVER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_annex")))
}

/// Environment of the service: production mode, a key, no rate limit.
pub fn service_env(database_url: &str, migration_url: Option<&str>, secret: &str) -> Vec<(String, String)> {
    let mut env = vec![
        ("DATABASE_URL".to_string(), database_url.to_string()),
        ("ANNEX_MODE".to_string(), "production".to_string()),
        ("ANNEX_JWT_SECRET".to_string(), secret.to_string()),
        ("ANNEX_TRAIL_KEY".to_string(), format!("{secret}-trail")),
        ("ANNEX_RATE_LIMIT_PER_MINUTE".to_string(), "0".to_string()),
    ];
    if let Some(m) = migration_url {
        env.push(("ANNEX_MIGRATION_DATABASE_URL".to_string(), m.to_string()));
    }
    env
}

/// `annex migrate` with `env` (schema, catalogs, the runtime role's grants).
pub fn migrate(env: &[(String, String)], log: &Path) -> R<()> {
    let out = std::fs::File::create(log)?;
    let status = Command::new(binary())
        .arg("migrate")
        .envs(env.iter().cloned())
        .stdout(out.try_clone()?)
        .stderr(out)
        .status()?;
    if !status.success() {
        return Err(format!("annex migrate failed ({status}); see {}", log.display()).into());
    }
    Ok(())
}

/// The running service; killed when dropped.
pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    pub async fn start(env: &[(String, String)], log: &Path) -> R<Server> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let out = std::fs::File::create(log)?;
        let child = Command::new(binary())
            .arg("serve")
            .envs(env.iter().cloned())
            .env("ANNEX_LISTEN", format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()?;
        let mut server = Server { child, base: format!("http://127.0.0.1:{port}") };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = server.child.try_wait()? {
                return Err(format!("annex serve exited ({status}); see {}", log.display()).into());
            }
            if let Ok(r) = http.get(format!("{}/readyz", server.base)).send().await
                && r.status().is_success()
            {
                return Ok(server);
            }
            if Instant::now() > deadline {
                server.stop();
                return Err(format!("annex serve not ready after 120 s; see {}", log.display()).into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Clock ticks per second of `/proc` CPU times.
pub fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// utime + stime of a process, in ticks (every thread).
pub fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: fields resume after its closing parenthesis.
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// A `VmRSS`/`VmHWM`-style line of `/proc/<pid>/status`, in KiB.
pub fn status_kib(pid: &str, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// Busy and total ticks of the whole machine (`/proc/stat`).
pub fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().next() else { return (0, 0) };
    let v: Vec<u64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (total.saturating_sub(idle), total)
}

/// CPU ticks of PostgreSQL backends by pid.
pub fn backend_ticks(pids: &[i32]) -> HashMap<i32, u64> {
    pids.iter().filter_map(|p| cpu_ticks(&p.to_string()).map(|t| (*p, t))).collect()
}

/// Ticks the backends used between two readings; a backend that appeared in between
/// counts from zero (its whole life is inside the window).
pub fn backend_delta(before: &HashMap<i32, u64>, after: &HashMap<i32, u64>) -> u64 {
    after.iter().map(|(pid, t)| t.saturating_sub(before.get(pid).copied().unwrap_or(0))).sum()
}
