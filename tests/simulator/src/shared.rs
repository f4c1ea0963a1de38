//! The state every handler shares, and the operations both the control port and the Rust API use.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;

use crate::faults::{Fault, FaultMode, Faults, ALL_ROUTES};
use crate::fixture::Stores;
use crate::record::Recorder;
use crate::relay::Relay;

pub(crate) struct Shared {
    fixture: Value,
    stores: Mutex<Stores>,
    pub faults: Faults,
    pub recorder: Recorder,
    pub relay: Relay,
    pub control_addr: SocketAddr,
    stopping: AtomicBool,
    verbose: AtomicBool,
}

impl Shared {
    pub fn new(fixture: Value, relay: Relay, control_addr: SocketAddr) -> Result<Shared, String> {
        let stores = Stores::from_fixture(&fixture)?;
        Ok(Shared {
            fixture,
            stores: Mutex::new(stores),
            faults: Faults::default(),
            recorder: Recorder::default(),
            relay,
            control_addr,
            stopping: AtomicBool::new(false),
            verbose: AtomicBool::new(false),
        })
    }

    /// The data, locked. Hold it only while computing an answer, never while sending it.
    pub fn stores(&self) -> MutexGuard<'_, Stores> {
        self.stores.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.relay.addr())
    }

    pub fn control_url(&self) -> String {
        format!("http://{}", self.control_addr)
    }

    /// Sets the fault of `route` (`*` or a path starting with `/`); `refused` on `*` closes the
    /// data port, any other setting of `*` re-opens it on the same port.
    pub fn set_fault(&self, route: &str, fault: Fault) -> Result<(), String> {
        if route != ALL_ROUTES && !route.starts_with('/') {
            return Err(format!("route must be '*' or start with '/': '{route}'"));
        }
        if route == ALL_ROUTES && fault.mode == FaultMode::Refused && fault.count.is_some() {
            return Err("'count' cannot limit 'refused' on '*': refused connections never arrive".into());
        }
        self.log(&format!("fault {route} -> {}", fault.mode.name()));
        self.faults.set(route, fault);
        self.sync_listener()
    }

    /// Removes every fault (hung requests are released) and re-opens the data port.
    pub fn clear_faults(&self) -> Result<(), String> {
        self.faults.clear();
        self.sync_listener()
    }

    /// Clears faults, counts and recorded requests, and restores the fixture's data.
    pub fn reset(&self) -> Result<(), String> {
        *self.stores() = Stores::from_fixture(&self.fixture)?;
        self.recorder.reset();
        self.clear_faults()
    }

    fn sync_listener(&self) -> Result<(), String> {
        if self.faults.all_refused() {
            self.relay.close();
            Ok(())
        } else {
            self.relay.open().map_err(|e| format!("cannot listen again on {}: {e}", self.relay.addr()))
        }
    }

    /// Stops for good: hung requests are released, every connection is closed.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.faults.stop();
        self.relay.close();
    }

    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    pub fn set_verbose(&self, on: bool) {
        self.verbose.store(on, Ordering::Relaxed);
    }

    /// A line on stderr when verbose.
    pub fn log(&self, line: &str) {
        if self.verbose.load(Ordering::Relaxed) {
            eprintln!("failsoft-sim: {line}");
        }
    }
}
