//! TTL precedence: per-read > client option > FAILSOFT_TTL_SECONDS > the source's variable > 300 s.
//! Its own binary: it changes the process environment.

use failsoft::ClientOptions;
use std::time::Duration;

#[test]
fn ttl_precedence_and_invalid_values_ignored() {
    let o = ClientOptions::default();
    std::env::remove_var("FAILSOFT_TTL_SECONDS");
    std::env::remove_var("MY_SOURCE_TTL");
    assert_eq!(o.resolve_ttl(Some("MY_SOURCE_TTL")), Duration::from_secs(300));
    std::env::set_var("MY_SOURCE_TTL", "60");
    assert_eq!(o.resolve_ttl(Some("MY_SOURCE_TTL")), Duration::from_secs(60));
    std::env::set_var("FAILSOFT_TTL_SECONDS", "0.5");
    assert_eq!(o.resolve_ttl(Some("MY_SOURCE_TTL")), Duration::from_millis(500));
    std::env::set_var("FAILSOFT_TTL_SECONDS", "soon");
    assert_eq!(o.resolve_ttl(Some("MY_SOURCE_TTL")), Duration::from_secs(60), "invalid value ignored");
    std::env::set_var("FAILSOFT_TTL_SECONDS", "-3");
    assert_eq!(o.resolve_ttl(None), Duration::from_secs(300));
    let explicit = ClientOptions { ttl: Some(Duration::from_secs(7)), ..Default::default() };
    assert_eq!(explicit.resolve_ttl(Some("MY_SOURCE_TTL")), Duration::from_secs(7));
}
