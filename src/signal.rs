//! Ctrl-C and SIGTERM. The first signal stops sending and lets outstanding deliveries drain for the
//! grace period; the second skips the rest of the wait. Either way the result is written with
//! `status = "interrupted"` and kbench exits with 130.

use std::sync::Arc;

use tokio::sync::watch;

/// Counts interrupt signals received by the process.
#[derive(Debug, Clone)]
pub struct Interrupts {
    tx: Arc<watch::Sender<u32>>,
}

impl Interrupts {
    /// Starts listening for Ctrl-C and SIGTERM (must run inside the tokio runtime).
    pub fn listen() -> Self {
        let me = Interrupts::none();
        let tx = me.tx.clone();
        tokio::spawn(async move {
            #[cfg(unix)]
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            loop {
                #[cfg(unix)]
                let terminated = async {
                    match term.as_mut() {
                        Some(t) => {
                            t.recv().await;
                        }
                        None => std::future::pending::<()>().await,
                    }
                };
                #[cfg(not(unix))]
                let terminated = std::future::pending::<()>();
                tokio::select! {
                    r = tokio::signal::ctrl_c() => if r.is_err() { return },
                    _ = terminated => {}
                }
                tx.send_modify(|n| *n += 1);
            }
        });
        me
    }

    /// A source that only [`Interrupts::raise`] fires (tests, library use).
    pub fn none() -> Self {
        Interrupts {
            tx: Arc::new(watch::channel(0u32).0),
        }
    }

    /// Signals received so far.
    pub fn count(&self) -> u32 {
        *self.tx.borrow()
    }

    /// Acts as if a signal arrived.
    pub fn raise(&self) {
        self.tx.send_modify(|n| *n += 1);
    }

    /// Resolves once at least `n` signals have arrived.
    pub async fn at_least(&self, n: u32) {
        let mut rx = self.tx.subscribe();
        let _ = rx.wait_for(|c| *c >= n).await;
    }
}
