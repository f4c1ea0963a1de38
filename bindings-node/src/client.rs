//! `NativeClient`: a core `Client` plus the per-key slots that let warm reads return a number.

use crate::convert::{
    js_error, lock, opt_seconds, str_err, ErrorInfo, COLD, FAILED, FALLBACK, GEN_MASK, GEN_SHIFT, SNAPSHOT,
};
use crate::fast::BROKEN;
use crate::waiters;
use failsoft::config::{cached_config, config_key, get_or_create_config, ConfigOptions};
use failsoft::prompt::{prompt_key, Prompt};
use failsoft::{
    Change, Client, ClientSpec, Error, Fallback, Key, Payload, PrefetchError, ReadOptions, Value, ValueSource,
};
use napi::bindgen_prelude::{Function, Object, Unknown};
use napi::threadsafe_function::ThreadsafeFunctionCallMode;
use napi::Env;
use napi_derive::napi;
use serde_json::{Map, Value as Json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Errors thrown to JS carry the core kind's code (`NOT_FOUND`, ...) as their `code`.
type Result<T, E = napi::Error<String>> = std::result::Result<T, E>;

/// What a slot's reads return, and so how a payload is converted.
enum Kind {
    /// The data as it is (`get`).
    Plain,
    /// The prompt JSON (`Prompt::from_json(..).data_json()`), parsed once per payload.
    Prompt,
    /// A config declared by these fields, read through `config::get_or_create_config`.
    Config { fields: Map<String, Json> },
}

/// What reads on the JS thread remember about one key: the last read with a payload, its data
/// converted for the kind, and the last read's code and error, read back right after the read.
struct Slot {
    key: Key,
    kind: Kind,
    /// The last read that served a payload (not a fallback), for `Value::same_read`.
    last: Option<Value>,
    /// `last`'s data converted for `kind`, made once per fetched data (`Value::same_payload`).
    data: Option<Result<Arc<Json>, Arc<Error>>>,
    /// Bumped with `data`: the JS side converts the data to JS once per generation.
    data_gen: u32,
    /// Bumped when a read is not the same read as `last`, so an unchanged code is an unchanged
    /// read (the JS side hands out the same object). Never 0: a code with a payload is never a
    /// bare source.
    gen: u32,
    code: u32,
    error: Option<Arc<Error>>,
}

#[derive(Default)]
struct Slots {
    list: Vec<Slot>,
    /// Slots by key and kind (a config's: its fields as JSON text), so one key read one way has
    /// one slot.
    index: HashMap<(Key, String), u32>,
}

impl Slots {
    fn id_for(&mut self, key: Key, kind: Kind) -> u32 {
        let index_key = match &kind {
            Kind::Plain => (key.clone(), String::new()),
            Kind::Prompt => (key.clone(), "prompt".into()),
            Kind::Config { fields } => (key.clone(), Json::Object(fields.clone()).to_string()),
        };
        let list = &mut self.list;
        *self.index.entry(index_key).or_insert_with(|| {
            list.push(Slot {
                key,
                kind,
                last: None,
                data: None,
                data_gen: 0,
                gen: 0,
                code: COLD,
                error: None,
            });
            list.len() as u32 - 1
        })
    }

    fn get(&mut self, id: u32) -> Result<&mut Slot> {
        self.list
            .get_mut(id as usize)
            .ok_or_else(|| napi::Error::new("INVALID_ARGUMENT".to_string(), format!("unknown slot {id}")))
    }
}

impl Slot {
    fn convert(&self, p: &Arc<Payload>) -> Result<Arc<Json>, Arc<Error>> {
        match self.kind {
            Kind::Plain | Kind::Config { .. } => Ok(p.data.clone()),
            Kind::Prompt => Prompt::from_json(&p.data)
                .map(|pr| Arc::new(pr.data_json()))
                .map_err(|e| Arc::new(if e.key.is_empty() { e.with_key(&self.key) } else { e })),
        }
    }

    /// Records a read's answer; returns its code (source, and the read's generation when it
    /// served a payload).
    fn apply(&mut self, result: std::result::Result<Value, Error>) -> u32 {
        self.code = self.record(result);
        self.code
    }

    /// The code of a read's answer; keeps what the JS side reads back (`slotRead`).
    fn record(&mut self, result: std::result::Result<Value, Error>) -> u32 {
        let v = match result {
            Ok(v) => v,
            Err(e) => {
                self.error = Some(Arc::new(e));
                return FAILED;
            }
        };
        self.error = v.error.clone();
        if v.source == ValueSource::Fallback {
            return FALLBACK;
        }
        let code = v.source as u32;
        // A config's result is its checked data alone: the core makes it once per version (and
        // re-dates it on every read after a renewal, which same_read would count as a new read).
        let config = matches!(self.kind, Kind::Config { .. });
        if !self.last.as_ref().is_some_and(|l| if config { l.same_payload(&v) } else { l.same_read(&v) }) {
            if !self.last.as_ref().is_some_and(|l| l.same_payload(&v)) {
                self.data = Some(self.convert(&v.payload));
                self.data_gen = self.data_gen.wrapping_add(1);
            }
            self.gen = self.gen % GEN_MASK + 1;
            self.last = Some(v);
        }
        if let Some(Err(e)) = &self.data {
            self.error = Some(e.clone());
            return FAILED;
        }
        code | self.gen << GEN_SHIFT
    }

    /// A read the slot does not keep, for JS: its code is a bare source (no generation, so the
    /// JS side keeps nothing either), with its data always.
    fn unkept_info(&self, v: &Value) -> SlotRead {
        let (code, data, error) = match self.convert(&v.payload) {
            Ok(data) => (v.source as u32, Some(Json::clone(&data)), v.error.as_deref().map(ErrorInfo::from)),
            Err(e) => (FAILED, None, Some(ErrorInfo::from(&*e))),
        };
        SlotRead {
            code,
            data_gen: self.data_gen,
            data,
            version: v.payload.version,
            age: v.payload.age().as_secs_f64(),
            error,
        }
    }

    /// The last read for JS; with its data unless the JS side holds generation `known`.
    fn read_info(&self, known: Option<u32>) -> SlotRead {
        let payload = self.last.as_ref().filter(|_| self.code & 7 <= SNAPSHOT).map(|v| &v.payload);
        let data = match &self.data {
            Some(Ok(data)) if payload.is_some() && known != Some(self.data_gen) => Some(Json::clone(data)),
            _ => None,
        };
        SlotRead {
            code: self.code,
            data_gen: self.data_gen,
            data,
            version: payload.and_then(|p| p.version),
            age: payload.map_or(0.0, |p| p.age().as_secs_f64()),
            error: self.error.as_deref().map(ErrorInfo::from),
        }
    }
}

/// The core client, shared by the JS object, its read function and the waiter threads. The last
/// one to let go closes it on a thread of its own: closing may wait (bounded) for a hung
/// refresh, which must delay neither a garbage collection on the JS thread nor process exit
/// (where that thread simply dies with the process).
pub(crate) struct Owned(Option<Client>);

impl std::ops::Deref for Owned {
    type Target = Client;

    fn deref(&self) -> &Client {
        self.0.as_ref().expect("the client lives until dropped")
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        let Some(client) = self.0.take().filter(|c| !c.is_closed()) else { return };
        let closing =
            std::thread::Builder::new().name("failsoft-node-close".into()).spawn(move || drop(client));
        if let Err(e) = closing {
            log::warn!(
                "could not start a thread to close a dropped client ({e}); its threads stop with the process"
            );
        }
    }
}

/// `flags` of a fast read: the caller has a fallback.
const READ_FALLBACK: u32 = 1;
/// `flags` of a fast read: only what the cache holds (`Client::peek`), `COLD` when it holds
/// nothing.
const READ_WARM_ONLY: u32 = 2;

/// A read on the JS thread, never waiting: `Client::get_nowait`, or with `READ_WARM_ONLY`
/// `Client::peek` (`COLD` when nothing is cached). Returns the read code; errors are in the slot.
fn read_now(client: &Client, slots: &Mutex<Slots>, slot: u32, flags: u32, ttl_seconds: f64) -> u32 {
    let mut slots = lock(slots);
    let Ok(s) = slots.get(slot) else { return BROKEN };
    let ttl = match opt_seconds("ttl_seconds", ttl_seconds) {
        Ok(t) => t,
        Err(e) => return s.apply(Err(Error::invalid_argument(e.reason).with_key(&s.key))),
    };
    if flags & READ_WARM_ONLY == 0 {
        let r = client.get_nowait(&s.key, read_options(flags & READ_FALLBACK != 0, ttl));
        return s.apply(r);
    }
    // The cache's value, fresh or stale, without counting or starting anything when there is
    // none (nor with TTL 0, which fetches on every read): then the read must wait.
    // A config answers only once the core checked its version against this slot's fields (a
    // new version goes through `readWait` once).
    let warm = match &s.kind {
        Kind::Config { fields } => cached_config(client, &s.key, ttl, Some(fields)),
        _ => client.peek(&s.key, ttl),
    };
    let Some(v) = warm else { return COLD };
    s.apply(Ok(v))
}

fn read_options(has_fallback: bool, ttl: Option<Duration>) -> ReadOptions<'static> {
    ReadOptions {
        ttl,
        // The core only decides *whether* the fallback is served; the JS side produces it
        // (calling a fallback function on the JS thread only then), so a placeholder stands in.
        fallback: has_fallback.then_some(Fallback::Value(Json::Null)),
        ..Default::default()
    }
}

/// A slot's last read as the JS side turns it into a result.
#[napi(object)]
pub struct SlotRead {
    pub code: u32,
    /// The generation of the slot's data; `data` is left out when the caller holds it already.
    pub data_gen: u32,
    pub data: Option<serde_json::Value>,
    pub version: Option<i64>,
    /// Seconds since the data was fetched, when this was built.
    pub age: f64,
    pub error: Option<ErrorInfo>,
}

/// One key `prefetch` could not fetch.
#[napi(object)]
pub struct PrefetchFailure {
    pub key: String,
    pub error: ErrorInfo,
}

#[napi(object)]
pub struct PrefetchReport {
    pub succeeded: Vec<String>,
    pub failures: Vec<PrefetchFailure>,
    /// The core's summary of the failures (empty when none).
    pub message: String,
}

/// A failsoft client. Built from the options JSON every language shares (`ClientSpec`).
#[napi]
pub struct NativeClient {
    client: Arc<Owned>,
    slots: Arc<Mutex<Slots>>,
    listeners: Mutex<Vec<u64>>,
}

#[napi]
impl NativeClient {
    /// `options`: `{source: {kind, ...}, ttl_seconds, cold_deadline_seconds, snapshot_dir, ...}`,
    /// exactly the C options JSON. Never touches the network.
    #[napi(constructor)]
    pub fn new(options: serde_json::Value) -> Result<Self> {
        crate::logger::init();
        let client = ClientSpec::from_value(options).and_then(|s| s.build()).map_err(|e| js_error(&e))?;
        Ok(NativeClient {
            client: Arc::new(Owned(Some(client))),
            slots: Arc::default(),
            listeners: Mutex::default(),
        })
    }

    /// The slot of a key given in its canonical text form (`name`, `name@label:x`, ...).
    #[napi]
    pub fn slot(&self, key: String) -> u32 {
        lock(&self.slots).id_for(Key::parse(&key), Kind::Plain)
    }

    /// The slot of a prompt (`prompt_key`: no label is label `production`).
    #[napi]
    pub fn prompt_slot(&self, name: String, label: Option<String>, version: Option<u32>) -> Result<u32> {
        let key = prompt_key(&name, label.as_deref(), version.map(u64::from)).map_err(|e| js_error(&e))?;
        Ok(lock(&self.slots).id_for(key, Kind::Prompt))
    }

    /// The slot of a config declared by `fields` (`config_key` of the source's project).
    #[napi]
    pub fn config_slot(
        &self,
        env: Option<String>,
        version: Option<String>,
        fields: Map<String, Json>,
    ) -> Result<u32> {
        let key = config_key("", env.as_deref(), version.as_deref()).map_err(|e| js_error(&e))?;
        Ok(lock(&self.slots).id_for(key, Kind::Config { fields }))
    }

    /// The read function of this client (see `fast.rs`): `read(slot, flags, ttlSeconds)` →
    /// read code, with `flags` `READ_FALLBACK` (the caller has a fallback) and `READ_WARM_ONLY`
    /// (only what the cache holds, else `COLD`: an awaited read then waits with `readWait`).
    /// NaN: the client's TTL.
    #[napi(ts_return_type = "(slot: number, flags: number, ttlSeconds: number) => number")]
    pub fn reader<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
        let (client, slots) = (self.client.clone(), self.slots.clone());
        crate::fast::reader(env, move |slot, flags, ttl| read_now(&client, &slots, slot, flags, ttl))
            .map_err(str_err)
    }

    /// A read that may wait (`Client::get_with`, or `config::get_or_create_config` for a config
    /// slot), on a thread of its own; the Promise settles on the JS thread with the whole answer.
    #[napi(ts_return_type = "Promise<SlotRead>")]
    pub fn read_wait<'env>(
        &self,
        env: &'env Env,
        slot: u32,
        has_fallback: bool,
        ttl_seconds: f64,
        create: bool,
    ) -> Result<Object<'env>> {
        let ttl = opt_seconds("ttl_seconds", ttl_seconds)?;
        let (key, fields) = {
            let mut slots = lock(&self.slots);
            let s = slots.get(slot)?;
            let fields = match &s.kind {
                Kind::Config { fields } => Some(fields.clone()),
                _ => None,
            };
            (s.key.clone(), fields)
        };
        let (client, slots) = (self.client.clone(), self.slots.clone());
        let read = move || match &fields {
            Some(fields) => {
                let opts = ConfigOptions { ttl, cold_deadline: None, create };
                get_or_create_config(&client, &key, fields, opts)
            }
            None => client.get_with(&key, read_options(has_fallback, ttl)),
        };
        let settle = move |result: std::result::Result<Value, Error>| {
            let mut slots = lock(&slots);
            let s = slots.get(slot).map_err(|e| napi::Error::from_reason(e.reason))?;
            // A sync read may have moved the slot to a newer fetch meanwhile, and an older one
            // never replaces it (the next read would count it as a change and convert again).
            let newer =
                |v: &&Value| s.last.as_ref().is_some_and(|l| l.payload.fetched_at > v.payload.fetched_at);
            if let Some(v) = result.as_ref().ok().filter(|v| !v.is_fallback() && newer(v)) {
                return Ok(s.unkept_info(v));
            }
            s.apply(result);
            Ok(s.read_info(None))
        };
        waiters::promise(env, read, settle)
    }

    /// The slot's last read, with its data unless the caller holds generation `data_gen`.
    #[napi]
    pub fn slot_read(&self, slot: u32, data_gen: Option<u32>) -> Result<SlotRead> {
        Ok(lock(&self.slots).get(slot)?.read_info(data_gen))
    }

    /// Fetches `keys` in parallel on a thread of their own, each bounded by the deadline
    /// (seconds; NaN: the cold deadline). Settles with the per-key report.
    #[napi(ts_return_type = "Promise<PrefetchReport>")]
    pub fn prefetch<'env>(
        &self,
        env: &'env Env,
        keys: Vec<String>,
        deadline_seconds: f64,
    ) -> Result<Object<'env>> {
        let deadline = opt_seconds("deadline_seconds", deadline_seconds)?;
        let keys: Vec<Key> = keys.iter().map(|k| Key::parse(k)).collect();
        let client = self.client.clone();
        let prefetch = move || {
            // A prefetch that succeeded is a report without failures.
            let ok = |succeeded| PrefetchError { failures: vec![], succeeded };
            let e = client.prefetch(&keys, deadline).err().unwrap_or_else(|| ok(keys));
            PrefetchReport {
                succeeded: e.succeeded.iter().map(Key::canonical).collect(),
                failures: (e.failures.iter())
                    .map(|(k, err)| PrefetchFailure { key: k.canonical(), error: ErrorInfo::from(err) })
                    .collect(),
                message: if e.failures.is_empty() { String::new() } else { e.to_string() },
            }
        };
        waiters::promise(env, prefetch, Ok)
    }

    /// The core's status JSON (snake_case; the JS side renames); `last_error` also has the
    /// kind's `code`, so the JS side needs no spelling rule of its own.
    #[napi]
    pub fn status(&self) -> serde_json::Value {
        let status = self.client.status();
        let mut json = status.to_json();
        if let Some(e) = &status.last_error {
            json["last_error"]["code"] = e.kind.code().into();
        }
        json
    }

    /// Calls `callback` on the JS thread after a key's value changes version, with the core's
    /// `Change` JSON. The threadsafe function behind it is weak: it never keeps the process alive.
    #[napi(ts_args_type = "callback: (change: any) => void")]
    pub fn on_change(&self, callback: Function<Json, ()>) -> Result<f64> {
        let tsfn = callback.build_threadsafe_function::<Json>().weak::<true>().build().map_err(str_err)?;
        let id = self.client.on_change(move |c: &Change| {
            tsfn.call(serde_json::json!(c), ThreadsafeFunctionCallMode::NonBlocking);
        });
        lock(&self.listeners).push(id);
        Ok(id as f64)
    }

    #[napi]
    pub fn remove_listener(&self, id: f64) {
        let id = id as u64;
        lock(&self.listeners).retain(|l| *l != id);
        self.client.remove_listener(id);
    }

    /// Stops the core's threads (idempotent, bounded) on a thread of its own; listeners are
    /// released at once.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        for id in std::mem::take(&mut *lock(&self.listeners)) {
            self.client.remove_listener(id);
        }
        let client = self.client.clone();
        waiters::promise(env, move || client.close(), Ok)
    }

    /// Forces a refresh of `key` (fleet-wide in fleet mode) on a thread of its own: the Redis
    /// call never blocks the event loop. Resolves to `null`, or to the failure, which the JS
    /// side throws as the matching error.
    #[napi(ts_return_type = "Promise<ErrorInfo | null>")]
    pub fn invalidate<'env>(&self, env: &'env Env, key: String) -> Result<Object<'env>> {
        let client = self.client.clone();
        let invalidate = move || client.invalidate(&Key::parse(&key)).err().map(|e| ErrorInfo::from(&e));
        waiters::promise(env, invalidate, Ok)
    }

    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.client.is_closed()
    }
}
