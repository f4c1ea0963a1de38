//! `failsoft demo`: a walk through every failure failsoft absorbs, against the bundled simulator
//! (no account, key or internet). One line per step.

use failsoft::llm::{LlmClient, LlmOptions, Target};
use failsoft::prompt::PromptRequest;
use failsoft::{Client, ClientSpec, SourceSpec, State, ValueSource};
use failsoft_sim::{Fault, FaultMode, Simulator};
use serde_json::json;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const PROMPT: &str = "movie-critic";
const FALLBACK: &str = "Do you like {{movie}}? (fallback)";

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn step(n: u32, what: &str, outcome: String) {
    println!("{n:>2}  {what:<34} {outcome}");
}

struct Demo {
    sim: Simulator,
    snapshots: std::path::PathBuf,
}

impl Demo {
    fn client(&self) -> Result<Client, String> {
        let spec = ClientSpec {
            source: SourceSpec::Langfuse {
                base_url: Some(self.sim.url()),
                public_key: Some("pk-lf-test".into()),
                secret_key: Some("sk-lf-test".into()),
                timeout_seconds: None,
            },
            ttl_seconds: Some(1.0),
            cold_deadline_seconds: Some(2.0),
            request_timeout_seconds: None,
            snapshot_dir: Some(self.snapshots.to_string_lossy().into_owned()),
            refresh_workers: None,
            keep_on_not_found: None,
            fleet: None,
        };
        let mut options = spec.options().map_err(|e| e.to_string())?;
        // Not a user option: a short first backoff lets the walk show recovery within seconds.
        options.backoff_base = Duration::from_millis(300);
        Client::with_source(spec.source().map_err(|e| e.to_string())?, options).map_err(|e| e.to_string())
    }

    fn read(&self, client: &Client) -> Result<failsoft::prompt::Prompt, String> {
        PromptRequest::new(PROMPT).fallback(json!(FALLBACK)).get(client).map_err(|e| e.to_string())
    }

    /// Reads every 20 ms for `span`; returns (reads, how many per source, failures).
    fn read_for(&self, client: &Client, span: Duration) -> (u32, [u32; 4], u32) {
        let until = Instant::now() + span;
        let (mut n, mut by, mut failed) = (0, [0u32; 4], 0);
        while Instant::now() < until {
            n += 1;
            match self.read(client) {
                Ok(p) => by[p.source as usize] += 1,
                Err(_) => failed += 1,
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        (n, by, failed)
    }

    fn poll_fresh(&self, client: &Client, within: Duration) -> Option<Duration> {
        let t = Instant::now();
        while t.elapsed() < within {
            if self.read(client).is_ok_and(|p| p.source == ValueSource::Fresh) {
                return Some(t.elapsed());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

fn describe(p: &failsoft::prompt::Prompt, took: Duration) -> String {
    let err = p.error.as_ref().map(|e| format!("  ({}: {})", e.kind, e.message)).unwrap_or_default();
    format!(
        "{:<8} v{:<2} is_fallback={:<5} {:?}  in {}{err}",
        p.source.as_str(),
        p.version,
        p.is_fallback(),
        p.text().unwrap_or_default(),
        ms(took)
    )
}

pub fn run() -> Result<ExitCode, String> {
    let started = Instant::now();
    let snapshots = std::env::temp_dir().join(format!("failsoft-demo-{}", std::process::id()));
    let demo = Demo { sim: Simulator::start_default(), snapshots };
    println!("failsoft demo — a local simulator stands in for Langfuse and two LLM endpoints");
    println!("    backend {}   snapshots {}\n", demo.sim.url(), demo.snapshots.display());
    let result = walk(&demo);
    let _ = std::fs::remove_dir_all(&demo.snapshots);
    result?;
    println!(
        "\ndone in {:.1} s: no read failed, and every answer said where it came from.",
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

fn walk(demo: &Demo) -> Result<(), String> {
    let sim = &demo.sim;
    let client = demo.client()?;

    sim.set_fault("*", FaultMode::Refused);
    let t = Instant::now();
    let p = demo.read(&client)?;
    step(1, "cold start, backend down", describe(&p, t.elapsed()));

    sim.heal("*");
    let after =
        demo.poll_fresh(&client, Duration::from_secs(5)).ok_or("the backend came up but no fresh read")?;
    let t = Instant::now();
    let p = demo.read(&client)?;
    step(
        2,
        "backend comes up",
        format!("{}  (background retry landed {} after)", describe(&p, t.elapsed()), ms(after)),
    );

    let before = sim.request_count(&format!("/api/public/v2/prompts/{PROMPT}"));
    let (n, by, failed) = demo.read_for(&client, Duration::from_secs(3));
    let refreshes = sim.request_count(&format!("/api/public/v2/prompts/{PROMPT}")) - before;
    step(
        3,
        "refresh ahead (TTL 1 s, 3 s of reads)",
        format!(
            "{n} reads: {} fresh, {} stale, {failed} failed; {refreshes} background refreshes",
            by[0], by[1]
        ),
    );

    sim.publish_prompt(json!({"name": PROMPT, "type": "text", "labels": ["production"],
        "prompt": "As a {{level}} critic, do you like {{movie}}?"}));
    let t = Instant::now();
    let mut saw_stale = false;
    let p = loop {
        let p = demo.read(&client)?;
        saw_stale |= p.source != ValueSource::Fresh;
        if p.version >= 3 || t.elapsed() > Duration::from_secs(5) {
            break p;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    step(
        4,
        "new version published",
        format!("v{} served {} later; stale reads meanwhile: {saw_stale}", p.version, ms(t.elapsed())),
    );

    sim.set_fault("*", Fault::status(503));
    let (n, by, failed) = demo.read_for(&client, Duration::from_secs(2));
    step(
        5,
        "outage (every request 503)",
        format!(
            "{n} reads: {failed} failed, {} stale, {} fresh; status {}",
            by[1],
            by[0],
            client.status().state.as_str()
        ),
    );

    sim.heal("*");
    let after = demo.poll_fresh(&client, Duration::from_secs(10)).ok_or("no recovery")?;
    let state = client.status().state;
    step(
        6,
        "recovery",
        format!("fresh again {} after the backend healed; status {}", ms(after), state.as_str()),
    );
    if state != State::Ready {
        return Err(format!("status is {} after recovery", state.as_str()));
    }
    drop(client);

    sim.set_fault("*", FaultMode::Refused);
    let restarted = demo.client()?;
    let t = Instant::now();
    let p = demo.read(&restarted)?;
    step(7, "restart during an outage", describe(&p, t.elapsed()));
    if p.source != ValueSource::Snapshot {
        return Err("the restarted client did not serve the snapshot".into());
    }
    let vars = json!({"movie": "Dune", "level": "expert"});
    let compiled = p.compile(vars.as_object().unwrap(), false).map_err(|e| e.to_string())?;
    step(8, "compile the served prompt", format!("{compiled:?}"));
    sim.heal("*");

    chat(demo)
}

fn chat(demo: &Demo) -> Result<(), String> {
    let sim = &demo.sim;
    let llm = LlmClient::new(LlmOptions::new(vec![
        Target::new(sim.openai_base_url("primary")).api_key("sk-demo-primary").model("openpipe:my-ft-model"),
        Target::new(sim.openai_base_url("fallback")).api_key("sk-demo-fallback").model("gpt-4o-mini"),
    ]))
    .map_err(|e| e.to_string())?;
    let request =
        json!({"model": "openpipe:my-ft-model", "messages": [{"role": "user", "content": "Count to 3"}]});
    sim.set_fault("/t/primary", FaultMode::Refused);
    for (n, what) in [(9, "chat, primary refusing connections"), (10, "chat again, same outage")] {
        let t = Instant::now();
        let r = llm.chat(&request).map_err(|e| e.to_string())?;
        let attempts: Vec<String> = r
            .attempts
            .iter()
            .map(|a| {
                let how = match (a.skipped, a.error_kind) {
                    (true, _) => "skipped".to_string(),
                    (false, Some(k)) => k.to_string(),
                    (false, None) => "ok".to_string(),
                };
                format!("#{} {how} {:.1} ms", a.target, a.elapsed_ms)
            })
            .collect();
        step(
            n,
            what,
            format!(
                "answered by target {} ({}) in {}, is_fallback={}; attempts: {}",
                r.served_by.index,
                r.served_by.model.as_deref().unwrap_or("-"),
                ms(t.elapsed()),
                r.is_fallback,
                attempts.join(", ")
            ),
        );
    }
    Ok(())
}
