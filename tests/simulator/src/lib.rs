//! A local fake of every backend failsoft talks to (a generic HTTP JSON source, Langfuse prompts,
//! Opik agent configs, OpenAI-compatible chat completions), with fault switches.
//!
//! Rust tests use it in-process through [`Simulator`]; other languages spawn the `failsoft-sim`
//! binary and drive its control port over HTTP. `tests/simulator/README.md` is the contract.
//!
//! ```no_run
//! use failsoft_sim::{Fault, FaultMode, Simulator};
//!
//! let sim = Simulator::start_default();
//! let kv = format!("{}/kv/greeting", sim.url()); // 200 {"text":"hello"}, ETag "1"
//! sim.set_fault("/kv/greeting", Fault::status(503).with_count(1)); // the next request gets 503
//! sim.set_fault("*", FaultMode::Refused); // the data port refuses connections
//! sim.heal("*"); // ... and listens again on the same port
//! println!("{kv} was asked {} times", sim.request_count("/kv/greeting"));
//! ```

mod control;
mod data;
mod faults;
mod fixture;
mod kv;
mod langfuse;
mod openai;
mod opik;
mod record;
mod relay;
mod request;
mod shared;
mod util;
mod wire;

use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use serde_json::{json, Value};

pub use crate::faults::{Fault, FaultMode, ALL_ROUTES};
pub use crate::fixture::default_fixture;
pub use crate::openai::DEFAULT_TARGET;
pub use crate::record::Counts;

use crate::relay::Relay;
use crate::shared::Shared;

/// A running simulator: a data port (the backends) and a control port. Dropping it stops both,
/// closes every connection and releases hung requests.
pub struct Simulator {
    shared: Arc<Shared>,
    servers: Vec<Arc<tiny_http::Server>>,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator").field("url", &self.url()).field("control", &self.control_url()).finish()
    }
}

impl Simulator {
    /// Starts a simulator serving `fixture` (see the README for its format).
    ///
    /// # Panics
    /// When the fixture is invalid or no port can be bound; use [`Simulator::try_start`] to handle that.
    pub fn start(fixture: Value) -> Simulator {
        Simulator::try_start(fixture).unwrap_or_else(|e| panic!("failsoft-sim: cannot start: {e}"))
    }

    /// Starts a simulator serving the built-in [`default_fixture`].
    pub fn start_default() -> Simulator {
        Simulator::start(default_fixture())
    }

    /// Starts a simulator serving `fixture`, or says why it cannot.
    pub fn try_start(fixture: Value) -> Result<Simulator, String> {
        let bind = |what: &str| {
            tiny_http::Server::http("127.0.0.1:0")
                .map(Arc::new)
                .map_err(|e| format!("cannot bind the {what} port: {e}"))
        };
        let internal = bind("internal data")?;
        let control = bind("control")?;
        let internal_addr =
            internal.server_addr().to_ip().ok_or("the internal data port has no IP address")?;
        let control_addr = control.server_addr().to_ip().ok_or("the control port has no IP address")?;
        let relay = Relay::start(internal_addr).map_err(|e| format!("cannot bind the data port: {e}"))?;
        let shared = Arc::new(Shared::new(fixture, relay, control_addr)?);
        let threads =
            vec![spawn_loop(&shared, &internal, data::serve), spawn_loop(&shared, &control, control::serve)];
        Ok(Simulator { shared, servers: vec![internal, control], threads })
    }

    /// The data base URL, `http://127.0.0.1:PORT`: the backend failsoft talks to.
    pub fn url(&self) -> String {
        self.shared.url()
    }

    /// The control base URL, `http://127.0.0.1:PORT` (a different port).
    pub fn control_url(&self) -> String {
        self.shared.control_url()
    }

    /// The OpenAI `base_url` of a named target: `{url}/t/{target}/v1`.
    pub fn openai_base_url(&self, target: &str) -> String {
        format!("{}/t/{target}/v1", self.url())
    }

    /// Logs every data request and control change to stderr.
    pub fn set_verbose(&self, on: bool) {
        self.shared.set_verbose(on);
    }

    /// Sets the fault of `route` (`*` or a path prefix such as `/kv/a`); [`FaultMode::Healthy`]
    /// removes it. Like `POST /_sim/fault`.
    ///
    /// # Panics
    /// On an invalid route, `count` with `refused` on `*`, or when the data port cannot be re-opened.
    pub fn set_fault(&self, route: &str, fault: impl Into<Fault>) {
        self.shared.set_fault(route, fault.into()).unwrap_or_else(|e| panic!("failsoft-sim: {e}"));
    }

    /// Removes the fault of `route`, releasing requests hung on it.
    pub fn heal(&self, route: &str) {
        self.set_fault(route, FaultMode::Healthy);
    }

    /// Removes every fault. Like `POST /_sim/faults/clear`.
    pub fn clear_faults(&self) {
        self.shared.clear_faults().unwrap_or_else(|e| panic!("failsoft-sim: {e}"));
    }

    /// The active faults, as `GET /_sim/faults` lists them.
    pub fn faults(&self) -> Value {
        self.shared.faults.to_json()
    }

    /// Clears faults, counts and recorded requests, and restores the fixture's data. Like `POST /_sim/reset`.
    pub fn reset(&self) {
        self.shared.reset().unwrap_or_else(|e| panic!("failsoft-sim: {e}"));
    }

    /// Sets a kv document, version = old + 1 (1 when new). Returns the version. Like `POST /_sim/kv`.
    pub fn set_value(&self, key: &str, value: Value) -> u64 {
        self.shared.stores().kv.set(key, value, None)
    }

    /// Sets a kv document with an explicit version (lower versions are allowed, to test rollbacks).
    pub fn set_value_version(&self, key: &str, value: Value, version: u64) -> u64 {
        self.shared.stores().kv.set(key, value, Some(version))
    }

    /// Deletes a kv document; false if it did not exist. Like `DELETE /_sim/kv/{key}`.
    pub fn delete_value(&self, key: &str) -> bool {
        self.shared.stores().kv.delete(key)
    }

    /// Publishes a Langfuse prompt version: `{"name","type","prompt","config","labels","tags","commitMessage"}`.
    /// Returns the version as the Langfuse API shows it. Like `POST /_sim/langfuse/prompts`.
    ///
    /// # Panics
    /// When `body` is not a valid prompt.
    pub fn publish_prompt(&self, body: Value) -> Value {
        self.shared.stores().langfuse.publish(&body).unwrap_or_else(|e| panic!("failsoft-sim: {e}"))
    }

    /// Deletes every version of a Langfuse prompt. Like `DELETE /_sim/langfuse/prompts/{name}`.
    pub fn delete_prompt(&self, name: &str) -> bool {
        self.shared.stores().langfuse.delete(name, None, None)
    }

    /// Deletes one version of a Langfuse prompt (`?version=N`).
    pub fn delete_prompt_version(&self, name: &str, version: u64) -> bool {
        self.shared.stores().langfuse.delete(name, Some(version), None)
    }

    /// Removes a label from a Langfuse prompt (`?label=L`).
    pub fn delete_prompt_label(&self, name: &str, label: &str) -> bool {
        self.shared.stores().langfuse.delete(name, None, Some(label))
    }

    /// Adds an Opik blueprint version `v(N+1)` to `project` (created if unknown) and moves `envs`
    /// to it. Returns the blueprint. Like `POST /_sim/opik/blueprints`.
    ///
    /// # Panics
    /// When `values` are not valid blueprint values.
    pub fn publish_blueprint(&self, project: &str, values: Value, envs: &[&str]) -> Value {
        let body = json!({"project": project, "values": values, "envs": envs});
        self.shared.stores().opik.publish(&body).unwrap_or_else(|e| panic!("failsoft-sim: {e}"))
    }

    /// Changes the chat completion text (the answer is `"<reply> [target=<target>]"`).
    pub fn set_openai_reply(&self, reply: &str) {
        let _ = self.shared.stores().openai.configure(&json!({ "reply": reply }));
    }

    /// Changes the pause between streamed chunks (default 5 ms).
    pub fn set_chunk_delay(&self, delay: Duration) {
        let _ = self.shared.stores().openai.configure(&json!({ "chunk_delay_ms": delay.as_millis() as u64 }));
    }

    /// The body of the last chat completion request `target` received. Like `GET /_sim/openai/last`.
    pub fn last_openai_request(&self, target: &str) -> Option<Value> {
        self.shared.stores().openai.last_request(target)
    }

    /// Requests the data port received for `path` (compared percent-decoded, query excluded).
    pub fn request_count(&self, path: &str) -> u64 {
        self.shared.recorder.counts().of(path)
    }

    /// Every count. Like `GET /_sim/counts`.
    pub fn counts(&self) -> Counts {
        self.shared.recorder.counts()
    }

    /// Forgets counts and recorded requests. Like `POST /_sim/counts/reset`.
    pub fn reset_counts(&self) {
        self.shared.recorder.reset();
    }

    /// The last 50 requests to `path`, oldest first. Like `GET /_sim/requests?path=`.
    pub fn requests(&self, path: &str) -> Vec<Value> {
        self.shared.recorder.requests(Some(path))
    }

    /// The current data of every backend. Like `GET /_sim/state`.
    pub fn state(&self) -> Value {
        self.shared.stores().to_json()
    }
}

fn spawn_loop(
    shared: &Arc<Shared>,
    server: &Arc<tiny_http::Server>,
    serve: fn(Arc<Shared>, Arc<tiny_http::Server>),
) -> JoinHandle<()> {
    let (shared, server) = (shared.clone(), server.clone());
    thread::spawn(move || serve(shared, server))
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.shared.stop();
        self.servers.iter().for_each(|s| s.unblock());
        self.threads.drain(..).for_each(|t| {
            let _ = t.join();
        });
    }
}
