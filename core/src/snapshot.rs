//! Last known good on disk (SPEC §5): each fetched value written atomically (temp file in the
//! same directory, fsync, rename), bound to its source identity and key, served after a restart
//! when the backend is down. Corrupt, truncated or foreign files are ignored with one warning.

use crate::key::Key;
use crate::value::Payload;
use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Bumped when the file layout changes; files of another format are ignored.
pub const FORMAT_VERSION: u64 = 1;

/// FNV-1a, 64 bits: stable across processes, platforms and Rust versions (file names, checksums).
pub fn fnv64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// What `failsoft snapshot ls` shows of one file.
#[derive(Debug, Clone)]
pub struct SnapshotInfo {
    pub path: PathBuf,
    pub key: String,
    pub source: String,
    pub version: Option<i64>,
    pub age: Duration,
}

/// The snapshots of one source in one directory.
#[derive(Debug)]
pub struct SnapshotStore {
    dir: PathBuf,
    identity: String,
    warned: Mutex<HashSet<PathBuf>>,
    swept: std::sync::Once,
}

impl SnapshotStore {
    /// `identity` is the source's identity (kind, base URL, project or key fingerprint).
    pub fn new(dir: impl Into<PathBuf>, identity: impl Into<String>) -> Self {
        SnapshotStore {
            dir: dir.into(),
            identity: identity.into(),
            warned: Mutex::new(HashSet::new()),
            swept: std::sync::Once::new(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `<readable key>-<hash of identity and key>.json`: another source's file has another name.
    pub fn path_for(&self, key: &Key) -> PathBuf {
        let canonical = key.canonical();
        let readable: String = canonical
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
            .take(80)
            .collect();
        let mut id = self.identity.clone().into_bytes();
        id.push(0);
        id.extend_from_slice(canonical.as_bytes());
        self.dir.join(format!("{readable}-{:016x}.json", fnv64(&id)))
    }

    /// The snapshot of `key`, when a valid one of this source exists.
    pub fn load(&self, key: &Key) -> Option<Payload> {
        let path = self.path_for(key);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                self.warn_once(&path, &format!("unreadable ({e})"));
                return None;
            }
        };
        match decode(&bytes, &self.identity, &key.canonical()) {
            Ok(p) => Some(p),
            Err(why) => {
                self.warn_once(&path, why);
                None
            }
        }
    }

    /// Writes `payload` as the snapshot of `key`, atomically.
    pub fn store(&self, key: &Key, payload: &Payload) -> std::io::Result<()> {
        fs::create_dir_all(&self.dir)?;
        self.swept.call_once(|| sweep_stale_temp_files(&self.dir));
        let path = self.path_for(key);
        let body = encode(&self.identity, &key.canonical(), payload);
        let tmp = self.dir.join(format!(
            ".{}.{}.{:08x}.tmp",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("snapshot"),
            std::process::id(),
            fastrand::u32(..)
        ));
        let result = (|| {
            let mut f = fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
            f.write_all(&body)?;
            f.sync_all()?;
            drop(f);
            fs::rename(&tmp, &path)?;
            // Make the rename itself durable; best effort (not every filesystem allows it).
            if let Ok(d) = fs::File::open(&self.dir) {
                let _ = d.sync_all();
            }
            Ok(())
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    fn warn_once(&self, path: &Path, why: &str) {
        let mut warned = self.warned.lock().unwrap_or_else(|p| p.into_inner());
        if warned.insert(path.to_path_buf()) {
            log::warn!("ignoring snapshot {}: {why}", path.display());
        }
    }
}

/// Temp files of writers killed mid-write are never read (readers only open `*.json`); the first
/// write of a process removes those older than ten minutes so they do not pile up.
fn sweep_stale_temp_files(dir: &Path) {
    let Ok(items) = fs::read_dir(dir) else { return };
    for item in items.flatten() {
        let name = item.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with('.') && name.ends_with(".tmp")) {
            continue;
        }
        let old = item.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
        if old.is_some_and(|age| age > Duration::from_secs(600)) {
            let _ = fs::remove_file(item.path());
        }
    }
}

fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

fn checksum(data_text: &str) -> String {
    format!("{:016x}", fnv64(data_text.as_bytes()))
}

fn encode(identity: &str, key: &str, p: &Payload) -> Vec<u8> {
    let data_text = p.data.to_string();
    let doc = serde_json::json!({
        "format": FORMAT_VERSION,
        "source": identity,
        "key": key,
        "fetched_at": unix_seconds(p.fetched_wall),
        "version": p.version,
        "etag": p.etag,
        "checksum": checksum(&data_text),
        "data": *p.data,
    });
    let mut out = serde_json::to_vec_pretty(&doc).unwrap_or_default();
    out.push(b'\n');
    out
}

fn parse(bytes: &[u8]) -> Result<serde_json::Map<String, serde_json::Value>, &'static str> {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        Ok(_) => Err("not a snapshot object"),
        Err(_) => Err("corrupt or truncated JSON"),
    }
}

fn decode(bytes: &[u8], identity: &str, key: &str) -> Result<Payload, &'static str> {
    let m = parse(bytes)?;
    if m.get("format").and_then(|v| v.as_u64()) != Some(FORMAT_VERSION) {
        return Err("unknown snapshot format");
    }
    if m.get("source").and_then(|v| v.as_str()) != Some(identity) {
        return Err("written for another source");
    }
    if m.get("key").and_then(|v| v.as_str()) != Some(key) {
        return Err("written for another key");
    }
    let data = m.get("data").ok_or("no data")?.clone();
    if m.get("checksum").and_then(|v| v.as_str()) != Some(checksum(&data.to_string()).as_str()) {
        return Err("checksum mismatch");
    }
    let fetched_at = m.get("fetched_at").and_then(|v| v.as_f64()).filter(|s| s.is_finite() && *s >= 0.0);
    let fetched_wall = UNIX_EPOCH + Duration::from_secs_f64(fetched_at.ok_or("no fetch time")?);
    let version = m.get("version").and_then(|v| v.as_i64());
    let etag = m.get("etag").and_then(|v| v.as_str()).map(str::to_string);
    Ok(Payload::aged(data, version, etag, fetched_wall))
}

/// Every valid snapshot file in `dir`, whatever its source (for `failsoft snapshot ls`).
pub fn list(dir: &Path) -> std::io::Result<Vec<SnapshotInfo>> {
    let mut out = Vec::new();
    for item in fs::read_dir(dir)? {
        let path = item?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let Ok(bytes) = fs::read(&path) else { continue };
        let Ok(m) = parse(&bytes) else { continue };
        let (Some(source), Some(key)) =
            (m.get("source").and_then(|v| v.as_str()), m.get("key").and_then(|v| v.as_str()))
        else {
            continue;
        };
        if let Ok(p) = decode(&bytes, source, key) {
            out.push(SnapshotInfo {
                path,
                key: key.to_string(),
                source: source.to_string(),
                version: p.version,
                age: p.age(),
            });
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key).then(a.source.cmp(&b.source)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "failsoft-snap-{name}-{}-{}",
            std::process::id(),
            fastrand::u32(..)
        ));
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn round_trip_keeps_data_version_and_age() {
        let dir = tmpdir("rt");
        let s = SnapshotStore::new(&dir, "http|http://a/{key}");
        let key = Key::new("k/1");
        let p = Payload::aged(
            serde_json::json!({"a": [1, 2.5, "x"]}),
            Some(7),
            None,
            SystemTime::now() - Duration::from_secs(60),
        );
        s.store(&key, &p).unwrap();
        let back = s.load(&key).unwrap();
        assert_eq!(back.data, p.data);
        assert_eq!(back.version, Some(7));
        assert!((back.age().as_secs_f64() - 60.0).abs() < 2.0);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn another_source_or_key_never_reads_it() {
        let dir = tmpdir("foreign");
        let a = SnapshotStore::new(&dir, "http|http://a/{key}");
        let b = SnapshotStore::new(&dir, "http|http://b/{key}");
        let key = Key::new("k");
        a.store(&key, &Payload::new(serde_json::json!(1), None, None)).unwrap();
        assert!(b.load(&key).is_none());
        // Even a file copied over under b's name is refused: the identity inside is checked.
        fs::copy(a.path_for(&key), b.path_for(&key)).unwrap();
        assert!(b.load(&key).is_none());
        assert!(a.load(&Key::new("k2")).is_none());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn corrupt_and_truncated_files_are_ignored() {
        let dir = tmpdir("corrupt");
        let s = SnapshotStore::new(&dir, "id");
        let key = Key::new("k");
        s.store(&key, &Payload::new(serde_json::json!({"x": "yyyy"}), Some(1), None)).unwrap();
        let path = s.path_for(&key);
        let full = fs::read(&path).unwrap();
        fs::write(&path, &full[..full.len() / 2]).unwrap();
        assert!(s.load(&key).is_none());
        let tampered = String::from_utf8(full).unwrap().replace("yyyy", "zzzz");
        fs::write(&path, tampered).unwrap();
        assert!(s.load(&key).is_none());
        fs::write(&path, b"\0\xff garbage").unwrap();
        assert!(s.load(&key).is_none());
        fs::remove_dir_all(dir).unwrap();
    }
}
