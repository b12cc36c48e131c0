//! This machine: CPU and memory (sysinfo).

use serde::{Deserialize, Serialize};
use sysinfo::{MemoryRefreshKind, System};
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct HostSnapshot {
    pub hostname: Option<String>,
    pub cpu_count: u32,
    /// Busy share of all cores since the previous sample, 0–100.
    pub cpu_percent: f32,
    pub load_average_1m: f64,
    #[ts(type = "number")]
    pub memory_total_bytes: u64,
    #[ts(type = "number")]
    pub memory_used_bytes: u64,
    #[ts(type = "number")]
    pub memory_available_bytes: u64,
    #[ts(type = "number")]
    pub swap_used_bytes: u64,
    /// Resident memory of this Simba Tuner process.
    #[ts(type = "number")]
    pub process_rss_bytes: u64,
}

/// Keeps the previous CPU reading so `cpu_percent` covers the time between two samples.
pub struct HostCollector {
    system: System,
    primed: bool,
}

impl Default for HostCollector {
    fn default() -> Self {
        Self::new()
    }
}

impl HostCollector {
    pub fn new() -> Self {
        Self { system: System::new(), primed: false }
    }

    pub async fn sample(&mut self) -> HostSnapshot {
        if !self.primed {
            // CPU use is a difference of two readings; the first call takes both.
            self.system.refresh_cpu_usage();
            tokio::time::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL).await;
            self.primed = true;
        }
        self.system.refresh_cpu_usage();
        self.system.refresh_memory_specifics(MemoryRefreshKind::everything());
        let pid = sysinfo::get_current_pid().ok();
        if let Some(pid) = pid {
            self.system.refresh_processes(sysinfo::ProcessesToUpdate::Some(&[pid]), true);
        }
        let process_rss_bytes = pid.and_then(|p| self.system.process(p)).map(|p| p.memory()).unwrap_or(0);
        HostSnapshot {
            hostname: System::host_name(),
            cpu_count: self.system.cpus().len() as u32,
            cpu_percent: self.system.global_cpu_usage(),
            load_average_1m: System::load_average().one,
            memory_total_bytes: self.system.total_memory(),
            memory_used_bytes: self.system.used_memory(),
            memory_available_bytes: self.system.available_memory(),
            swap_used_bytes: self.system.used_swap(),
            process_rss_bytes,
        }
    }
}

/// How much memory a server on this machine may use: the cgroup limit of this process's container
/// (v2 `memory.max`, v1 `memory.limit_in_bytes`) when it is below the machine's memory, else
/// `MemTotal`. None when neither can be read (not Linux).
#[derive(Debug, Clone, Serialize, Deserialize, TS, PartialEq)]
#[ts(export)]
pub struct MemoryLimit {
    #[ts(type = "number")]
    pub bytes: u64,
    /// `cgroup v2 memory.max`, `cgroup v1 memory.limit_in_bytes` or `MemTotal`.
    pub source: String,
}

/// The memory limit of this process (its container's cgroup, else the machine).
pub fn memory_limit() -> Option<MemoryLimit> {
    limit_within(cgroup_limit(&std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default()), "")
}

/// The memory limit of a server process on this machine, from its own cgroup: a server in a
/// container with `mem_limit: 512m` gets 512 MiB even when this app runs outside it. None when the
/// process is not there or is not `expected_name` (a PID from another PID namespace, such as a
/// server inside a container reached through a published port, names another process here).
pub fn memory_limit_of_process(pid: u32, expected_name: &str) -> Option<MemoryLimit> {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    if !comm.trim().starts_with(expected_name) {
        return None;
    }
    let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    limit_within(cgroup_limit(&cgroup), &format!(" of the server's process (pid {pid})"))
}

/// The memory a server on this machine may use: its own process's cgroup when `pid` names it
/// here, else this process's limit (the machine, or the container both run in).
pub fn server_memory_limit(pid: Option<u32>, process_name: &str) -> Option<MemoryLimit> {
    pid.and_then(|p| memory_limit_of_process(p, process_name)).or_else(memory_limit)
}

/// A cgroup limit when it is below the machine's memory, else `MemTotal`.
fn limit_within(cgroup: Option<(u64, String)>, whose: &str) -> Option<MemoryLimit> {
    let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|t| {
        t.lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .map(|kib| kib * 1024)
    });
    let (bytes, source) = match (cgroup, total) {
        (Some((bytes, source)), Some(total)) if bytes < total => (bytes, source),
        (Some((bytes, source)), None) => (bytes, source),
        (_, Some(total)) => (total, "MemTotal".to_string()),
        (None, None) => return None,
    };
    let source = if source == "MemTotal" { source } else { format!("{source}{whose}") };
    Some(MemoryLimit { bytes, source })
}

/// The memory limit of the cgroup named in a `/proc/PID/cgroup` file, if it has one ("max" or a
/// huge v1 value means none). The nearest limit up the hierarchy counts: a child cgroup without its
/// own limit inherits its parent's.
fn cgroup_limit(own: &str) -> Option<(u64, String)> {
    let v2_path = own.lines().find_map(|l| l.strip_prefix("0::")).unwrap_or("/").trim().to_string();
    let v1_path = own
        .lines()
        .find_map(|l| {
            let mut parts = l.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            controllers.split(',').any(|c| c == "memory").then(|| path.trim().to_string())
        })
        .unwrap_or_else(|| "/".into());
    let read = |path: String| std::fs::read_to_string(path.replace("//", "/")).ok().map(|t| t.trim().to_string());
    // v1 writes "no limit" as a page-rounded i64::MAX.
    let limit = |value: String| value.parse::<u64>().ok().filter(|&b| b < (1 << 60));
    let mut found: Option<(u64, String)> = None;
    let mut keep = |bytes: Option<u64>, source: &str| {
        if let Some(b) = bytes {
            if found.as_ref().is_none_or(|(f, _)| b < *f) {
                found = Some((b, source.to_string()));
            }
        }
    };
    for dir in ancestors(&v2_path) {
        if let Some(value) = read(format!("/sys/fs/cgroup{dir}/memory.max")) {
            keep(limit(value), "cgroup v2 memory.max");
        } else if let Some(value) = read(format!("/sys/fs/cgroup/unified{dir}/memory.max")) {
            keep(limit(value), "cgroup v2 memory.max");
        }
    }
    for dir in ancestors(&v1_path) {
        if let Some(value) = read(format!("/sys/fs/cgroup/memory{dir}/memory.limit_in_bytes")) {
            keep(limit(value), "cgroup v1 memory.limit_in_bytes");
        }
    }
    found
}

/// `/a/b` → `/a/b`, `/a`, `/`.
fn ancestors(path: &str) -> Vec<String> {
    let mut out = vec![];
    let mut p = path.trim_end_matches('/').to_string();
    while !p.is_empty() {
        out.push(p.clone());
        p.truncate(p.rfind('/').unwrap_or(0));
    }
    out.push("/".into());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn host_figures_are_plausible() {
        let mut c = HostCollector::new();
        let s = c.sample().await;
        assert!(s.cpu_count >= 1);
        assert!(s.memory_total_bytes > 0 && s.memory_used_bytes <= s.memory_total_bytes);
        assert!((0.0..=100.0).contains(&s.cpu_percent));
        assert!(s.process_rss_bytes > 0);
        let limit = memory_limit().unwrap();
        assert!(limit.bytes > 0 && limit.bytes <= s.memory_total_bytes.max(limit.bytes));
        // This process is one too; a process of another name is not taken for the server.
        let own = memory_limit_of_process(std::process::id(), "").unwrap();
        assert_eq!(own.bytes, limit.bytes);
        assert!(memory_limit_of_process(std::process::id(), "redis-server").is_none());
        assert!(memory_limit_of_process(u32::MAX, "").is_none());
    }

    #[test]
    fn ancestors_walk_up_to_the_root() {
        assert_eq!(ancestors("/a/b"), ["/a/b", "/a", "/"]);
        assert_eq!(ancestors("/"), ["/"]);
    }
}
