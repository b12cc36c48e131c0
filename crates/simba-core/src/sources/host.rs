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
    }
}
