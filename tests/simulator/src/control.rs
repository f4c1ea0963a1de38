//! The control port: fault switches, data changes and introspection under `/_sim/`.
//! It has its own listener, so it keeps working while the data port refuses connections.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use serde_json::{json, Value};

use crate::faults::Fault;
use crate::openai::DEFAULT_TARGET;
use crate::request::parse_query;
use crate::shared::Shared;
use crate::util;

/// A control answer: status and JSON body.
type Answer = (u16, Value);

/// Takes control requests from `server` until the simulator stops, each on its own thread.
pub(crate) fn serve(shared: Arc<Shared>, server: Arc<tiny_http::Server>) {
    loop {
        match server.recv() {
            Ok(request) => {
                let shared = shared.clone();
                thread::spawn(move || handle(&shared, request));
            }
            Err(_) if shared.stopping() => return,
            Err(e) => {
                shared.log(&format!("control server error: {e}"));
                thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

fn handle(shared: &Shared, mut request: tiny_http::Request) {
    let url = request.url().to_owned();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let mut body = Vec::new();
    let _ = request.as_reader().read_to_end(&mut body);
    let method = request.method().as_str().to_ascii_uppercase();
    let (status, answer) = dispatch(shared, &method, path, &parse_query(query), &body);
    let content_type = tiny_http::Header::from_bytes("Content-Type", "application/json").ok();
    let mut response = tiny_http::Response::from_string(answer.to_string()).with_status_code(status);
    if let Some(header) = content_type {
        response = response.with_header(header);
    }
    let _ = request.respond(response);
}

fn ok() -> Answer {
    (200, json!({"ok": true}))
}

fn failed(status: u16, message: impl Into<String>) -> Answer {
    (status, json!({"message": message.into()}))
}

fn from_result(result: Result<Value, String>) -> Answer {
    result.map_or_else(|e| failed(400, e), |v| (200, v))
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// Routes one control call.
pub(crate) fn dispatch(
    shared: &Shared,
    method: &str,
    path: &str,
    params: &[(String, String)],
    body: &[u8],
) -> Answer {
    let json_body = || serde_json::from_slice::<Value>(body).map_err(|e| format!("body is not JSON: {e}"));
    let with_body = |f: &dyn Fn(Value) -> Answer| json_body().map_or_else(|e| failed(400, e), f);
    match (method, path) {
        ("GET", "/_sim/health") => ok(),
        ("GET", "/_sim/info") => (200, json!({"url": shared.url(), "control": shared.control_url()})),
        ("POST", "/_sim/fault") => with_body(&|b| set_fault(shared, &b)),
        ("GET", "/_sim/faults") => (200, shared.faults.to_json()),
        ("POST", "/_sim/faults/clear") => shared.clear_faults().map_or_else(|e| failed(500, e), |_| ok()),
        ("POST", "/_sim/reset") => shared.reset().map_or_else(|e| failed(500, e), |_| ok()),
        ("POST", "/_sim/kv") => with_body(&|b| from_result(set_kv(shared, &b))),
        ("POST", "/_sim/langfuse/prompts") => {
            with_body(&|b| from_result(shared.stores().langfuse.publish(&b)))
        }
        ("POST", "/_sim/opik/blueprints") => with_body(&|b| from_result(shared.stores().opik.publish(&b))),
        ("POST", "/_sim/openai") => with_body(&|b| from_result(configure_openai(shared, &b))),
        ("GET", "/_sim/openai/last") => last_openai_request(shared, param(params, "target")),
        ("GET", "/_sim/counts") => (200, shared.recorder.counts().to_json()),
        ("POST", "/_sim/counts/reset") => {
            shared.recorder.reset();
            ok()
        }
        ("GET", "/_sim/requests") => (200, Value::Array(shared.recorder.requests(param(params, "path")))),
        ("GET", "/_sim/state") => (200, shared.stores().to_json()),
        ("DELETE", _) => delete(shared, path, params),
        _ => failed(404, format!("unknown control call: {method} {path}")),
    }
}

fn set_fault(shared: &Shared, body: &Value) -> Answer {
    match Fault::from_json(body) {
        Ok((route, fault)) => shared.set_fault(&route, fault).map_or_else(|e| failed(400, e), |_| ok()),
        Err(e) => failed(400, e),
    }
}

fn set_kv(shared: &Shared, body: &Value) -> Result<Value, String> {
    let key = util::required_str(body, "key")?;
    let value = body.get("value").cloned().ok_or("'value' is required")?;
    let version = shared.stores().kv.set(key, value, util::u64_field(body, "version")?);
    Ok(json!({"key": key, "version": version}))
}

fn configure_openai(shared: &Shared, body: &Value) -> Result<Value, String> {
    let mut stores = shared.stores();
    stores.openai.configure(body)?;
    Ok(stores.openai.to_json())
}

fn last_openai_request(shared: &Shared, target: Option<&str>) -> Answer {
    let target = target.unwrap_or(DEFAULT_TARGET);
    match shared.stores().openai.last_request(target) {
        Some(body) => (200, body),
        None => failed(404, format!("target '{target}' received no request")),
    }
}

/// `DELETE /_sim/kv/{key}` and `DELETE /_sim/langfuse/prompts/{name}[?version=N|?label=L]`.
fn delete(shared: &Shared, path: &str, params: &[(String, String)]) -> Answer {
    let mut stores = shared.stores();
    let deleted = if let Some(key) = path.strip_prefix("/_sim/kv/") {
        stores.kv.delete(&util::decode(key))
    } else if let Some(name) = path.strip_prefix("/_sim/langfuse/prompts/") {
        let version = match param(params, "version").map(str::parse::<u64>).transpose() {
            Ok(version) => version,
            Err(_) => return failed(400, "'version' must be an integer"),
        };
        stores.langfuse.delete(&util::decode(name), version, param(params, "label"))
    } else {
        return failed(404, format!("unknown control call: DELETE {path}"));
    };
    if deleted {
        (200, json!({"deleted": true}))
    } else {
        failed(404, format!("nothing to delete at {path}"))
    }
}
