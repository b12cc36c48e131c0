//! A real Celery worker and Celery's own client, from the venv of [`crate::celery_venv`].

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The platform's tasks module (`tasks.py`): llm, data and vector routed by exact name to their
/// queues, and `slow`, an acks_late task on llm_queue that sleeps for its argument.
pub const TASKS: &str = r#"
import os, time
from celery import Celery
app = Celery("tasks", broker=os.environ["BROKER"])
app.conf.task_routes = {"tasks.llm": {"queue": "llm_queue"}, "tasks.data": {"queue": "data_queue"},
                        "tasks.vector": {"queue": "vector_queue"}, "tasks.slow": {"queue": "llm_queue"}}
app.conf.worker_send_task_events = True

@app.task
def llm(x): return x

@app.task
def data(x): return x

@app.task
def vector(x): return x

@app.task(acks_late=True)
def slow(seconds):
    time.sleep(seconds)
    return seconds
"#;

/// `celery ARGS` in `dir` (where the tasks module is), its log in `dir/worker.log`, in a process
/// group of its own so that its pool goes with it; killed (SIGKILL) when dropped.
pub struct Worker(pub Child);

impl Worker {
    pub fn start(venv: &Path, dir: &Path, broker: &str, args: &[&str]) -> Worker {
        let log = std::fs::File::create(dir.join("worker.log")).unwrap();
        let child = Command::new(venv.join("bin/celery"))
            .args(args)
            .current_dir(dir)
            .env("BROKER", broker)
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .process_group(0)
            .spawn()
            .unwrap();
        Worker(child)
    }

    /// SIGKILL to the whole group: no worker-offline event, as when a node dies.
    pub fn kill(&mut self) {
        unsafe { libc::kill(-(self.0.id() as libc::pid_t), libc::SIGKILL) };
        let _ = self.0.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `script` with the venv's Python in `dir` (BROKER set); its stdout.
pub fn python(venv: &Path, dir: &Path, broker: &str, script: &str, args: &[&str]) -> String {
    let out = Command::new(venv.join("bin/python"))
        .arg("-c")
        .arg(script)
        .args(args)
        .current_dir(dir)
        .env("BROKER", broker)
        .output()
        .unwrap();
    assert!(out.status.success(), "python failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}
