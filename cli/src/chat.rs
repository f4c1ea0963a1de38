//! `failsoft chat`: one chat completion through the fallback chain, printing who answered.
//! Stream flags: `--first-chunk-timeout S`, `--stream-idle-timeout S`, `--stream-recovery
//! error|restart`, `--fallover-classes context_length,quota,...` (SPEC §8 option names).

use crate::args::Args;
use failsoft::llm::{Attempt, ErrorClass, LlmClient, LlmOptions, StreamRecovery, Target};
use serde_json::json;
use std::io::Write;
use std::process::ExitCode;

const FLAGS: &[&str] = &[
    "base-url",
    "model",
    "api-key",
    "timeout",
    "fallback-base-url",
    "fallback-model",
    "fallback-api-key",
    "fallback-timeout",
    "deadline",
    "first-chunk-timeout",
    "stream-idle-timeout",
    "stream-recovery",
    "fallover-classes",
    "stream",
    "json",
    "system",
    "help",
];

fn target(args: &Args, prefix: &str, key_env: &str) -> Result<Option<Target>, String> {
    let Some(url) = args.get(&format!("{prefix}base-url")) else { return Ok(None) };
    let mut t = Target::new(url);
    if let Some(key) = args.get_or_env(&format!("{prefix}api-key"), key_env) {
        t = t.api_key(key);
    }
    if let Some(m) = args.get(&format!("{prefix}model")) {
        t = t.model(m);
    }
    if let Some(d) = args.seconds(&format!("{prefix}timeout"))? {
        t = t.timeout(d);
    }
    Ok(Some(t))
}

fn attempts_line(attempts: &[Attempt]) -> String {
    attempts
        .iter()
        .map(|a| {
            let class = a.class.map(|c| format!(" ({c})")).unwrap_or_default();
            let how = match (a.skipped, a.error_kind, a.status) {
                (true, _, _) => "skipped".to_string(),
                (false, Some(k), Some(s)) => format!("{k} HTTP {s}{class}"),
                (false, Some(k), None) => format!("{k}{class}"),
                (false, None, _) => "ok".into(),
            };
            format!("target {} {how} {:.1} ms", a.target, a.elapsed_ms)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn run(args: &Args) -> Result<ExitCode, String> {
    if let Some(f) = args.unknown(FLAGS) {
        return Err(format!("unknown flag --{f} for chat"));
    }
    let [prompt] = args.positional.as_slice() else {
        return Err("chat takes exactly one PROMPT".into());
    };
    let primary = target(args, "", "OPENAI_API_KEY")?
        .ok_or("chat needs --base-url (e.g. https://api.openai.com/v1)")?;
    let model = args.get("model").ok_or("chat needs --model")?;
    let mut targets = vec![primary];
    if let Some(mut fb) = target(args, "fallback-", "FAILSOFT_FALLBACK_API_KEY")? {
        if args.get("fallback-model").is_none() {
            fb = fb.model(model);
        }
        targets.push(fb);
    } else if let Some(m) = args.get("fallback-model") {
        // Same endpoint, another model (the OpenPipe seed's `fallback: {model}`).
        let mut fb = target(args, "", "OPENAI_API_KEY")?.unwrap_or_else(|| Target::new("")).model(m);
        if let Some(d) = args.seconds("fallback-timeout")? {
            fb = fb.timeout(d);
        }
        targets.push(fb);
    }
    let mut options = LlmOptions::new(targets);
    options.deadline = args.seconds("deadline")?;
    // The values are read by core's own parsers, so the CLI accepts what every language does.
    if let Some(d) = args.seconds("first-chunk-timeout")? {
        options.first_chunk_timeout = Some(d);
    }
    if let Some(d) = args.seconds("stream-idle-timeout")? {
        options.stream_idle_timeout = d;
    }
    if let Some(r) = args.get("stream-recovery") {
        options.stream_recovery =
            r.parse::<StreamRecovery>().map_err(|e| format!("--stream-recovery: {e}"))?;
    }
    if let Some(list) = args.get("fallover-classes") {
        options.policy.fallover_classes = list
            .split(',')
            .filter(|c| !c.trim().is_empty())
            .map(|c| c.trim().parse::<ErrorClass>().map_err(|e| format!("--fallover-classes: {e}")))
            .collect::<Result<_, _>>()?;
    }
    let llm = LlmClient::new(options).map_err(|e| e.to_string())?;
    let mut messages = Vec::new();
    if let Some(system) = args.get("system") {
        messages.push(json!({"role": "system", "content": system}));
    }
    messages.push(json!({"role": "user", "content": prompt}));
    let request = json!({"model": model, "messages": messages});
    let json_out = args.has_switch("json");
    if args.has_switch("stream") {
        let mut stream = match llm.chat_stream(&request) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("failsoft: {e}\n  attempts: {}", attempts_line(&e.attempts));
                return Ok(ExitCode::FAILURE);
            }
        };
        let mut out = std::io::stdout();
        while let Some(chunk) = stream.next() {
            if chunk.is_ok() && stream.is_restart() {
                // The text so far belongs to an abandoned answer: say so where it shows.
                if json_out {
                    println!(
                        "{}",
                        json!({"object": "failsoft.stream.restart", "restarts": stream.restarts()})
                    );
                } else {
                    println!();
                    eprintln!(
                        "failsoft: the stream broke and restarted on target {}; the text above is abandoned",
                        stream.served_by().index
                    );
                }
            }
            match chunk {
                Ok(c) if json_out => println!("{c}"),
                Ok(c) => {
                    if let Some(text) = c["choices"][0]["delta"]["content"].as_str() {
                        let _ = write!(out, "{text}");
                        let _ = out.flush();
                    }
                }
                Err(e) => {
                    eprintln!("\nfailsoft: {e}");
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
        if !json_out {
            println!();
        }
        eprintln!(
            "served by target {} ({}) is_fallback={}; attempts: {}",
            stream.served_by().index,
            stream.served_by().model.as_deref().unwrap_or("-"),
            stream.is_fallback(),
            attempts_line(stream.attempts())
        );
        return Ok(ExitCode::SUCCESS);
    }
    match llm.chat(&request) {
        Ok(r) if json_out => {
            println!("{}", r.completion);
            Ok(ExitCode::SUCCESS)
        }
        Ok(r) => {
            println!("{}", r.completion["choices"][0]["message"]["content"].as_str().unwrap_or_default());
            eprintln!(
                "served by target {} ({}) is_fallback={}; attempts: {}",
                r.served_by.index,
                r.served_by.model.as_deref().unwrap_or("-"),
                r.is_fallback,
                attempts_line(&r.attempts)
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("failsoft: {e}\n  attempts: {}", attempts_line(&e.attempts));
            Ok(ExitCode::FAILURE)
        }
    }
}
