//! Spreading independent hashing work over a few threads.
//!
//! Jobs stay single-threaded unless their caller asks for more; then a
//! step's work is cut into contiguous parts, one per thread, run on scoped
//! threads, so nothing outlives the step and the result is the same as on
//! one thread.

use std::thread;

use parking_lot::Mutex;

/// Runs `a` on a scoped thread while `b` runs on the calling thread, and
/// returns both results; `a` runs on the calling thread after `b` if its
/// thread cannot be started.
pub(crate) fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    RA: Send,
    B: FnOnce() -> RB,
{
    let slot = Mutex::new(Some(a));
    thread::scope(|scope| {
        let slot = &slot;
        let started = thread::Builder::new()
            .name("rha-hash".into())
            .spawn_scoped(scope, move || slot.lock().take().map(|a| a()));
        let rb = b();
        let ra = match started {
            Ok(handle) => match handle.join() {
                Ok(ra) => ra,
                Err(panic) => std::panic::resume_unwind(panic),
            },
            Err(_) => None,
        };
        match (ra, slot.lock().take()) {
            (Some(ra), _) => (ra, rb),
            (None, Some(a)) => (a(), rb),
            // The thread ran `a` exactly when it returned `Some`.
            (None, None) => unreachable!("the hashing thread took its work and returned nothing"),
        }
    })
}

/// `f` of every part, in order. The first part runs on the calling thread
/// and every other one on a scoped thread of its own; a part whose thread
/// cannot be started runs on the calling thread instead.
pub(crate) fn map<T, R, F>(parts: Vec<T>, f: F) -> Vec<R>
where
    T: Copy + Send,
    R: Send,
    F: Fn(T) -> R + Sync,
{
    let f = &f;
    thread::scope(|scope| {
        let mut handles = Vec::with_capacity(parts.len());
        for &part in parts.iter().skip(1) {
            let started = thread::Builder::new()
                .name("rha-hash".into())
                .spawn_scoped(scope, move || f(part));
            handles.push((part, started.ok()));
        }
        let mut out = Vec::with_capacity(parts.len());
        if let Some(&first) = parts.first() {
            out.push(f(first));
        }
        for (part, handle) in handles {
            out.push(match handle {
                Some(handle) => match handle.join() {
                    Ok(r) => r,
                    Err(panic) => std::panic::resume_unwind(panic),
                },
                None => f(part),
            });
        }
        out
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_come_back_in_order() {
        let parts: Vec<u32> = (0..7).collect();
        assert_eq!(
            super::map(parts, |x| x * 10),
            vec![0, 10, 20, 30, 40, 50, 60]
        );
        assert_eq!(super::map(Vec::<u32>::new(), |x| x), Vec::<u32>::new());
    }

    #[test]
    fn join_runs_both_sides() {
        let mut left = 0;
        let mut right = 0;
        let (a, b) = super::join(
            || {
                left = 1;
                "a"
            },
            || {
                right = 2;
                "b"
            },
        );
        assert_eq!((a, b, left, right), ("a", "b", 1, 2));
    }
}
