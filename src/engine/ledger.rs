//! The engine's memory accounting: a ledger of managed bytes (total, per worker, peak) kept in
//! atomics that a sampler can read at any time, and [`Tracked`], a byte buffer that reserves its
//! length in the ledger before it is allocated and gives it back when dropped, so counts cannot
//! drift. A memory limit is enforced at reservation: a buffer that would take the total over it is
//! refused before a byte is allocated.

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters the engine updates and a sampler reads.
#[derive(Debug, Clone)]
pub struct EngineGauges {
    /// Managed bytes held by the whole engine: client, scheduler, messages in flight, workers.
    pub managed_total: Arc<AtomicU64>,
    /// Managed bytes held by each worker (its tasks' arguments, results, copies, scattered data).
    pub managed_per_worker: Vec<Arc<AtomicU64>>,
    /// Tasks finished in the current run.
    pub tasks_done: Arc<AtomicU64>,
    /// Tasks in the current run's graph (0 before the first run).
    pub tasks_total: Arc<AtomicU64>,
}

/// A reservation refused because it would take managed bytes over the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitExceeded {
    /// The limit.
    pub limit_bytes: u64,
    /// Managed bytes when the reservation was refused.
    pub managed_bytes: u64,
    /// Bytes asked for.
    pub requested_bytes: u64,
}

impl std::fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "memory limit of {} reached: {} managed, {} more needed",
            crate::units::Bytes(self.limit_bytes),
            crate::units::Bytes(self.managed_bytes),
            crate::units::Bytes(self.requested_bytes)
        )
    }
}

/// The shared accounting of one engine.
#[derive(Debug)]
pub struct Ledger {
    gauges: EngineGauges,
    peak: AtomicU64,
    limit_bytes: Option<u64>,
}

impl Ledger {
    /// A ledger with `workers` per-worker counters, all zero.
    pub fn new(workers: usize, limit_bytes: Option<u64>) -> Arc<Ledger> {
        Arc::new(Ledger {
            gauges: EngineGauges {
                managed_total: Arc::new(AtomicU64::new(0)),
                managed_per_worker: (0..workers).map(|_| Arc::new(AtomicU64::new(0))).collect(),
                tasks_done: Arc::new(AtomicU64::new(0)),
                tasks_total: Arc::new(AtomicU64::new(0)),
            },
            peak: AtomicU64::new(0),
            limit_bytes,
        })
    }

    /// The counters, to hand to a sampler.
    pub fn gauges(&self) -> &EngineGauges {
        &self.gauges
    }

    /// Managed bytes now.
    pub fn managed(&self) -> u64 {
        self.gauges.managed_total.load(Ordering::Acquire)
    }

    /// Managed bytes held by one worker now.
    pub fn managed_by(&self, worker: usize) -> u64 {
        self.gauges.managed_per_worker[worker].load(Ordering::Acquire)
    }

    /// Highest managed total since the last [`Ledger::reset_peak`].
    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Acquire)
    }

    /// Starts a new peak from the current level.
    pub fn reset_peak(&self) {
        self.peak.store(self.managed(), Ordering::Release);
    }

    fn reserve(&self, bytes: u64, worker: Option<u32>) -> Result<(), LimitExceeded> {
        let total = &self.gauges.managed_total;
        let now = match self.limit_bytes {
            None => total.fetch_add(bytes, Ordering::AcqRel) + bytes,
            Some(limit) => {
                let mut current = total.load(Ordering::Acquire);
                loop {
                    let next = current.saturating_add(bytes);
                    if next > limit {
                        return Err(LimitExceeded {
                            limit_bytes: limit,
                            managed_bytes: current,
                            requested_bytes: bytes,
                        });
                    }
                    match total.compare_exchange_weak(
                        current,
                        next,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    ) {
                        Ok(_) => break next,
                        Err(actual) => current = actual,
                    }
                }
            }
        };
        if let Some(worker) = worker {
            self.gauges.managed_per_worker[worker as usize].fetch_add(bytes, Ordering::AcqRel);
        }
        self.peak.fetch_max(now, Ordering::AcqRel);
        Ok(())
    }

    fn release(&self, bytes: u64, worker: Option<u32>) {
        if let Some(worker) = worker {
            self.gauges.managed_per_worker[worker as usize].fetch_sub(bytes, Ordering::AcqRel);
        }
        self.gauges.managed_total.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// Who a buffer is charged to: the engine as a whole, or one worker as well.
#[derive(Debug, Clone)]
pub struct Account {
    ledger: Arc<Ledger>,
    worker: Option<u32>,
}

impl Account {
    /// Charged to the engine only (client, scheduler, messages in flight).
    pub fn engine(ledger: &Arc<Ledger>) -> Account {
        Account {
            ledger: Arc::clone(ledger),
            worker: None,
        }
    }

    /// Charged to the engine and to `worker`.
    pub fn worker(ledger: &Arc<Ledger>, worker: u32) -> Account {
        Account {
            ledger: Arc::clone(ledger),
            worker: Some(worker),
        }
    }

    /// A zeroed buffer of `len` bytes, reserved before it is allocated.
    pub fn zeroed(&self, len: usize) -> Result<Tracked, LimitExceeded> {
        self.ledger.reserve(len as u64, self.worker)?;
        Ok(Tracked {
            bytes: vec![0u8; len],
            account: self.clone(),
        })
    }

    /// A copy of `bytes` (a deserialisation or a transfer).
    pub fn copy_of(&self, bytes: &[u8]) -> Result<Tracked, LimitExceeded> {
        self.ledger.reserve(bytes.len() as u64, self.worker)?;
        Ok(Tracked {
            bytes: bytes.to_vec(),
            account: self.clone(),
        })
    }

    /// A buffer of exactly `len` bytes filled by `fill`, which must push exactly `len` bytes.
    pub fn filled(
        &self,
        len: usize,
        fill: impl FnOnce(&mut Vec<u8>),
    ) -> Result<Tracked, LimitExceeded> {
        self.ledger.reserve(len as u64, self.worker)?;
        let mut bytes = Vec::with_capacity(len);
        fill(&mut bytes);
        // Keep the count exact whatever `fill` did.
        bytes.resize(len, 0);
        bytes.shrink_to_fit();
        Ok(Tracked {
            bytes,
            account: self.clone(),
        })
    }
}

/// Bytes held by the engine, counted in its ledger from creation to drop.
#[derive(Debug)]
pub struct Tracked {
    bytes: Vec<u8>,
    account: Account,
}

impl Deref for Tracked {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.account
            .ledger
            .release(self.bytes.len() as u64, self.account.worker);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_buffers_exactly() {
        let ledger = Ledger::new(2, None);
        let a = Account::worker(&ledger, 1).zeroed(100).unwrap();
        let b = Account::engine(&ledger).copy_of(&[1, 2, 3]).unwrap();
        assert_eq!(ledger.managed(), 103);
        assert_eq!(ledger.managed_by(1), 100);
        assert_eq!(ledger.managed_by(0), 0);
        drop(a);
        assert_eq!(ledger.managed(), 3);
        assert_eq!(ledger.managed_by(1), 0);
        assert_eq!(ledger.peak(), 103);
        drop(b);
        assert_eq!(ledger.managed(), 0);
    }

    #[test]
    fn the_limit_refuses_before_allocating() {
        let ledger = Ledger::new(1, Some(150));
        let account = Account::worker(&ledger, 0);
        let kept = account.zeroed(100).unwrap();
        let refused = account.zeroed(51).unwrap_err();
        assert_eq!(refused.managed_bytes, 100);
        assert_eq!(ledger.managed(), 100);
        assert_eq!(ledger.peak(), 100);
        let filled = account.filled(50, |bytes| bytes.push(7)).unwrap();
        assert_eq!(filled.len(), 50);
        assert_eq!(ledger.managed(), 150);
        drop((kept, filled));
        assert_eq!(ledger.managed(), 0);
    }
}
