//! Background threads that act on a store at a fixed interval until the store is dropped.

use std::io;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Weak};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::shared::Shared;

/// Runs `task` on a store every interval, on its own thread, until dropped.
#[derive(Debug)]
pub(crate) struct Periodic {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Periodic {
    pub(crate) fn start(
        shared: &Arc<Shared>,
        every: Duration,
        name: &str,
        task: fn(&Shared),
    ) -> io::Result<Self> {
        let shared: Weak<Shared> = Arc::downgrade(shared);
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    let Some(shared) = shared.upgrade() else {
                        return;
                    };
                    task(&shared);
                }
            })?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Periodic {
    fn drop(&mut self) {
        // Closing the channel wakes the thread, which then returns.
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
