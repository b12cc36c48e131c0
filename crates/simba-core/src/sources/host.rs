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

pub fn memory_limit() -> Option<MemoryLimit> {
    let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|t| {
        t.lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .map(|kib| kib * 1024)
    });
    let cgroup = cgroup_limit();
    match (cgroup, total) {
        (Some((bytes, source)), Some(total)) if bytes < total => Some(MemoryLimit { bytes, source }),
        (Some((bytes, source)), None) => Some(MemoryLimit { bytes, source }),
        (_, Some(total)) => Some(MemoryLimit { bytes: total, source: "MemTotal".into() }),
        (None, None) => None,
    }
}

/// The memory limit of this process's cgroup, if it has one ("max" or a huge v1 value means none).
fn cgroup_limit() -> Option<(u64, String)> {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let v2_path = own.lines().find_map(|l| l.strip_prefix("0::")).unwrap_or("/").trim().to_string();
    let v1_path = own
        .lines()
        .find_map(|l| {
            let mut parts = l.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            controllers.split(',').any(|c| c == "memory").then(|| path.trim().to_string())
        })
        .unwrap_or_else(|| "/".into());
    let read = |path: String| std::fs::read_to_string(path).ok().map(|t| t.trim().to_string());
    let candidates = [
        (format!("/sys/fs/cgroup{v2_path}/memory.max"), "cgroup v2 memory.max"),
        ("/sys/fs/cgroup/memory.max".to_string(), "cgroup v2 memory.max"),
        (format!("/sys/fs/cgroup/memory{v1_path}/memory.limit_in_bytes"), "cgroup v1 memory.limit_in_bytes"),
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes".to_string(), "cgroup v1 memory.limit_in_bytes"),
    ];
    for (path, source) in candidates {
        if let Some(value) = read(path.replace("//", "/")) {
            // v1 writes "no limit" as a page-rounded i64::MAX.
            return value.parse::<u64>().ok().filter(|&b| b < (1 << 60)).map(|b| (b, source.to_string()));
        }
    }
    None
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
    }
}
