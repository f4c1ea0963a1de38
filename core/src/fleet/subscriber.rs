//! Pub/sub invalidation: one thread per client listens on the fleet channel. A message is only a
//! hint to re-read the shared entry; after every (re)subscription every key in memory is re-read,
//! so messages lost while disconnected are caught up (and the TTL catches up the rest).

use super::Fleet;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// What the subscriber tells its client.
pub(crate) trait Listener: Send + Sync {
    fn fleet(&self) -> Option<&Fleet>;
    /// A new version of `key` was published: re-read the shared entry.
    fn published(&self, key: &str);
    /// `key` was invalidated: refresh it now.
    fn invalidated(&self, key: &str);
    /// (Re)subscribed: re-read every key in memory.
    fn resubscribed(&self);
    fn closed(&self) -> bool;
}

/// How long a blocking read on the subscription waits before checking whether to stop.
const POLL: Duration = Duration::from_millis(500);

/// Starts the subscriber thread. It holds only a weak reference, so it never keeps a client
/// alive, and stops within `POLL` of the client closing or being dropped.
pub(crate) fn start_subscriber<L: Listener + 'static>(client: Weak<L>) {
    let spawned = std::thread::Builder::new().name("failsoft-fleet-sub".into()).spawn(move || run(client));
    if let Err(e) = spawned {
        log::warn!("fleet: could not start the pub/sub thread ({e}); updates arrive with the TTL");
    }
}

fn run<L: Listener>(client: Weak<L>) {
    let mut delay = Duration::from_millis(100);
    loop {
        let Some(c) = alive(&client) else { return };
        let Some(fleet) = c.fleet() else { return };
        let (channel, timeout) = (fleet.channel().to_string(), fleet.opts.store_timeout);
        let con = fleet.store_connect(timeout.max(Duration::from_millis(100)));
        drop(c);
        match con {
            Ok(mut con) => {
                delay = Duration::from_millis(100);
                if let Err(e) = listen(&client, &mut con, &channel) {
                    log::debug!("fleet: subscription lost ({e}); reconnecting");
                }
            }
            Err(e) => {
                if let Some(c) = alive(&client) {
                    let why = c.fleet().map(|f| f.scrub(e.to_string())).unwrap_or_default();
                    log::debug!("fleet: could not subscribe ({why})");
                }
            }
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

fn alive<L: Listener>(client: &Weak<L>) -> Option<Arc<L>> {
    client.upgrade().filter(|c| !c.closed())
}

fn listen<L: Listener>(
    client: &Weak<L>,
    con: &mut redis::Connection,
    channel: &str,
) -> redis::RedisResult<()> {
    let mut ps = con.as_pubsub();
    ps.subscribe(channel)?;
    ps.set_read_timeout(Some(POLL))?;
    match alive(client) {
        Some(c) => c.resubscribed(),
        None => return Ok(()),
    }
    loop {
        let msg = match ps.get_message() {
            Ok(m) => m,
            Err(e) if e.is_timeout() => {
                if alive(client).is_none() {
                    return Ok(());
                }
                continue;
            }
            Err(e) => return Err(e),
        };
        let Some(c) = alive(client) else { return Ok(()) };
        let Ok(text) = std::str::from_utf8(msg.get_payload_bytes()) else { continue };
        match text.split_once('|') {
            // p|<version>|<fetched-at>|<key>: the key goes last, since it may contain '|'.
            Some(("p", rest)) => {
                if let Some(key) = rest.splitn(3, '|').nth(2) {
                    c.published(key);
                }
            }
            Some(("i", key)) => c.invalidated(key),
            _ => {}
        }
    }
}
