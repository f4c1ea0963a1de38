pub fn run() -> Result<std::process::ExitCode, String> {
    Ok(std::process::ExitCode::SUCCESS)
}
