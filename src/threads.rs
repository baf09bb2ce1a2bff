//! Thread pools: the global thread count and the per-call `workers=`.
//!
//! Every kernel runs inside [`run`], on a Rayon pool of exactly the requested
//! size. Pools are built once per size and cached, so a per-call `workers=`
//! costs nothing after its first use. Rayon's global pool is never used, so
//! rustconv neither fights with nor depends on another library's settings.
//!
//! A job that will use one thread anyway (one worker asked for, or too small
//! to split) need not pay the hand-off to a pool thread and back (0.1 ms and
//! more per call, much more on a loaded machine): [`run_sized`] runs it on
//! the calling thread. A Rayon call made there would reach Rayon's global
//! pool, so `run_sized` marks the thread as sequential and kernels that may
//! run under it ask [`split`] (or [`parallel_ok`]) before using Rayon. Only
//! kernels converted that way may be run through `run_sized`; every other
//! kernel keeps going through [`run`].

use crate::error::{Error, Result};
use std::cell::Cell;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// 0 means "all cores"; set by `set_num_threads` or `RUSTCONV_NUM_THREADS`.
static GLOBAL: OnceLock<AtomicUsize> = OnceLock::new();

fn global() -> &'static AtomicUsize {
    GLOBAL.get_or_init(|| {
        let start = std::env::var("RUSTCONV_NUM_THREADS")
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .unwrap_or(0);
        AtomicUsize::new(start)
    })
}

/// The number of cores this process may use, read once: on Linux the
/// standard library reads the cgroup quota files each time it is asked,
/// which cost about 45 µs, more than a small kernel, on every call that
/// resolves `workers=`.
pub fn available() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get))
}

/// Sets the global thread count (0 = all cores).
pub fn set_num_threads(n: usize) {
    global().store(n, Ordering::Relaxed);
}

/// The global thread count as set (0 = all cores).
pub fn get_num_threads() -> usize {
    global().load(Ordering::Relaxed)
}

/// Resolves a `workers=` argument into a thread count, as scipy.fft does:
/// `None` is the global setting, a positive n is n threads, and a negative n
/// counts back from the number of cores (-1 = all cores).
pub fn resolve(workers: Option<i64>) -> Result<usize> {
    let cores = available();
    match workers {
        None => {
            let n = get_num_threads();
            Ok(if n == 0 { cores } else { n })
        }
        Some(0) => Err(Error::value(
            "workers=0 is not allowed: give None (the global setting), a positive thread count, or a negative count back from the number of cores (-1 = all cores)",
        )),
        Some(n) if n > 0 => Ok(usize::try_from(n).unwrap_or(usize::MAX).min(4096)),
        Some(n) => {
            let back = usize::try_from(n.unsigned_abs()).unwrap_or(usize::MAX);
            if back > cores {
                Err(Error::value(format!(
                    "workers={n} asks for {} cores less than all, but this machine has {cores} cores; use -1 to -{cores}, None or a positive count",
                    back - 1
                )))
            } else {
                Ok(cores + 1 - back)
            }
        }
    }
}

/// The pools started by one process, and that process.
struct ProcessPools {
    pid: u32,
    map: Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>,
}

/// The pool cache of the current process. A forked child inherits the
/// parent's pools but none of their threads (a job installed on one would
/// wait forever), and possibly the cache's lock held by a parent thread that
/// does not exist in the child (locking it would wait forever). So a child
/// never touches its parent's cache at all: on the first call after a fork
/// it installs a cache of its own. The parent's cache is leaked, not dropped
/// (dropping would signal threads that do not exist in this process).
fn process_pools() -> &'static ProcessPools {
    static CURRENT: AtomicPtr<ProcessPools> = AtomicPtr::new(std::ptr::null_mut());
    let pid = std::process::id();
    let seen = CURRENT.load(Ordering::Acquire);
    // SAFETY: a non-null pointer in CURRENT comes from Box::leak below and
    // is never freed, so it is valid for 'static.
    if let Some(current) = unsafe { seen.as_ref() }
        && current.pid == pid
    {
        return current;
    }
    let fresh: &'static mut ProcessPools = Box::leak(Box::new(ProcessPools {
        pid,
        map: Mutex::new(HashMap::new()),
    }));
    match CURRENT.compare_exchange(seen, fresh, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => fresh,
        Err(other) => {
            // Another thread of this process installed its cache first; use
            // that one. `fresh` was never shared, so it can be freed.
            // SAFETY: `fresh` came from Box::leak just above and no other
            // reference to it exists.
            drop(unsafe { Box::from_raw(fresh as *mut ProcessPools) });
            // SAFETY: as for `seen` above.
            unsafe { &*other }
        }
    }
}

fn pool(threads: usize) -> Result<Arc<rayon::ThreadPool>> {
    let mut map = process_pools()
        .map
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(p) = map.get(&threads) {
        return Ok(Arc::clone(p));
    }
    let cpus = cpus_to_bind(threads);
    let p = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("rustconv-{i}"))
        .start_handler(move |i| {
            if let Some(&cpu) = cpus.get(i) {
                bind_current_thread(cpu);
            }
        })
        .build()
        .map_err(|e| Error::Memory(format!("cannot start {threads} worker threads: {e}")))?;
    let p = Arc::new(p);
    map.insert(threads, Arc::clone(&p));
    Ok(p)
}

/// The CPUs to bind the workers of a new pool of `threads` threads to, one
/// each, or none.
///
/// A pool with one worker per CPU this process may use (the default, all
/// cores) binds worker `i` to the `i`-th of those CPUs. Unbound, after an
/// idle spell of some milliseconds (a notebook user between two cells, or
/// the benchmark suite's pause between calls), Linux woke both workers of
/// the 2-core pool onto the same CPU and left them there for the whole of a
/// 5 ms call: a paused conv2d forward pass on two threads took as long as
/// on one (10.6 ms against 5.6 ms without the pause), and bound it took
/// 6.0 ms. Binding only the full-size pool means no worker is ever tied to
/// a CPU that another worker of the same pool could have taken, and
/// several processes each binding theirs share the CPUs evenly. Smaller
/// pools stay free to move. `RUSTCONV_BIND_THREADS=0` in the environment
/// turns binding off.
fn cpus_to_bind(threads: usize) -> Vec<usize> {
    let off = std::env::var("RUSTCONV_BIND_THREADS").is_ok_and(|v| v.trim() == "0");
    if off || threads < 2 || threads != available() {
        return Vec::new();
    }
    let cpus = allowed_cpus();
    if cpus.len() == threads {
        cpus
    } else {
        Vec::new()
    }
}

/// The CPUs the calling thread may run on (its affinity mask).
#[cfg(target_os = "linux")]
fn allowed_cpus() -> Vec<usize> {
    // SAFETY: an all-zero `cpu_set_t` is a valid (empty) set, and
    // `sched_getaffinity` writes at most `size_of::<cpu_set_t>()` bytes
    // into it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&cpu| libc::CPU_ISSET(cpu, &set))
            .collect()
    }
}

#[cfg(not(target_os = "linux"))]
fn allowed_cpus() -> Vec<usize> {
    Vec::new()
}

/// Binds the calling thread to `cpu`. A failure (a CPU taken away from the
/// process since) leaves the thread unbound, which is only slower.
#[cfg(target_os = "linux")]
fn bind_current_thread(cpu: usize) {
    // SAFETY: as in `allowed_cpus`; `CPU_SET` ignores a CPU past the set's
    // size, and `sched_setaffinity` only reads the set.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

#[cfg(not(target_os = "linux"))]
fn bind_current_thread(_cpu: usize) {}

/// Turns a caught panic into the error a binding returns.
fn panic_error(payload: &(dyn std::any::Any + Send)) -> Error {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    Error::value(format!(
        "internal error in a rustconv kernel ({what}); please report this with the call that caused it"
    ))
}

/// Runs `f` on a pool of `threads` threads. A panic inside a kernel (a bug:
/// validation should have caught the input) becomes an error instead of
/// unwinding into the interpreter.
pub fn run<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> Result<R> {
    let p = pool(threads.max(1))?;
    catch_unwind(AssertUnwindSafe(|| p.install(f))).map_err(|payload| panic_error(&*payload))
}

thread_local! {
    /// Set while a job runs inline on its caller's thread (see [`run_sized`]).
    static SEQUENTIAL: Cell<bool> = const { Cell::new(false) };
}

/// Restores the sequential flag when the inline job ends, even by a panic.
struct SequentialGuard(bool);

impl Drop for SequentialGuard {
    fn drop(&mut self) {
        SEQUENTIAL.with(|s| s.set(self.0));
    }
}

/// Runs `f` on the calling thread with Rayon forbidden (see [`parallel_ok`]).
fn run_inline<R>(f: impl FnOnce() -> R) -> Result<R> {
    let _guard = SequentialGuard(SEQUENTIAL.with(|s| s.replace(true)));
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| panic_error(&*payload))
}

/// [`run`] for a job of about `work` elementary operations: when it would
/// use a single thread anyway (`threads` is 1, or [`worth_parallel`] says no)
/// it runs on the calling thread instead, with no pool hand-off. `f` may
/// then only use Rayon after asking [`split`] or [`parallel_ok`].
pub fn run_sized<R: Send>(threads: usize, work: usize, f: impl FnOnce() -> R + Send) -> Result<R> {
    if threads <= 1 || !worth_parallel(work) {
        run_inline(f)
    } else {
        run(threads, f)
    }
}

/// Whether the running job may use Rayon: false inside an inline job of
/// [`run_sized`], whose Rayon calls would go to Rayon's global pool.
pub fn parallel_ok() -> bool {
    !SEQUENTIAL.with(Cell::get)
}

/// Whether a kernel should split a job of `work` elementary operations
/// across threads: it is worth it, Rayon may be used here, and the pool has
/// more than one thread.
pub fn split(work: usize) -> bool {
    worth_parallel(work) && parallel_ok() && rayon::current_num_threads() > 1
}

/// Whether a job of `work` elementary operations is worth splitting across
/// threads. Below this, thread wake-up costs more than it saves.
pub fn worth_parallel(work: usize) -> bool {
    work >= 1 << 15
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_resolution() {
        let cores = available();
        assert_eq!(resolve(Some(3)).unwrap(), 3);
        assert_eq!(resolve(Some(-1)).unwrap(), cores);
        assert!(resolve(Some(0)).is_err());
        assert!(resolve(Some(-(cores as i64) - 1)).is_err());
    }

    #[test]
    fn run_uses_requested_size() {
        assert_eq!(run(3, rayon::current_num_threads).unwrap(), 3);
    }

    #[test]
    fn panics_become_errors() {
        let r: Result<()> = run(1, || panic!("boom"));
        assert!(r.unwrap_err().to_string().contains("boom"));
    }

    #[test]
    fn inline_panics_become_errors_and_reset_the_flag() {
        let r: Result<()> = run_sized(1, 1 << 20, || panic!("inline boom"));
        assert!(r.unwrap_err().to_string().contains("inline boom"));
        assert!(parallel_ok());
        let r: Result<()> = run_sized(4, 10, || panic!("small boom"));
        assert!(r.unwrap_err().to_string().contains("small boom"));
        assert!(parallel_ok());
    }

    #[test]
    fn one_worker_or_small_work_stays_on_the_caller() {
        let caller = std::thread::current().id();
        for (threads, work) in [(1, 1 << 30), (2, 10), (8, 0)] {
            let (id, ok, splits) = run_sized(threads, work, || {
                (std::thread::current().id(), parallel_ok(), split(1 << 30))
            })
            .unwrap();
            assert_eq!(id, caller, "threads={threads} work={work}");
            assert!(!ok && !splits);
        }
        assert!(parallel_ok());
        let (id, ok) =
            run_sized(2, 1 << 20, || (std::thread::current().id(), parallel_ok())).unwrap();
        assert_ne!(id, caller);
        assert!(ok);
    }
}
