//! Small helpers shared by the route modules: ids, timestamps, percent-decoding, JSON field access.

use std::time::{SystemTime, UNIX_EPOCH};

use percent_encoding::percent_decode_str;
use serde_json::Value;

/// Percent-decodes a path segment or a whole path (`%2F` becomes `/`); invalid UTF-8 is replaced.
pub(crate) fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Decodes one `application/x-www-form-urlencoded` query component (`+` is a space).
pub(crate) fn decode_query(s: &str) -> String {
    decode(&s.replace('+', " "))
}

/// A deterministic uuid-shaped id derived from `seed`, so fixture ids are stable across runs and resets.
pub(crate) fn uuid_like(seed: &str) -> String {
    let hi = fnv1a(seed.as_bytes(), 0xcbf2_9ce4_8422_2325);
    let lo = fnv1a(seed.as_bytes(), 0x8422_2325_cbf2_9ce4);
    format!(
        "{:08x}-{:04x}-7{:03x}-8{:03x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0x0fff,
        (lo >> 48) & 0x0fff,
        lo & 0xffff_ffff_ffff
    )
}

fn fnv1a(bytes: &[u8], offset: u64) -> u64 {
    bytes.iter().fold(offset, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// The current time as ISO 8601 in UTC with milliseconds, the way Langfuse and Opik print it.
pub(crate) fn iso_now() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    iso_from_millis(now.as_millis() as u64)
}

fn iso_from_millis(ms: u64) -> String {
    let secs = ms / 1000;
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A string field of a JSON object, if present and a string.
pub(crate) fn str_field<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get(name).and_then(Value::as_str)
}

/// A required string field, or an error naming it.
pub(crate) fn required_str<'a>(v: &'a Value, name: &str) -> Result<&'a str, String> {
    str_field(v, name).ok_or_else(|| format!("'{name}' must be a string"))
}

/// A list of strings (`null` or missing: empty), or an error naming the field.
pub(crate) fn str_list(v: &Value, name: &str) -> Result<Vec<String>, String> {
    match v.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned).ok_or_else(|| format!("'{name}' must hold strings")))
            .collect(),
        Some(_) => Err(format!("'{name}' must be a list of strings")),
    }
}

/// An optional non-negative integer field; also accepts a numeric string.
pub(crate) fn u64_field(v: &Value, name: &str) -> Result<Option<u64>, String> {
    match v.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| format!("'{name}' must be >= 0")),
        Some(Value::String(s)) => s.parse().map(Some).map_err(|_| format!("'{name}' must be an integer")),
        Some(_) => Err(format!("'{name}' must be an integer")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_formats_known_instants() {
        assert_eq!(iso_from_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_from_millis(1_709_251_200_123), "2024-03-01T00:00:00.123Z");
    }

    #[test]
    fn uuid_like_is_stable_and_shaped() {
        let a = uuid_like("my-agent");
        assert_eq!(a, uuid_like("my-agent"));
        assert_ne!(a, uuid_like("my-agent2"));
        let parts: Vec<_> = a.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12]);
    }

    #[test]
    fn decodes_slashes_spaces_and_unicode() {
        assert_eq!(decode("folder%2Fx%20y%20%C3%BC"), "folder/x y ü");
        assert_eq!(decode_query("a+b%2Bc"), "a b+c");
    }
}
