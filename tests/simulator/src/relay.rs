//! The data port: a TCP relay in front of the internal tiny_http server.
//!
//! tiny_http parses requests but never lets a handler close a keep-alive connection, and a
//! dropped server keeps serving the connections it already has. The relay owns the public
//! listener and every client socket, which gives the simulator what its faults need: close the
//! port for real (`refused` on `*`) and re-open it on the same port, cut one connection in the
//! middle of an answer, write a streamed answer straight to the client without buffering, and
//! close every connection when the simulator stops.
//!
//! Each client connection gets its own connection to the internal server; the internal socket's
//! local address is what tiny_http reports as the request's remote address, which is how a
//! handler finds its client socket again.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long re-opening the port keeps trying while the old socket is still being released.
const REBIND_PATIENCE: Duration = Duration::from_secs(3);

struct Pair {
    client: TcpStream,
    upstream: TcpStream,
}

impl Pair {
    fn close(&self) {
        let _ = self.client.shutdown(Shutdown::Both);
        let _ = self.upstream.shutdown(Shutdown::Both);
    }
}

type Connections = Arc<Mutex<HashMap<SocketAddr, Pair>>>;

struct Acceptor {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

pub(crate) struct Relay {
    addr: SocketAddr,
    upstream: SocketAddr,
    connections: Connections,
    acceptor: Mutex<Option<Acceptor>>,
}

impl Relay {
    /// Binds the public data port (OS-assigned) and starts relaying to `upstream`.
    pub fn start(upstream: SocketAddr) -> io::Result<Relay> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let relay = Relay {
            addr: listener.local_addr()?,
            upstream,
            connections: Arc::default(),
            acceptor: Mutex::new(None),
        };
        *relay.lock_acceptor() = Some(relay.spawn_acceptor(listener));
        Ok(relay)
    }

    /// The public data address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn lock_acceptor(&self) -> MutexGuard<'_, Option<Acceptor>> {
        self.acceptor.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_connections(&self) -> MutexGuard<'_, HashMap<SocketAddr, Pair>> {
        self.connections.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn spawn_acceptor(&self, listener: TcpListener) -> Acceptor {
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, upstream, connections) = (stop.clone(), self.upstream, self.connections.clone());
        let thread = thread::spawn(move || {
            for client in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(client) = client {
                    let connections = connections.clone();
                    thread::spawn(move || relay_connection(client, upstream, connections));
                }
            }
        });
        Acceptor { stop, thread }
    }

    /// Closes the listening socket (new connections are refused) and every open connection.
    /// Returns once the port is really closed.
    pub fn close(&self) {
        if let Some(acceptor) = self.lock_acceptor().take() {
            acceptor.stop.store(true, Ordering::SeqCst);
            // Wake the blocking accept(); the acceptor sees the flag and drops the listener.
            let _ = TcpStream::connect(self.addr);
            let _ = acceptor.thread.join();
        }
        self.close_all();
    }

    /// Listens again on the same port. A no-op when already listening.
    pub fn open(&self) -> io::Result<()> {
        let mut acceptor = self.lock_acceptor();
        if acceptor.is_none() {
            *acceptor = Some(self.spawn_acceptor(bind_again(self.addr)?));
        }
        Ok(())
    }

    /// A handle on the client socket of the request tiny_http saw coming from `peer`.
    pub fn client(&self, peer: SocketAddr) -> Option<TcpStream> {
        self.lock_connections().get(&peer).and_then(|p| p.client.try_clone().ok())
    }

    /// Closes the client connection of the request that came from `peer`, without an answer.
    pub fn close_connection(&self, peer: SocketAddr) {
        if let Some(pair) = self.lock_connections().get(&peer) {
            pair.close();
        }
    }

    /// Closes every client connection.
    pub fn close_all(&self) {
        self.lock_connections().values().for_each(Pair::close);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.close();
    }
}

fn bind_again(addr: SocketAddr) -> io::Result<TcpListener> {
    let started = Instant::now();
    loop {
        match TcpListener::bind(addr) {
            Err(e) if e.kind() == io::ErrorKind::AddrInUse && started.elapsed() < REBIND_PATIENCE => {
                thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

fn relay_connection(client: TcpStream, upstream_addr: SocketAddr, connections: Connections) {
    let Ok(upstream) = TcpStream::connect(upstream_addr) else { return };
    let (Ok(key), Ok(client2), Ok(upstream2)) =
        (upstream.local_addr(), client.try_clone(), upstream.try_clone())
    else {
        return;
    };
    // Streamed events are small writes that must leave at once.
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let pair = Pair { client: client2, upstream: upstream2 };
    connections.lock().unwrap_or_else(|e| e.into_inner()).insert(key, pair);

    let (Ok(client_reader), Ok(upstream_writer)) = (client.try_clone(), upstream.try_clone()) else { return };
    let requests = thread::spawn(move || {
        pump(client_reader, &upstream_writer);
        // The client sent everything it will send; the server may still answer.
        let _ = upstream_writer.shutdown(Shutdown::Write);
    });
    pump(upstream, &client);
    let _ = client.shutdown(Shutdown::Both);
    let _ = requests.join();
    connections.lock().unwrap_or_else(|e| e.into_inner()).remove(&key);
}

fn pump(mut from: TcpStream, mut to: &TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
}
