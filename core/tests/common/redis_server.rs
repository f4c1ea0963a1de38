//! A private redis-server per test (the Debian package's binary), on a free loopback port with
//! persistence off: tests may SIGSTOP it, FLUSHALL it or kill it without disturbing each other.
//! Missing binary: the test fails when `CI` is set, and is skipped (saying so) otherwise.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    pub url: String,
}

impl RedisServer {
    pub fn start() -> Option<RedisServer> {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let spawned = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(c) => c,
            Err(e) => {
                assert!(std::env::var_os("CI").is_none(), "CI is set but redis-server cannot start: {e}");
                eprintln!("SKIPPED: redis-server is not installed ({e}); the fleet tests need it");
                return None;
            }
        };
        let s = RedisServer { child: Some(child), port, url: format!("redis://127.0.0.1:{port}/0") };
        let until = Instant::now() + Duration::from_secs(5);
        while s.ping().is_err() {
            assert!(Instant::now() < until, "redis-server did not answer on {port}");
            std::thread::sleep(Duration::from_millis(10));
        }
        Some(s)
    }

    pub fn connection(&self) -> redis::RedisResult<redis::Connection> {
        let c =
            redis::Client::open(self.url.as_str())?.get_connection_with_timeout(Duration::from_secs(1))?;
        c.set_read_timeout(Some(Duration::from_secs(1)))?;
        Ok(c)
    }

    pub fn ping(&self) -> redis::RedisResult<()> {
        redis::cmd("PING").query::<String>(&mut self.connection()?).map(|_| ())
    }

    pub fn cmd(&self, args: &[&str]) -> redis::Value {
        let mut c = redis::cmd(args[0]);
        for a in &args[1..] {
            c.arg(*a);
        }
        c.query(&mut self.connection().expect("redis connection")).expect("redis command")
    }

    /// All keys matching `pattern`.
    pub fn keys(&self, pattern: &str) -> Vec<String> {
        redis::cmd("KEYS").arg(pattern).query(&mut self.connection().unwrap()).unwrap()
    }

    fn signal(&self, sig: libc::c_int) {
        if let Some(child) = &self.child {
            // SAFETY: signalling our own child (not yet reaped) by its pid.
            unsafe { libc::kill(child.id() as libc::pid_t, sig) };
        }
    }

    /// Stalls the server: connections stay open, nothing answers.
    pub fn stop(&self) {
        self.signal(libc::SIGSTOP);
    }

    pub fn resume(&self) {
        self.signal(libc::SIGCONT);
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.resume();
        self.kill();
    }
}
