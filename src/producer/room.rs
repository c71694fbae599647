//! Room in an instance's local queue: how a worker that got `QueueFull` waits for it.
//!
//! librdkafka frees queue room when the application destroys a delivery-report event, so the
//! delivery thread bumps a generation after each one and wakes the workers that wait. A worker
//! reads the generation before its send and, refused, sleeps until the generation moves (at most
//! [`MAX_WAIT`]): a report that came between the send and the wait is never missed, and nothing
//! polls. rdkafka_performance blocks the same way, in `rd_kafka_poll`. A fixed 50 µs sleep loop
//! here cost up to half of kbench's CPU on a slow real cluster (one context switch per turn).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// The longest a refused worker waits without a report (it then tries again, and checks whether
/// the run was stopped).
pub const MAX_WAIT: Duration = Duration::from_millis(10);

#[derive(Debug, Default)]
pub struct Room {
    generation: AtomicU64,
    waiting: AtomicUsize,
    lock: Mutex<()>,
    wake: Condvar,
}

impl Room {
    /// The generation to wait past if the next send is refused.
    #[inline]
    pub fn generation(&self) -> u64 {
        self.generation.load(SeqCst)
    }

    /// Room was freed (a delivery-report event was destroyed): wakes the waiting workers.
    #[inline]
    pub fn freed(&self) {
        self.generation.fetch_add(1, SeqCst);
        if self.waiting.load(SeqCst) > 0 {
            // Under the lock, so a worker is either before its check (and sees the new
            // generation) or asleep (and is woken).
            let _held = self.lock.lock().unwrap_or_else(|p| p.into_inner());
            self.wake.notify_all();
        }
    }

    /// Sleeps until the generation is no longer `seen`, or `max` has passed.
    pub fn wait_past(&self, seen: u64, max: Duration) {
        self.waiting.fetch_add(1, SeqCst);
        let deadline = Instant::now() + max;
        let mut held = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        while self.generation.load(SeqCst) == seen {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            held = self
                .wake
                .wait_timeout(held, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        drop(held);
        self.waiting.fetch_sub(1, SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_report_before_the_wait_is_not_missed() {
        let room = Room::default();
        let seen = room.generation();
        room.freed();
        // Would sleep for an hour if the earlier report were missed.
        room.wait_past(seen, Duration::from_secs(3600));
        assert_eq!(room.generation(), seen + 1);
    }

    #[test]
    fn a_waiting_worker_is_woken_by_the_next_report() {
        let room = Arc::new(Room::default());
        let seen = room.generation();
        let r = room.clone();
        let waiter = std::thread::spawn(move || r.wait_past(seen, Duration::from_secs(3600)));
        // Reports keep coming until the waiter is gone: one of them wakes it (a lost wake-up
        // would leave it asleep for an hour, and this test hanging).
        while !waiter.is_finished() {
            room.freed();
            std::thread::yield_now();
        }
        waiter.join().unwrap();
        assert_eq!(room.waiting.load(SeqCst), 0);
    }
}
