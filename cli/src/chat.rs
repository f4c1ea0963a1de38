//! `failsoft chat`: one chat completion through the fallback chain, printing who answered.

use crate::args::{or_env, seconds};
use clap::Args;
use failsoft::llm::{client_from_value, Attempt, ErrorClass, StreamRecovery};
use serde_json::json;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct ChatArgs {
    /// The user message
    pub prompt: String,
    /// The primary endpoint, OpenAI-compatible (e.g. https://api.openai.com/v1)
    #[arg(long, value_name = "URL")]
    pub base_url: String,
    /// The model to ask
    #[arg(long, value_name = "M")]
    pub model: String,
    /// The primary's key (default: $OPENAI_API_KEY)
    #[arg(long, value_name = "KEY")]
    pub api_key: Option<String>,
    /// Per-attempt timeout of the primary
    #[arg(long, value_name = "SECONDS", value_parser = seconds, allow_negative_numbers = true)]
    pub timeout: Option<Duration>,
    /// A fallback endpoint, tried when the primary fails or hangs
    #[arg(long, value_name = "URL", help_heading = "Fallback")]
    pub fallback_base_url: Option<String>,
    /// The fallback's model (alone: the same endpoint, another model)
    #[arg(long, value_name = "M", help_heading = "Fallback")]
    pub fallback_model: Option<String>,
    /// The fallback's key (default: $FAILSOFT_FALLBACK_API_KEY, else $OPENAI_API_KEY, as an OpenAI
    /// client made without a key reads it: set this flag when the fallback is another vendor)
    #[arg(long, value_name = "KEY", help_heading = "Fallback")]
    pub fallback_api_key: Option<String>,
    /// Per-attempt timeout of the fallback
    #[arg(long, value_name = "SECONDS", value_parser = seconds, allow_negative_numbers = true, help_heading = "Fallback")]
    pub fallback_timeout: Option<Duration>,
    /// One deadline over every attempt
    #[arg(long, value_name = "SECONDS", value_parser = seconds, allow_negative_numbers = true)]
    pub deadline: Option<Duration>,
    /// Streaming: longest wait for the first chunk before falling over (default 15)
    #[arg(long, value_name = "SECONDS", value_parser = seconds, allow_negative_numbers = true, help_heading = "Streaming")]
    pub first_chunk_timeout: Option<Duration>,
    /// Streaming: longest silence between chunks before the stream counts as broken (default 30)
    #[arg(long, value_name = "SECONDS", value_parser = seconds, allow_negative_numbers = true, help_heading = "Streaming")]
    pub stream_idle_timeout: Option<Duration>,
    /// Streaming: after a break past the first chunk, `error` (default) or `restart` the answer
    #[arg(long, value_name = "error|restart", value_parser = |s: &str| s.parse::<StreamRecovery>().map_err(|e| e.to_string()), help_heading = "Streaming")]
    pub stream_recovery: Option<StreamRecovery>,
    /// Error classes that fall over to the next target, comma-separated (default: connection,
    /// timeout, server, rate_limit, quota, auth, not_found, context_length)
    #[arg(long, value_name = "CLASS,…", value_delimiter = ',', value_parser = |s: &str| s.trim().parse::<ErrorClass>().map_err(|e| e.to_string()))]
    pub fallover_classes: Option<Vec<ErrorClass>>,
    /// A system message before the prompt
    #[arg(long, value_name = "TEXT")]
    pub system: Option<String>,
    /// Stream the answer as it arrives
    #[arg(long)]
    pub stream: bool,
    /// Print the completion (or each chunk) as JSON
    #[arg(long)]
    pub json: bool,
}

fn secs(d: Option<Duration>) -> Option<f64> {
    d.map(|d| d.as_secs_f64())
}

/// The flags as the options of core's OpenAI-shaped front (`failsoft::llm::Front`), the names
/// `failsoft.OpenAI` and the C options JSON use: defaults, checks and inheritance are core's.
fn front_options(args: &ChatArgs) -> serde_json::Value {
    let fallback = match (&args.fallback_base_url, &args.fallback_model) {
        (Some(url), model) => json!({
            "model": model.as_deref().unwrap_or(&args.model),
            "timeout": secs(args.fallback_timeout),
            "client": {"base_url": url, "api_key": or_env(args.fallback_api_key.as_deref(), "FAILSOFT_FALLBACK_API_KEY")},
        }),
        // Same endpoint, another model (the OpenPipe seed's `fallback: {model}`).
        (None, Some(m)) => json!({"model": m, "timeout": secs(args.fallback_timeout)}),
        (None, None) => json!([]),
    };
    json!({
        "base_url": args.base_url,
        "api_key": args.api_key,
        "timeout": secs(args.timeout),
        "fallback": fallback,
        "deadline_seconds": secs(args.deadline),
        "first_chunk_timeout_seconds": secs(args.first_chunk_timeout),
        "stream_idle_timeout_seconds": secs(args.stream_idle_timeout),
        "stream_recovery": args.stream_recovery.map(StreamRecovery::as_str),
        "fallover_classes": args.fallover_classes.as_ref().map(|c| c.iter().map(|c| c.as_str()).collect::<Vec<_>>()),
    })
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

pub fn run(args: &ChatArgs) -> Result<ExitCode, String> {
    let llm = client_from_value(front_options(args)).map_err(|e| e.to_string())?;
    let model = args.model.as_str();
    let mut messages = Vec::new();
    if let Some(system) = &args.system {
        messages.push(json!({"role": "system", "content": system}));
    }
    messages.push(json!({"role": "user", "content": args.prompt}));
    let request = json!({"model": model, "messages": messages});
    let json_out = args.json;
    if args.stream {
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
