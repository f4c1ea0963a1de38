//! The CLI's log sink: `env_logger` on stderr with its `RUST_LOG` filters (`debug`,
//! `failsoft::llm=trace`, …), installed behind the core's bridge, which drops third-party
//! chatter below `warn` and redacts credentials before a line is formatted. Off unless RUST_LOG
//! is set.

/// Installs the sink when `RUST_LOG` asks for logs.
pub fn init() {
    if std::env::var_os(env_logger::DEFAULT_FILTER_ENV).is_none_or(|v| v.is_empty()) {
        return;
    }
    let logger = env_logger::Builder::from_default_env().format_timestamp(None).build();
    let max = logger.filter();
    // A failure means a logger is already installed, which in this binary cannot happen.
    let _ = failsoft::logging::install(Box::new(logger), max);
}
